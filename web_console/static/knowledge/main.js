// The Knowledge area's entry: mounts it in #knowledge-area, shows its tab to those who may use
// it (admins; editors, supervisors and agents of a brand), and shows or hides it as
// console.js switches views ("console:start", "console:view").
import { KnowledgeArea } from "./area.js";
import * as store from "./store.js";
import { html, render } from "../panel/ui.js";

const area = document.getElementById("knowledge-area");
const tab = document.getElementById("knowledge-tab");
render(html`<${KnowledgeArea} />`, area);

function started(agent) {
  store.start(agent);
  tab.hidden = !store.mayUse(agent);
}

document.addEventListener("console:start", (event) => started(event.detail));
document.addEventListener("console:view", (event) => {
  const shown = event.detail === "knowledge";
  area.hidden = !shown;
  if (shown) {
    document.getElementById("transcript").hidden = true;
    store.enter();
  }
});
