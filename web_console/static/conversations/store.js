// The console's conversations store: the signed-in agent, the tab shown, the conversations it
// holds, the ranked queue, the filters, the open conversation and its transcript (messages
// and activities), as signals; and the one table from socket event names to the handlers
// that update them (as Chatwoot's actionCable.js does). Handlers change the store; the
// components that read what changed re-render (list.js, header.js, transcript.js). Nothing
// here re-reads a list because an event came.
import { api, firstGet } from "../dom.js";
import { batch, computed, signal } from "../panel/ui.js";
import { heard } from "./viewers.js";

export { presence } from "./viewers.js";

// The first read of the queue: one screen's worth and some, with the true count, so the
// console shows the top of a 5,000-conversation queue at once (bench/first_paint.py); the
// whole queue follows in a second read, which queue.changed events then keep.
export const QUEUE_PAGE = 100;   // boot.js asks for the same page while the modules load

export const me = signal(null);              // the signed-in agent (GET /console/api/me)
export const works = signal(false);          // whether they take conversations (the queue)
export const view = signal("queue");         // queue, mine, open, resolved, supervisor, people
export const openId = signal(null);          // the open conversation's id
// id -> conversation view; a new Map on each change, with the unchanged views kept as they
// were, so a list item whose view did not change is not redrawn (list.js's Item).
export const conversations = signal(new Map());
// The ranked queue: entries ({id, score, band, rank, explanation, contributions} over the
// conversation's view), in rank order (ranks sort as plain strings: routing/assignment.py).
export const queue = signal([]);
export const queueTotal = signal(0);        // how many the agent may see, all of them
export const queueComplete = signal(true);  // false while only the first page is held
export const only = signal({});             // the list filters (filters.js)
export const resolved = signal({ read: false, next: null });   // the Resolved tab's pages
export const directory = signal({ agents: [], teams: [] });     // whom one may transfer to
// A clock for the SLA countdowns: each badge reads it, so they tick together, once a second.
export const clock = signal(Date.now());
setInterval(() => { clock.value = Date.now(); }, 1000);

// Where the socket resumes: the newest position the server vouched for (a welcome's or a
// checkpoint's last_event_id, a long replay's replayed_through, a read's last_event_id), never
// the highest id seen live: events commit out of id order, and one below it may still be on
// its way (web_console/hub.py). Before the first, the oldest of the first reads'
// last_event_id (the queue's and the open conversations' are read one after the other:
// replaying from the older one, in order, leaves each view at its newest). A replay may
// bring again what was seen live: the handlers merge by id and seq.
let lastEventId = 0;
let readFrom = Infinity;
export const lastEvent = () => lastEventId || (readFrom === Infinity ? 0 : readFrom);
export function resumeFrom(id) { if (id && id > lastEventId) lastEventId = id; }
function readAt(id) {
  if (lastEventId) lastEventId = Math.max(lastEventId, id);
  else readFrom = Math.min(readFrom, id);
}

// ---- conversations ----

function put(list) {
  const next = new Map(conversations.value);
  for (const c of list) next.set(c.id, c);
  conversations.value = next;
}
export function setConversation(c) { put([c]); }

// The open conversations' first page (and the list's pages after a filter change).
export async function readOpen(replace) {
  const q = filterQuery();
  const d = await api("GET", `/console/api/conversations${q ? `?${q}` : ""}`);
  if (replace) {
    conversations.value = new Map(d.conversations.map((c) => [c.id, c]));
    readAt(d.last_event_id);
  } else {
    put(d.conversations);
  }
  return d;
}

export async function readResolved(before) {
  resolved.value = { read: true, next: resolved.value.next };
  const q = filterQuery();
  try {
    const d = await api("GET", `/console/api/conversations?status=resolved${before ? `&before=${encodeURIComponent(before)}` : ""}${q ? `&${q}` : ""}`);
    const held = conversations.value;
    batch(() => {
      put(d.conversations.filter((c) => !held.has(c.id)));
      resolved.value = { read: true, next: d.next_before };
    });
  } catch {
    resolved.value = { read: false, next: null };
  }
}

