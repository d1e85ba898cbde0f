// The context panel beside the transcript, and canned responses in the reply box. console.js
// tells this module what happens with DOM events: "console:start" (the signed-in agent),
// "console:open" (a conversation's id) and "console:event" (each event frame of the socket);
// the store takes them, the components show the store.
import { attachToReply, CannedManager } from "./canned.js";
import { CustomerContext } from "./context.js";
import { api } from "./api.js";
import { attachArticles } from "./articles.js";
import { MentionToasts, Notes, resetDraft } from "./notes.js";
import * as store from "./store.js";
import { attachSuggestions } from "./suggestions.js";
import { html, render } from "./ui.js";

function Panel() {
  if (!store.openId.value) return null;
  return html`<h2 class="cp-heading">Context</h2>
    <${CustomerContext} />
    <${Notes} />
    <${CannedManager} />`;
}

const panel = document.getElementById("context-panel");
render(html`<${Panel} />`, panel);
const toastBox = document.createElement("div");
toastBox.className = "mention-toasts";
document.getElementById("toasts").append(toastBox);
render(html`<${MentionToasts} />`, toastBox);
attachToReply(document.getElementById("reply"), document.getElementById("reply-form"));
attachSuggestions(document.getElementById("reply"), document.getElementById("reply-form"));
attachArticles(document.getElementById("reply"), document.getElementById("reply-form"));

document.addEventListener("console:start", (event) => store.start(event.detail));
document.addEventListener("console:open", (event) => {
  resetDraft();
  store.open(event.detail);
  panel.hidden = false;
});
document.addEventListener("console:event", (event) => store.dispatch(event.detail));
// A module can run after console.js already started (its /me answer came first).
if (!document.getElementById("app").hidden && !store.me.value) {
  api("GET", "/console/api/me").then((d) => { if (!store.me.value) store.start(d.agent); }, () => {});
}
