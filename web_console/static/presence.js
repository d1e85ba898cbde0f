// Teamwork without collisions (issue 16): who else has a conversation open, and who is
// typing in it, shown above the reply box and on the conversation's list item; a warning
// when the conversation is held by a colleague. This console says which conversation it has
// open ("viewing") when one opens, on every (re)connect and every 30 s; a viewer not heard
// of for 75 s is let go (their tab or their node is gone).

import { el } from "./dom.js";

const REFRESH_MS = 30_000;
const FORGET_MS = 75_000;

let me = null;
let open = null;
// conversation id -> agent id -> {name, seen, typing}
const others = new Map();

function say(conversationId) {
  document.dispatchEvent(new CustomEvent("console:send", {
    detail: { type: "viewing", conversation_id: conversationId },
  }));
}

function present(conversationId) {
  const now = Date.now();
  const here = others.get(conversationId) || new Map();
  for (const [id, who] of here) if (now - who.seen > FORGET_MS) here.delete(id);
  return [...here.values()];
}

function bar() {
  let node = document.getElementById("presence");
  if (!node) {
    node = el("p", { id: "presence", role: "status", "aria-live": "polite" });
    document.getElementById("reply-form").before(node);
  }
  return node;
}

function render() {
  if (open) {
    const people = present(open);
    const typing = people.filter((p) => p.typing).map((p) => p.name);
    const viewing = people.filter((p) => !p.typing).map((p) => p.name);
    const parts = [];
    if (typing.length) parts.push(`${typing.join(", ")} ${typing.length > 1 ? "are" : "is"} typing…`);
    if (viewing.length) parts.push(`${viewing.join(", ")} ${viewing.length > 1 ? "are" : "is"} viewing`);
    bar().textContent = parts.join(" · ");
    bar().hidden = parts.length === 0;
  }
  for (const li of document.querySelectorAll("#conversations li[data-conversation-id]")) {
    const names = present(li.dataset.conversationId).map((p) => p.name);
    let badge = li.querySelector(".viewers");
    if (!names.length) { if (badge) badge.remove(); continue; }
    if (!badge) { badge = el("span", { className: "viewers" }); li.append(badge); }
    badge.textContent = `with ${names.join(", ")}`;
  }
}

document.addEventListener("console:start", (event) => { me = event.detail; });
document.addEventListener("console:open", (event) => { open = event.detail; say(open); render(); });
document.addEventListener("console:connected", () => { if (open) say(open); });
setInterval(() => { if (open) say(open); render(); }, REFRESH_MS);

document.addEventListener("console:event", (event) => {
  const f = event.detail;
  if (f.name !== "viewing" && !(f.name === "typing" && f.data.author)) return;
  const author = f.data.author;
  if (!author || (me && author.id === me.id)) return;
  const here = others.get(f.conversation_id) || new Map();
  const who = here.get(author.id) || { name: author.name, seen: 0, typing: false };
  who.seen = Date.now();
  if (f.name === "typing") who.typing = f.data.active;
  else if (!f.data.active) { here.delete(author.id); others.set(f.conversation_id, here); render(); return; }
  here.set(author.id, who);
  others.set(f.conversation_id, here);
  render();
});

// The list is rebuilt on events: put the badges back each time.
new MutationObserver(() => render()).observe(document.getElementById("conversations"), { childList: true });
