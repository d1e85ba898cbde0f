// The Analytics area's entry: mounts it in #analytics-area, shows its tab to those who read
// reports (supervisors and analysts of a brand, admins), shows or hides it as console.js
// switches views, and hands the console socket's events to the store (the "now" figures).
import { Dashboard } from "./dashboard.js";
import * as store from "./store.js";
import { html, render } from "../panel/ui.js";

const area = document.getElementById("analytics-area");
const tab = document.getElementById("analytics-tab");
render(html`<${Dashboard} />`, area);

document.addEventListener("console:start", (event) => {
  tab.hidden = !store.mayUse(event.detail);
  store.start();
});
document.addEventListener("console:view", (event) => {
  const shown = event.detail === "analytics";
  area.hidden = !shown;
  if (shown) {
    document.getElementById("transcript").hidden = true;
    store.enter();
  } else {
    store.leave();
  }
});
document.addEventListener("console:event", (event) => store.onEvent(event.detail));
