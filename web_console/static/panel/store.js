// The context panel's store: the signals its components read, what fills them when a
// conversation opens, and the one table from console event names to the handlers that
// update them. A handler changes the store; the components that read what changed re-render.
import { api } from "./api.js";
import { batch, signal } from "./ui.js";

export const me = signal(null);             // the signed-in agent (console:start)
export const openId = signal(null);         // the open conversation's id (console:open)
export const conversation = signal(null);   // its view: brand, status, assignee
// The panel's data from GET …/context: {state: "idle" | "loading" | "ready" | "error", data, error}
export const context = signal({ state: "idle", data: null, error: "" });
export const notes = signal([]);            // the open conversation's notes, oldest first
export const colleagues = signal([]);       // whom a note may mention: [{id, name, status}]
export const toasts = signal([]);           // mentions of me: [{id, text, conversationId}]
// A chat model's summary (GET …/summary): {state: "idle" | "asking" | "ready" | "unavailable" | "off",
// abstractive: {text, drafts, model} | null}. The extractive one comes with the context.
export const modelSummary = signal({ state: "idle", abstractive: null });

// Each open bumps it: answers that arrive for a conversation no longer open are dropped.
let generation = 0;
let reloadTimer = null;
// Without SWITCHBOARD_LLM_URL the server says "off" once, and is not asked again.
let modelOff = false;
// How long a burst of conversation.updated events of the open conversation (a claim, then a
// first reply) is gathered into one re-read of its context.
const RELOAD_DELAY_MS = 250;
const NOTES_PAGE = 200;
const TOAST_MS = 15000;   // a mention stays longer than console.js's 8 s toasts: it asks for action   // the server's page size for notes (teamwork_endpoints.list_notes)

export function start(agent) {
  me.value = agent;
  // Only those who take conversations get the directory (a 403 for an analyst: no one to mention).
  api("GET", "/console/api/directory").then(
    (d) => { colleagues.value = d.agents.filter((a) => a.id !== agent.id); },
    () => { colleagues.value = []; },
  );
}

export function mayManageCanned(brandId) {
  const agent = me.value;
  return Boolean(agent && brandId && (agent.admin || (agent.roles?.[brandId] || []).includes("supervisor")));
}

export function open(id) {
  const mine = ++generation;
  clearTimeout(reloadTimer);
  batch(() => {
    openId.value = id;
    conversation.value = null;
    context.value = { state: "loading", data: null, error: "" };
    notes.value = [];
    modelSummary.value = { state: modelOff ? "off" : "idle", abstractive: null };
  });
  api("GET", `/console/api/conversations/${id}`).then(
    (view) => { if (mine === generation) conversation.value = view; },
    () => {},
  );
  loadContext(id, mine);
  loadNotes(id, mine);
}

function loadContext(id, mine) {
  api("GET", `/console/api/conversations/${id}/context`).then(
    (data) => {
      if (mine !== generation) return;
      context.value = { state: "ready", data, error: "" };
      loadModelSummary(id, mine);
    },
    (e) => { if (mine === generation) context.value = { state: "error", data: context.value.data, error: e.message }; },
  );
}

// The chat model's summary, asked after the context is shown: the panel never waits on it,
// the extractive summary stays until it arrives, and stays for good if the model fails.
function loadModelSummary(id, mine) {
  if (modelOff) return;
  const shown = modelSummary.value.abstractive;
  modelSummary.value = { state: "asking", abstractive: shown };
  api("GET", `/console/api/conversations/${id}/summary`).then(
    (d) => {
      if (d.llm === "off") modelOff = true;
      if (mine !== generation) return;
      // A failed re-read keeps what the model said about the conversation a moment ago.
      modelSummary.value = d.abstractive
        ? { state: "ready", abstractive: d.abstractive }
        : { state: d.llm, abstractive: d.llm === "off" ? null : shown };
    },
    () => { if (mine === generation) modelSummary.value = { state: "unavailable", abstractive: shown }; },
  );
}

async function loadNotes(id, mine) {
  let after = 0;
  const all = [];
  try {
    for (;;) {
      const page = (await api("GET", `/console/api/conversations/${id}/notes?after_id=${after}`)).notes;
      all.push(...page);
      if (page.length < NOTES_PAGE) break;
      after = page[page.length - 1].id;
    }
  } catch {
    return;   // the panel still shows the context; the notes section stays empty
  }
  if (mine !== generation) return;
  // Notes that arrived live while the pages were read are kept (keyed by id).
  notes.value = mergeNotes(all, notes.value);
}

function mergeNotes(list, more) {
  const byId = new Map(list.map((n) => [n.id, n]));
  for (const n of more) byId.set(n.id, n);
  return [...byId.values()].sort((a, b) => a.id - b.id);
}

// A note written here: shown at once (its note.created event then changes nothing).
export function addNote(note) {
  if (note.conversation_id === openId.value) notes.value = mergeNotes(notes.value, [note]);
}

// ---- live events (console.js hands every socket event over as "console:event") ----

function onConversationUpdated(frame) {
  if (frame.conversation_id !== openId.value) return;
  conversation.value = frame.data.conversation;
  // The context has no event of its own: re-read it once per burst.
  const id = openId.value, mine = generation;
  clearTimeout(reloadTimer);
  reloadTimer = setTimeout(() => { if (mine === generation) loadContext(id, mine); }, RELOAD_DELAY_MS);
}

// The customer's answer to the rating question changes no conversation (it stays resolved):
// its message is what says the panel's rating is out of date.
function onMessageCreated(frame) {
  if (frame.conversation_id !== openId.value || typeof frame.data.message.csat !== "number") return;
  const id = openId.value, mine = generation;
  clearTimeout(reloadTimer);
  reloadTimer = setTimeout(() => { if (mine === generation) loadContext(id, mine); }, RELOAD_DELAY_MS);
}

function onNoteCreated(frame) {
  const note = frame.data.note;
  addNote(note);
  const agent = me.value;
  if (agent && note.mentions.includes(agent.id) && note.author?.id !== agent.id) {
    const text = `${note.author?.name || "A colleague"} mentioned you in a note: “${note.text}”`;
    toasts.value = [...toasts.value, { id: note.id, text, conversationId: note.conversation_id }];
    setTimeout(() => dismissToast(note.id), TOAST_MS);
  }
}

export function dismissToast(id) {
  toasts.value = toasts.value.filter((t) => t.id !== id);
}

const HANDLERS = {
  "conversation.updated": onConversationUpdated,
  "message.created": onMessageCreated,
  "note.created": onNoteCreated,
};

export function dispatch(frame) {
  const handler = HANDLERS[frame.name];
  if (handler) handler(frame);
}
