// Internal notes: agents' words about the conversation, never sent to the customer. Typing
// "@" offers the colleagues to mention (the directory); they are told live with a toast.
import { api } from "./api.js";
import { Listbox, listKey, optionId } from "./listbox.js";
import { when } from "./format.js";
import { addNote, colleagues, dismissToast, me, notes, openId, toasts } from "./store.js";
import { html, signal } from "./ui.js";

const LABEL = "Internal note — not sent to the customer";
const MAX_OPTIONS = 8;

// The "@name" being typed just before the caret, if any.
function mentionAt(text, caret) {
  const match = /(^|\s)@([^\s@]*)$/.exec(text.slice(0, caret));
  return match ? { start: caret - match[2].length - 1, query: match[2].toLowerCase() } : null;
}

const draft = signal("");
const picked = signal(new Map());     // name -> id of the colleagues chosen for this note
const suggest = signal(null);         // {start, query, active} while the list is open
const error = signal("");
const sending = signal(false);

function matches() {
  const s = suggest.value;
  if (!s) return [];
  return colleagues.value.filter((a) => a.name.toLowerCase().includes(s.query)).slice(0, MAX_OPTIONS);
}

function onInput(event) {
  draft.value = event.target.value;
  const found = mentionAt(event.target.value, event.target.selectionStart);
  suggest.value = found ? { ...found, active: 0 } : null;
}

function pick(field, index) {
  const agent = matches()[index];
  const s = suggest.value;
  if (!agent || !s) return;
  const caret = field.selectionStart;
  const text = `${draft.value.slice(0, s.start)}@${agent.name} ${draft.value.slice(caret)}`;
  picked.value = new Map(picked.value).set(agent.name, agent.id);
  draft.value = text;
  suggest.value = null;
  const at = s.start + agent.name.length + 2;
  queueMicrotask(() => { field.value = text; field.setSelectionRange(at, at); });
}

function onKeyDown(event) {
  if (!suggest.value) return;
  const field = event.target;
  listKey(event, {
    count: matches().length,
    active: suggest.value.active,
    move: (i) => { suggest.value = { ...suggest.value, active: i }; },
    pick: (i) => pick(field, i),
    close: () => { suggest.value = null; },
  });
}

async function onSubmit(event) {
  event.preventDefault();
  const text = draft.value.trim();
  if (!text || sending.value) return;
  // Only the colleagues still named in the text are mentioned.
  const mentions = [...picked.value].filter(([name]) => text.includes(`@${name}`)).map(([, id]) => id);
  sending.value = true;
  try {
    const { note } = await api("POST", `/console/api/conversations/${openId.value}/notes`, { text, mentions });
    addNote(note);
    draft.value = "";
    picked.value = new Map();
    error.value = "";
  } catch (e) {
    error.value = e.message;
  } finally {
    sending.value = false;
  }
}

function Note({ note }) {
  const names = note.mentions.map((id) => (id === me.value?.id ? "you"
    : colleagues.value.find((a) => a.id === id)?.name || "a colleague"));
  return html`<li class="note" data-note-id=${note.id}>
    <div class="note-label">${LABEL}</div>
    <div class="note-text">${note.text}</div>
    <div class="cp-muted">${note.author?.name || "someone"} · ${when(note.created_at)}${names.length ? ` · mentions ${names.join(", ")}` : ""}</div>
  </li>`;
}

export function Notes() {
  const options = matches();
  const active = suggest.value ? Math.min(suggest.value.active, options.length - 1) : -1;
  const listOpen = options.length > 0;
  return html`<section class="cp-section cp-notes" aria-labelledby="cp-notes">
    <h3 id="cp-notes">Internal notes</h3>
    ${notes.value.length ? html`<ol class="notes">${notes.value.map((n) => html`<${Note} key=${n.id} note=${n} />`)}</ol>`
      : html`<p class="cp-muted">No note yet.</p>`}
    <form class="note-form" onSubmit=${onSubmit}>
      <label for="note-text">${LABEL}</label>
      <textarea id="note-text" rows="2" maxlength="10000" placeholder="Type @ to mention a colleague"
        value=${draft.value} onInput=${onInput} onKeyDown=${onKeyDown} onBlur=${() => { suggest.value = null; }}
        aria-autocomplete="list" aria-controls=${listOpen ? "mention-list" : undefined}
        aria-activedescendant=${listOpen && active >= 0 ? optionId("mention-list", active) : undefined}></textarea>
      ${listOpen ? html`<${Listbox} id="mention-list" label="Colleagues to mention" active=${active}
          options=${options.map((a) => ({ key: a.id, label: a.name, detail: a.status }))}
          onPick=${(i) => pick(document.getElementById("note-text"), i)} />` : null}
      <button type="submit" disabled=${sending.value}>Add note</button>
      <p class="cp-error" role="alert">${error.value}</p>
    </form>
  </section>`;
}

// Mentions of me, as toasts beside console.js's (in their own box inside #toasts).
export function MentionToasts() {
  return toasts.value.map((t) => html`<div key=${t.id} class="toast mention" role="status">
    <span>${t.text}</span>
    <span class="toast-actions">
      <button type="button" onClick=${() => { document.dispatchEvent(new CustomEvent("console:show", { detail: t.conversationId })); dismissToast(t.id); }}>Open</button>
      <button type="button" aria-label="Dismiss" onClick=${() => dismissToast(t.id)}>×</button>
    </span>
  </div>`);
}

// A new conversation starts with an empty note.
export function resetDraft() {
  draft.value = "";
  picked.value = new Map();
  suggest.value = null;
  error.value = "";
}