// The filters as the list API takes them ("" when none).
export function filterQuery() {
  const o = only.value;
  return Object.keys(o).filter((k) => o[k]).map((k) => `${k}=${encodeURIComponent(o[k])}`).join("&");
}
// The same filters over a conversation the console holds (events keep the lists live).
export function kept(c) {
  const o = only.value;
  return (!o.channel || c.channel === o.channel) && (!o.brand || c.brand_id === o.brand)
    && (!o.team || (c.team && c.team.id === o.team)) && (!o.language || c.language === o.language)
    && (!o.label || (c.labels || []).includes(o.label));
}

export function setFilters(filters) {
  only.value = filters || {};
  // What the first page held may not be all that matches: read the filtered pages again.
  readOpen(false).catch(() => {});
  if (resolved.value.read) readResolved(null);
}

// ---- the ranked queue ----

// Read when the console starts, when the Queue tab is shown and after a reconnect or a
// resync; in between, queue.changed events keep it. Events that arrive while a read is on
// its way are applied again over its answer when they are newer than it.
// Only the session's first read starts with the first page: later ones (the tab shown again,
// a reconnect) keep the list as it is until the whole queue comes. The promise is settled
// once the list can be shown (the first page, or the whole queue), not when the whole
// queue has come: the console's other first reads wait for it (see console.js's start).
let held = null;
let reading = 0;
let readBefore = false;
export async function readQueue() {
  if (!works.value) return;
  const mine = ++reading;
  held = held || [];
  try {
    if (!readBefore) {
      const top = await firstGet("queue", `/console/api/queue?limit=${QUEUE_PAGE}`);
      if (mine !== reading) return;
      readBefore = true;
      const complete = top.total <= top.queue.length;
      settle(top, complete);
      if (!complete) readWhole(mine);
      return;
    }
  } catch {
    if (mine === reading) held = null;
    return;
  }
  await readWhole(mine);
}

async function readWhole(mine) {
  try {
    const whole = await api("GET", "/console/api/queue");
    if (mine === reading) settle(whole, true);
  } catch {
    if (mine === reading) held = null;
  }
}

function settle(answer, complete) {
  const again = held || [];
  if (complete) held = null;
  readAt(answer.last_event_id);
  batch(() => {
    queue.value = answer.queue;
    queueTotal.value = answer.total;
    queueComplete.value = complete;
    for (const f of again) if (f.id > answer.last_event_id) applyQueueChange(f.conversation_id, f.data.queue);
  });
}

// A queue.changed event: the conversation's rank, score and band now, or null when it left
// the queue. The server ranks; here the entry only goes where its rank sorts (a binary
// search), and only that entry is new: the other items keep their objects.
function applyQueueChange(id, entry) {
  const list = queue.value;
  const at = list.findIndex((q) => q.id === id);
  const old = at >= 0 ? list[at] : null;
  const next = at >= 0 ? [...list.slice(0, at), ...list.slice(at + 1)] : [...list];
  if (entry) {
    const q = { ...(old || conversations.value.get(id) || {}), ...entry };
    let lo = 0, hi = next.length;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (next[mid].rank < q.rank) lo = mid + 1; else hi = mid; }
    // Past the end of a first page the entry's place is not known yet: the whole read says.
    if (queueComplete.value || lo < next.length) next.splice(lo, 0, q);
  }
  // The count: exact once the whole queue is held; before, a conversation that was on the
  // page and left, or one that came in, moves it (the whole read then sets it).
  const total = queueComplete.value ? next.length
    : queueTotal.value + (entry && !old ? 1 : 0) - (!entry && old ? 1 : 0);
  batch(() => { queue.value = next; queueTotal.value = Math.max(total, next.length); });
}

export function entryOf(id) {
  return queue.value.find((q) => q.id === id) || null;
}

