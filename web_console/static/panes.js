// Phone width (issue 16): the list, the conversation (its context under it) and the context
// alone are stacked views, one on screen at a time, with a bar in the header to move between
// them. #app's data-pane says
// which ("list", "conversation", "context"); console.css shows and hides by it below 700 px
// only, so wider screens keep every column.
import { el } from "./dom.js";

const app = document.getElementById("app");
const back = el("button", { type: "button", id: "pane-back", text: "← Conversations" });
const other = el("button", { type: "button", id: "pane-other" });
const bar = el("div", { id: "pane-bar", role: "navigation", "aria-label": "Views" }, back, other);
document.querySelector("#app > header").append(bar);

function show(pane) {
  app.dataset.pane = pane;
  bar.hidden = pane === "list";
  other.textContent = pane === "context" ? "Conversation" : "Customer details";
  window.scrollTo(0, 0);
}

back.addEventListener("click", () => {
  show("list");
  // Back where the agent was: the open conversation's list item, or the list.
  (document.querySelector("#conversations li.active") || document.getElementById("tabs"))?.focus?.();
});
other.addEventListener("click", () => {
  show(app.dataset.pane === "context" ? "conversation" : "context");
  const target = app.dataset.pane === "context"
    ? document.getElementById("context-panel") : document.getElementById("reply");
  if (target) { if (!target.hasAttribute("tabindex") && target.id !== "reply") target.tabIndex = -1; target.focus({ preventScroll: true }); }
});

// "Show in transcript" and the summary's facts scroll to a message: show the conversation
// first (capture: before the panel's own handler scrolls).
document.getElementById("context-panel").addEventListener("click", (event) => {
  if (app.dataset.pane === "context" && event.target.closest(".cp-trigger, .cp-fact")) show("conversation");
}, true);
document.addEventListener("console:open", () => show("conversation"));
document.addEventListener("console:view", () => show("list"));
show("list");
