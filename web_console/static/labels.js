// Labels on the open conversation (issue 16): shown under its header as chips, each with a
// remove button, and an "Add label" field suggesting the labels in use (filters.js reads
// them). Saving replaces the conversation's labels (PUT …/labels); colleagues see the change
// as a conversation.updated event, which is also how this row learns of theirs.
import { api, el } from "./dom.js";
import { offered } from "./filters.js";

const row = el("div", { id: "thread-labels", "aria-label": "Labels", role: "group" });
const chips = el("ul", { className: "label-chips" });
const input = el("input", { id: "label-input", type: "text", maxLength: 40, autocomplete: "off",
  placeholder: "Add label", "aria-label": "Add a label" });
input.setAttribute("list", "label-options");   // a read-only property: el() cannot set it
const options = el("datalist", { id: "label-options" });
const error = el("span", { className: "label-error", role: "alert" });
row.append(chips, input, options, error);
document.getElementById("thread-head").after(row);

let openId = null;
let labels = [];
let mayEdit = false;

function render() {
  chips.replaceChildren(...labels.map((label) => {
    const remove = el("button", { type: "button", className: "label-remove", text: "×",
      "aria-label": `Remove label ${label}`, hidden: !mayEdit });
    remove.addEventListener("click", () => save(labels.filter((l) => l !== label)));
    return el("li", { className: "label" }, el("span", { text: label }), remove);
  }));
  input.hidden = !mayEdit;
  options.replaceChildren(...offered.labels.filter((l) => !labels.includes(l.label))
    .map((l) => el("option", { value: l.label })));
}

async function save(next) {
  const id = openId;
  error.textContent = "";
  try {
    const view = await api("PUT", `/console/api/conversations/${id}/labels`, { labels: next });
    if (id === openId) { labels = view.labels; render(); }
    return true;
  } catch (e) {
    error.textContent = e.message;
    return false;
  }
}

input.addEventListener("keydown", async (event) => {
  if (event.key === "Escape") { input.value = ""; error.textContent = ""; return; }
  if (event.key !== "Enter" || !input.value.trim()) return;
  event.preventDefault();
  if (await save([...labels, input.value])) input.value = "";
});

document.addEventListener("console:start", (event) => {
  const agent = event.detail;
  const held = Object.values(agent.roles || {}).flat();
  mayEdit = agent.admin || held.some((r) => r === "agent" || r === "supervisor");
});
document.addEventListener("console:open", (event) => {
  openId = event.detail;
  labels = [];
  error.textContent = "";
  input.value = "";
  render();
  const id = openId;
  api("GET", `/console/api/conversations/${id}`).then((view) => {
    if (id === openId) { labels = view.labels || []; render(); }
  }, () => {});
});
document.addEventListener("console:event", (event) => {
  const f = event.detail;
  if (f.name === "conversation.updated" && f.conversation_id === openId && f.data.conversation) {
    labels = f.data.conversation.labels || [];
    render();
  }
});
document.addEventListener("console:filters-offered", render);
