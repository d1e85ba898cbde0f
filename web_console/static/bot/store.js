// The Bot area's store (issue 19, read-only): the engine and its project's summary with the
// features it does not run, the intents, the open intent's examples, the responses, and the
// rules and stories. Components read these signals and call the functions below; nothing
// here touches the DOM.
import { api } from "../panel/api.js";
import { signal } from "../panel/ui.js";

// GET /console/api/bot: {kind, fingerprint, intents, languages, unsupported, error}
export const summary = signal({ state: "idle", data: null, error: "" });
export const intents = signal({ state: "idle", languages: [], items: [], error: "" });
export const responses = signal({ state: "idle", items: [], error: "" });
export const flows = signal({ state: "idle", items: [], error: "" });
// What the area shows: "intents", "responses" or "flows"; and the intent open in "intents".
export const section = signal("intents");
export const query = signal("");
export const open = signal(null); // {name, state, data, error}
// Where the open intent was opened from, when that was another section (the evaluation's
// report): {section, label, focus}: the intent shows "Back to <label>", the browser's Back
// goes there too (one history entry, pushed on the way in), and the section, drawn again
// from its store, puts the focus back on the control that opened the intent (a selector).
export const cameFrom = signal(null);
let pushed = false; // our history entry is the current one
let dropping = false; // its popstate, when we took it back ourselves, changes nothing
let focusOnReturn = null;

// Who sees the area: admins, and designers of any brand (one bot serves them all).
export function mayUse(agent) {
  return Boolean(agent && (agent.admin
    || Object.values(agent.roles || {}).some((held) => held.includes("designer"))));
}

async function read(target, path, take) {
  target.value = { ...target.value, state: "loading", error: "" };
  try {
    target.value = { ...target.value, state: "ready", ...take(await api("GET", path)) };
  } catch (e) {
    target.value = { ...target.value, state: "error", error: e.message };
  }
}

// Each list is read when the area is first shown, and again on each return to it (the engine
// reloads the project when its files change).
export function enter() {
  read(summary, "/console/api/bot", (data) => ({ data }));
  read(intents, "/console/api/bot/intents", (d) => ({ languages: d.languages, items: d.intents }));
  if (section.value !== "intents") showSection(section.value);
  if (open.value) openIntent(open.value.name);
}

export function showSection(name) {
  if (name !== "intents") forget();
  section.value = name;
  if (name === "responses") read(responses, "/console/api/bot/responses", (d) => ({ items: d.responses }));
  if (name === "flows") read(flows, "/console/api/bot/flows", (d) => ({ items: d.flows }));
  // The flow editor offers the responses' names as the bot's actions.
  if (name === "flows" && responses.value.state === "idle") read(responses, "/console/api/bot/responses", (d) => ({ items: d.responses }));
}

export function shownIntents() {
  const q = query.value.trim().toLowerCase();
  const items = intents.value.items;
  return q ? items.filter((i) => i.name.toLowerCase().includes(q)) : items;
}

export async function openIntent(name) {
  open.value = { name, state: "loading", data: null, error: "" };
  try {
    const data = await api("GET", `/console/api/bot/intents/${encodeURIComponent(name)}`);
    if (open.value?.name === name) open.value = { name, state: "ready", data, error: "" };
  } catch (e) {
    if (open.value?.name === name) open.value = { name, state: "error", data: null, error: e.message };
  }
}

export function closeIntent() {
  forget();
  open.value = null;
}

// Open an intent from another section (origin: {section, label, focus}), with the way back.
export function openIntentFrom(name, origin) {
  forget();
  cameFrom.value = origin;
  if (typeof history !== "undefined") {
    history.pushState({ botIntent: name }, "");
    pushed = true;
  }
  showSection("intents");
  openIntent(name);
}

// "Back to the evaluation": the browser's Back, so the history stays as the designer made it;
// without our entry (a reload since), straight back.
export function goBack() {
  if (pushed) history.back();
  else returnFromIntent();
}

function returnFromIntent() {
  const origin = cameFrom.value;
  if (!origin) return;
  cameFrom.value = null;
  open.value = null;
  focusOnReturn = origin.focus || null;
  showSection(origin.section);
}

// The section returned to asks, once drawn, where the focus goes (null: nowhere in particular).
export function takeReturnFocus() {
  const selector = focusOnReturn;
  focusOnReturn = null;
  return selector;
}

// The designer left the intent another way (All intents, another section, another tab of the
// console): the way back is gone, and so is its history entry, so the next Back does what it
// did before the intent was opened.
export function forget() {
  if (!cameFrom.value) return;
  cameFrom.value = null;
  if (pushed) {
    pushed = false;
    dropping = true;
    history.back();
  }
}

if (typeof window !== "undefined") {
  window.addEventListener("popstate", () => {
    if (dropping) { dropping = false; return; }
    if (!pushed) return;
    pushed = false;
    if (section.value === "intents" && open.value) returnFromIntent();
    else cameFrom.value = null;
  });
}

// "config.yml:40: policy TEDPolicy: no TED generalisation: where…" as where, what, instead.
export function parseUnsupported(line) {
  const [where, feature, ...rest] = line.split(": ");
  return { where, feature: feature || "", instead: rest.join(": ") };
}

// An example's text cut at its entity spans: [{text}, {text, entity, value, role, group}…].
export function pieces(example) {
  const out = [];
  let at = 0;
  const spans = [...example.entities].sort((a, b) => a.start - b.start);
  for (const span of spans) {
    if (span.start < at) continue; // overlapping annotations: the first one is shown
    if (span.start > at) out.push({ text: example.text.slice(at, span.start) });
    out.push({ ...span, text: example.text.slice(span.start, span.end) });
    at = span.end;
  }
  if (at < example.text.length) out.push({ text: example.text.slice(at) });
  return out;
}
