// List filters (issue 16): channel, brand, team, language and label, under the search box.
// The options are what GET /console/api/filters offers within this agent's reach; a change
// tells console.js ("console:filter"), which re-reads the filtered pages and keeps the
// lists live with the same rule. The label editor (labels.js) reads the offered labels too.
import { api, el } from "./dom.js";

const CHANNELS = [["webchat", "Web chat"], ["email", "Email"], ["telegram", "Telegram"], ["slack", "Slack"]];
const FIELDS = [
  ["channel", "Channel"], ["brand", "Brand"], ["team", "Team"], ["language", "Language"], ["label", "Label"],
];

const list = document.getElementById("conversations");
const selects = {};
const summary = el("span", { className: "filter-count" });
const toggle = el("button", { type: "button", id: "filter-toggle", "aria-expanded": "false",
  "aria-controls": "filter-fields" }, "Filters ", summary);
const fields = el("div", { id: "filter-fields", hidden: true });
const clear = el("button", { type: "button", className: "filter-clear", text: "Clear filters" });
const bar = el("div", { id: "filters", hidden: true }, toggle, fields);
for (const [key, name] of FIELDS) {
  const select = el("select", { id: `filter-${key}`, name: key });
  selects[key] = select;
  fields.append(el("label", { className: "filter" }, el("span", { text: name }), select));
  select.addEventListener("change", changed);
}
fields.append(clear);
list.before(bar);

// The latest options: other modules (labels.js) read them.
export let offered = { brands: [], teams: [], languages: [], labels: [] };

function fill(select, options, current) {
  select.replaceChildren(el("option", { value: "", text: "Any" }),
    ...options.map(([value, text]) => el("option", { value, text })));
  // A chosen value no longer offered stays chosen (and shown) until the agent changes it.
  if (current && !options.some(([value]) => value === current)) select.append(el("option", { value: current, text: current }));
  select.value = current || "";
}

function render() {
  const teamsOf = selects.brand.value ? offered.teams.filter((t) => t.brand_id === selects.brand.value) : offered.teams;
  fill(selects.channel, CHANNELS, selects.channel.value);
  fill(selects.brand, offered.brands.map((b) => [b.id, b.name]), selects.brand.value);
  fill(selects.team, teamsOf.map((t) => [t.id, t.name]), selects.team.value);
  fill(selects.language, offered.languages.map((l) => [l, l]), selects.language.value);
  fill(selects.label, offered.labels.map((l) => [l.label, `${l.label} (${l.conversations})`]), selects.label.value);
  // One brand: nothing to choose.
  selects.brand.parentElement.hidden = offered.brands.length < 2;
}

export async function refresh() {
  try {
    offered = await api("GET", "/console/api/filters");
  } catch {
    return;   // a role without conversations: the bar stays hidden
  }
  bar.hidden = false;
  render();
  document.dispatchEvent(new CustomEvent("console:filters-offered", { detail: offered }));
}

function chosen() {
  const only = {};
  for (const [key] of FIELDS) if (selects[key].value) only[key] = selects[key].value;
  return only;
}

function changed() {
  if (this === selects.brand) render();   // its teams only
  const only = chosen();
  const count = Object.keys(only).length;
  summary.textContent = count ? `(${count})` : "";
  toggle.classList.toggle("active", count > 0);
  document.dispatchEvent(new CustomEvent("console:filter", { detail: only }));
}

toggle.addEventListener("click", () => {
  const open = fields.hidden;
  fields.hidden = !open;
  toggle.setAttribute("aria-expanded", String(open));
  if (open) refresh();   // labels come and go: read the options again when shown
});
clear.addEventListener("click", () => {
  for (const [key] of FIELDS) selects[key].value = "";
  changed.call(clear);
  toggle.focus();
});

document.addEventListener("console:start", () => { refresh(); });
document.addEventListener("console:view", (event) => {
  bar.hidden = !["queue", "mine", "open", "resolved"].includes(event.detail) || !offered.brands.length;
});
