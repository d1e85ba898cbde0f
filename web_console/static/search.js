// Search (issue 16): words in messages and customers by name or address, over
// /console/api/search, which answers only from the conversations this agent may see.
// Results stand in for the list while there is a query; a result opens its conversation
// ("console:show", which console.js listens to). Escape or an empty box brings the list back.

import { api, el } from "./dom.js";

const list = document.getElementById("conversations");
const box = el("input", {
  id: "search-box",
  type: "search",
  placeholder: "Search messages and customers",
  autocomplete: "off",
  "aria-label": "Search messages and customers",
});
const results = el("ul", { id: "search-results", hidden: true, "aria-live": "polite" });
const form = el("form", { id: "search", role: "search", hidden: true }, box);
list.before(form, results);

let next = null;
let asked = 0;
// Whether the signed-in agent reads conversations at all (set at start).
let allowed = false;

function hit(label, detail, conversationId) {
  const button = el("button", { type: "button", className: "search-hit" },
    el("strong", { text: label }), el("span", { text: detail }));
  button.addEventListener("click", () => {
    document.dispatchEvent(new CustomEvent("console:show", { detail: conversationId }));
  });
  return el("li", {}, button);
}

async function search(more) {
  const query = box.value.trim();
  if (!query) {
    results.hidden = true;
    list.hidden = false;
    return;
  }
  const mine = ++asked;
  const params = new URLSearchParams({ q: query });
  if (more && next) params.set("before", String(next));
  try {
    const page = await api("GET", `/console/api/search?${params}`);
    if (mine !== asked) return; // a newer query is on its way
    if (!more) results.replaceChildren();
    for (const c of page.conversations) {
      const who = c.contact.name || c.contact.email || "Visitor";
      results.append(hit(who, `${c.channel} · ${c.status}`, c.id));
    }
    for (const m of page.messages) {
      const when = m.created_at ? new Date(m.created_at).toLocaleString() : "";
      results.append(hit(m.text, `${m.author_kind} · ${when}`, m.conversation_id));
    }
    next = page.next_before;
    if (next) {
      const older = el("button", { type: "button", text: "More results", className: "search-more" });
      older.addEventListener("click", () => { older.parentElement.remove(); search(true); });
      results.append(el("li", {}, older));
    }
    if (!results.children.length) results.append(el("li", { className: "search-none", text: "Nothing found." }));
    results.hidden = false;
    list.hidden = true;
  } catch (e) {
    results.replaceChildren(el("li", { role: "alert", text: e.message }));
    results.hidden = false;
  }
}

let timer = null;
box.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(() => search(false), 250); });
form.addEventListener("submit", (event) => { event.preventDefault(); clearTimeout(timer); search(false); });
box.addEventListener("keydown", (event) => {
  if (event.key === "Escape") { box.value = ""; search(false); }
});

document.addEventListener("console:start", (event) => {
  const agent = event.detail;
  const held = Object.values(agent.roles || {}).flat();
  allowed = agent.admin || held.some((r) => ["supervisor", "agent", "analyst"].includes(r));
  form.hidden = !allowed;
});
document.addEventListener("console:view", (event) => {
  const lists = ["queue", "mine", "open", "resolved"].includes(event.detail);
  form.hidden = !(allowed && lists);
  if (!lists) results.hidden = true;
  else if (box.value.trim()) { list.hidden = true; results.hidden = false; }
});
