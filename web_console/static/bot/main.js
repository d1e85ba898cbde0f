// The Bot area's entry: mounts it in #bot-area, shows its tab to those who may use it
// (designers of any brand, admins), and shows or hides it as console.js switches views
// ("console:start", "console:view").
import { BotArea } from "./area.js";
import * as store from "./store.js";
import * as studio from "./studio_store.js";
import { html, render } from "../panel/ui.js";

const area = document.getElementById("bot-area");
const tab = document.getElementById("bot-tab");
render(html`<${BotArea} />`, area);

document.addEventListener("console:start", (event) => {
  tab.hidden = !store.mayUse(event.detail);
});
document.addEventListener("console:view", (event) => {
  const shown = event.detail === "bot";
  area.hidden = !shown;
  if (!shown) store.forget(); // an intent's way back to the evaluation, and its history entry
  if (shown) {
    document.getElementById("transcript").hidden = true;
    store.enter();
    studio.enter();
  }
});