// ---- the open conversation's transcript ----

export const messages = signal([]);     // by seq
export const activities = signal([]);   // by id: handed off, assigned, resolved…
let transcriptOf = 0;                   // bumped on each open: late answers are dropped

export function openThread(id) {
  const mine = ++transcriptOf;
  batch(() => { openId.value = id; messages.value = []; activities.value = []; });
  readAfter();
  // One the lists do not hold (a search hit, a resolved one from a toast): its view, so the
  // header has its name and actions.
  if (!conversations.value.has(id)) {
    api("GET", `/console/api/conversations/${id}`).then(
      (c) => { if (!conversations.peek().has(c.id)) setConversation(c); },
      () => {},
    );
  }
  api("GET", `/console/api/conversations/${id}/activities`).then(
    (d) => { if (mine === transcriptOf) addActivities(d.activities); },
    () => {},   // a role without conversations, or a conversation gone: no rows to show
  );
}

// The open conversation's messages after the last one held (all of them at first).
export function readAfter() {
  const id = openId.value, mine = transcriptOf;
  if (!id) return Promise.resolve();
  const list = messages.value;
  const after = list.length ? list[list.length - 1].seq : 0;
  return api("GET", `/console/api/conversations/${id}/messages?after_seq=${after}`).then(
    (d) => { if (mine === transcriptOf) addMessages(d.messages); },
    () => {},
  );
}

