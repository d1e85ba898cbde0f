// The review inbox's store (issue 19): the filters, the page of items with their
// near-duplicate groups, the selection for bulk actions, the open item with its
// conversation, and what the last action did. Components read these signals and call the
// functions below; nothing here touches the DOM.
import { api } from "../panel/api.js";
import { signal } from "../panel/ui.js";

const API = "/console/api/bot/review";
export const EMPTY_FILTERS = { brand: "", intent: "", band: "", language: "", channel: "", status: "open", reason: "", from: "", to: "" };
export const filters = signal({ ...EMPTY_FILTERS });
export const brands = signal([]);
// {state, items: [{item, group}], more, intents, threshold, error}
export const page = signal({ state: "idle", items: [], more: null, intents: [], threshold: 0.45, error: "" });
export const selected = signal(new Set());
// The item open beside the list: {id, state, data: {item, brand, conversation}, error, whole}
export const open = signal(null);
// What the last action did, said in the status line: {text, error}
export const notice = signal({ text: "", error: false });
export const busy = signal(false);

function query(extra = {}) {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries({ ...filters.value, ...extra })) if (v !== "" && v !== null) params.set(k, v);
  return params.toString();
}

export async function enter() {
  if (!brands.value.length) {
    try { brands.value = (await api("GET", `${API}/brands`)).brands; } catch (e) { /* the list says why */ }
  }
  await load();
}

export async function load(more = false) {
  page.value = { ...page.value, state: "loading", error: "" };
  try {
    const data = await api("GET", `${API}/items?${query(more && page.value.more ? { before: page.value.more } : {})}`);
    const items = more ? [...page.value.items, ...data.items] : data.items;
    page.value = { state: "ready", items, more: data.more, intents: data.intents, threshold: data.threshold, error: "" };
    if (!more) selected.value = new Set();
  } catch (e) {
    page.value = { ...page.value, state: "error", error: e.message };
  }
}

export function setFilter(name, value) {
  filters.value = { ...filters.value, [name]: value };
  load();
}

export function resetFilters() {
  filters.value = { ...EMPTY_FILTERS };
  load();
}

export function toggle(id, on) {
  const next = new Set(selected.value);
  if (on) next.add(id); else next.delete(id);
  selected.value = next;
}

export function selectAll(on) {
  selected.value = on ? new Set(page.value.items.map((i) => i.item.message_id)) : new Set();
}

// The items of one near-duplicate group, selected together.
export function selectGroup(group) {
  const next = new Set(selected.value);
  for (const i of page.value.items) if (i.group === group) next.add(i.item.message_id);
  selected.value = next;
}

export function groupSize(group) {
  return page.value.items.filter((i) => i.group === group).length;
}

export async function openItem(id) {
  open.value = { id, state: "loading", data: null, error: "", whole: false };
  try {
    const data = await api("GET", `${API}/items/${id}`);
    if (open.value?.id === id) open.value = { ...open.value, state: "ready", data };
  } catch (e) {
    if (open.value?.id === id) open.value = { ...open.value, state: "error", error: e.message };
  }
}

export function closeItem() {
  open.value = null;
}

export function showWhole(on) {
  if (open.value) open.value = { ...open.value, whole: on };
}

const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;

// Label messages with an intent (null: "not for the bot"); they leave the open inbox.
export async function label(ids, intent, entities = []) {
  if (!ids.length) return false;
  busy.value = true;
  try {
    const done = intent === null
      ? await api("POST", `${API}/ignored`, { messages: ids })
      : await api("POST", `${API}/labels`, { messages: ids, intent, entities });
    notice.value = {
      text: intent === null
        ? `${plural(done.labelled, "message")} marked not for the bot.`
        : `${plural(done.labelled, "message")} labelled ${intent}${done.added ? `: ${plural(done.added, "example")} added to ${done.written_to}${done.version ? ` (version ${done.version})` : ""}` : " (already examples)"}. Retrain to serve ${done.added === 1 ? "it" : "them"}.`,
      error: false,
    };
    const gone = new Set(ids);
    if (filters.value.status === "open") {
      page.value = { ...page.value, items: page.value.items.filter((i) => !gone.has(i.item.message_id)) };
    } else {
      await load();
    }
    selected.value = new Set([...selected.value].filter((id) => !gone.has(id)));
    if (open.value && gone.has(open.value.id)) open.value = null;
    return true;
  } catch (e) {
    notice.value = { text: e.message, error: true };
    return false;
  } finally {
    busy.value = false;
  }
}

const percent = (part, whole) => (whole ? `${Math.round((100 * part) / whole)} %` : "—");

export async function retrain() {
  busy.value = true;
  notice.value = { text: "Training the bot on the project's files… (this takes a while)", error: false };
  try {
    const t = await api("POST", `${API}/retrain`);
    notice.value = t.error
      ? { text: `The project was refused; the last good model still serves: ${t.error}`, error: true }
      : {
        text: `Retrained (${t.fingerprint_before} → ${t.fingerprint_after}). On the ${plural(t.reviewed, "reviewed message")}: ${percent(t.right_before, t.reviewed)} right before, ${percent(t.right_after, t.reviewed)} after.`,
        error: false,
      };
  } catch (e) {
    notice.value = { text: e.message, error: true };
  } finally {
    busy.value = false;
  }
}