// Messages of the open conversation, merged by seq (a reply's answer and its event are one
// message); a gap in the seqs (an event missed) is read from the server.
export function addMessages(more) {
  const list = messages.value;
  const last = list.length ? list[list.length - 1].seq : 0;
  const mine = more.filter((m) => m.conversation_id === openId.value);
  if (!mine.length) return;
  if (mine.length === 1 && mine[0].seq > last + 1) { readAfter(); return; }
  const bySeq = new Map(list.map((m) => [m.seq, m]));
  for (const m of mine) bySeq.set(m.seq, m);
  messages.value = [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}

function changeMessage(test, change) {
  const list = messages.value;
  const at = list.findIndex(test);
  if (at < 0) return;
  const next = [...list];
  next[at] = change(list[at]);
  messages.value = next;
}

function addActivities(more) {
  const mine = more.filter((a) => a.conversation_id === openId.value);
  const held = activities.value;
  const fresh = mine.filter((a) => !held.some((h) => h.id === a.id));
  if (fresh.length) activities.value = [...held, ...fresh].sort((a, b) => a.id - b.id);
}

// The latest time the open conversation was resolved, and by whom (its activity).
export function resolution() {
  const done = activities.value.filter((a) => a.kind === "resolved");
  return done.length ? done[done.length - 1] : null;
}

// ---- who else is here (viewers.js keeps it; the table below feeds it) ----

function onPresence(f) {
  heard(f, me.value ? me.value.id : null);
}

// ---- what happened to the signed-in agent: told to notifications.js ----

// The event table decides what is news for this agent (assigned to them by someone else, a
// note that mentions them, a missed deadline that concerns them); notifications.js says it
// (a toast, a desktop notification, a sound). Listeners get {kind, conversationId, ...}.
const listeners = new Set();
export function onNews(listener) { listeners.add(listener); }
function tell(news) { for (const listener of listeners) listener(news); }

export const customerName = (c) => c.contact.name || c.contact.email || "a visitor";

// The first-response deadlines of the conversations the agent holds and has not answered:
// id -> due time (ms). Recomputed when the conversations change; notifications.js warns
// before each passes (there is no server event for "due soon").
export const myDeadlines = computed(() => {
  const agent = me.value;
  const out = new Map();
  if (!agent) return out;
  for (const c of conversations.value.values()) {
    if (c.status === "assigned" && c.assignee && c.assignee.id === agent.id
        && c.first_response_due && !c.first_response_at) out.set(c.id, Date.parse(c.first_response_due));
  }
  return out;
});

// Assigned to me by the router or a colleague; my own claim or reply is no news to me.
function assignedNews(f) {
  const a = f.data.activity, agent = me.value;
  if (agent && a && a.kind === "assigned" && a.agent?.id === agent.id && a.actor?.id !== agent.id) {
    tell({ kind: "assigned", conversationId: f.conversation_id, conversation: f.data.conversation });
  }
}

function onNoteCreated(f) {
  const note = f.data.note, agent = me.value;
  if (agent && note.mentions.includes(agent.id) && note.author?.id !== agent.id) {
    tell({ kind: "mention", conversationId: note.conversation_id, author: note.author, text: note.text });
  }
}

// The people console.js toasts a breach to: the team the policy names, supervisors, the holder.
function breachNews(f) {
  const c = f.data.conversation, agent = me.value;
  if (!agent) return;
  const concerned = agent.role !== "agent" || c.assignee?.id === agent.id
    || (agent.team_ids || []).includes(f.data.notify_team_id || c.team?.id);
  if (concerned) tell({ kind: "sla_breached", conversationId: c.id, conversation: c, deadline: f.data.kind });
}

// ---- the socket's events: one table ----

function onMessageCreated(f) {
  const m = f.data.message;
  if (f.conversation_id === openId.value) addMessages([m]);
  const c = conversations.value.get(f.conversation_id);
  if (!c) return;
  setConversation({ ...c, preview: m.author_kind === "customer" ? m.text : c.preview, last_message_at: m.created_at });
}

// What the NLU made of a message, once it ran (the message was shown before).
function onMessageInterpreted(f) {
  if (f.conversation_id !== openId.value) return;
  const m = f.data.message;
  changeMessage((x) => x.seq === m.seq, (x) => ({ ...x, nlu: m.nlu }));
}

function onMessageDelivery(f) {
  if (f.conversation_id !== openId.value) return;
  const d = f.data.delivery;
  changeMessage((x) => x.id === d.message_id, (x) => ({ ...x, delivery: d }));
}

function onConversation(f) {
  batch(() => {
    setConversation(f.data.conversation);
    if (f.data.activity && f.conversation_id === openId.value) addActivities([f.data.activity]);
  });
  assignedNews(f);
}

function onBreach(f) {
  onConversation(f);
  breachNews(f);
}

function onQueueChanged(f) {
  if (held) held.push(f);
  applyQueueChange(f.conversation_id, f.data.queue);
}

// Two nodes' agent.updated events can arrive out of order (a presence sweep's "away" after
// the reconnect that brought the agent back): the status stamped latest stays.
function newestStatus(known, incoming) {
  if (!known || known.status_at == null || incoming.status_at == null) return incoming;
  if (incoming.status_at >= known.status_at) return incoming;
  return { ...incoming, status: known.status, status_at: known.status_at };
}

function onAgentUpdated(f) {
  const d = directory.value;
  const a = newestStatus(d.agents.find((x) => x.id === f.data.agent.id), f.data.agent);
  directory.value = { ...d, agents: [...d.agents.filter((x) => x.id !== a.id), a] };
  if (me.value && a.id === me.value.id) setMyStatus(a);
}

/** The signed-in agent's status from the server (an event, a re-read, their own change),
 * unless the one shown was stamped later. */
export function setMyStatus(agent) {
  const mine = newestStatus(me.value, agent);
  me.value = { ...me.value, status: mine.status, status_at: mine.status_at };
}

const HANDLERS = {
  "message.created": onMessageCreated,
  "message.interpreted": onMessageInterpreted,
  "message.delivery": onMessageDelivery,
  "conversation.created": onConversation,
  "conversation.updated": onConversation,
  "sla.breached": onBreach,
  "queue.changed": onQueueChanged,
  "agent.updated": onAgentUpdated,
  "viewing": onPresence,
  "typing": onPresence,
  "note.created": onNoteCreated,
};

export function dispatch(frame) {
  const handler = HANDLERS[frame.name];
  if (handler) handler(frame);
}
