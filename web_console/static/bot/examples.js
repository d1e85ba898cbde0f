// Editing an intent's examples (issue 19): add, change or delete one; an entity is annotated
// by selecting its words in the example and picking the entity (the Rasa markup,
// `[10234](order_number)`, is written for the designer and shown as it will be saved).
// Warnings as they type: an example already under another intent, an intent with fewer
// than MIN_EXAMPLES examples in a language, an entity never annotated.
import { html, useEffect, useRef } from "../panel/ui.js";
import { focusOn, focusWhen } from "./focus.js";
import { signal } from "../panel/ui.js";
import * as store from "./store.js";
import * as studio from "./studio_store.js";

let editorCount = 0;

// One editor's state lives in a signal made for it (components stay functions of signals).
function useEditor(initial) {
  const ref = useRef(null);
  if (!ref.current) {
    editorCount += 1;
    ref.current = {
      id: `bot-ex-${editorCount}`,
      state: signal({
        text: initial?.text || "",
        spans: (initial?.entities || []).map((s) => ({ ...s })),
        selection: null,
        entity: "",
        newEntity: "",
        role: "",
        error: "",
      }),
    };
  }
  return ref.current;
}

export function ExampleEditor({ intent, initial, onSaved, onCancel, label, autoFocus }) {
  const { id, state } = useEditor(initial);
  const input = useRef(null);
  // An example's editor opens where its Edit button was: the focus goes to its text.
  useEffect(() => { if (autoFocus) input.current?.focus(); }, []);
  const s = state.value;
  const set = (patch) => { state.value = { ...state.value, ...patch }; };
  const entities = studio.lexicon.value.data?.entities || [];
  const chosen = s.entity === "__new" ? s.newEntity.trim() : s.entity;
  const warnings = studio.exampleWarnings(s.text, intent, initial?.text || "");

  const select = (e) => {
    const { selectionStart: a, selectionEnd: b, value } = e.target;
    if (a === b) { set({ selection: null }); return; }
    // The words selected, without the spaces around them.
    let start = a; let end = b;
    while (start < end && /\s/.test(value[start])) start += 1;
    while (end > start && /\s/.test(value[end - 1])) end -= 1;
    set({ selection: start < end ? { start, end } : null });
  };
  const annotate = () => {
    const sel = s.selection;
    if (!sel || !chosen) return;
    if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(chosen)) { set({ error: "An entity's name: letters, digits, _ . - only." }); return; }
    if (s.spans.some((p) => sel.start < p.end && p.start < sel.end)) { set({ error: "These words overlap an entity already marked." }); return; }
    const piece = s.text.slice(sel.start, sel.end);
    if (/[[\]()]/.test(piece)) { set({ error: "An entity's words cannot hold brackets." }); return; }
    const span = { start: sel.start, end: sel.end, entity: chosen };
    if (s.role.trim()) span.role = s.role.trim();
    set({ spans: [...s.spans, span].sort((x, y) => x.start - y.start), selection: null, error: "" });
  };
  const submit = async (e) => {
    e.preventDefault();
    const text = s.text.trim();
    if (!text) { set({ error: "An example cannot be empty." }); return; }
    const lead = s.text.length - s.text.trimStart().length;
    const example = {
      text,
      entities: s.spans.map((p) => ({ start: p.start - lead, end: p.end - lead, entity: p.entity,
        ...(p.role ? { role: p.role } : {}), ...(p.group ? { group: p.group } : {}),
        ...(p.value && p.value !== s.text.slice(p.start, p.end) ? { value: p.value } : {}) })),
    };
    const saved = initial
      ? await studio.save("PUT", "/console/api/bot/examples", { intent, old: initial.text, example })
      : await studio.save("POST", "/console/api/bot/examples", { intent, examples: [example] });
    if (saved) { set({ text: "", spans: [], selection: null }); onSaved?.(example); }
  };
  const selected = s.selection ? s.text.slice(s.selection.start, s.selection.end) : "";
  return html`<form class="bot-editor" onSubmit=${submit} aria-label=${label}>
    <label for=${`${id}-text`}>${label}</label>
    <input id=${`${id}-text`} ref=${input} class="bot-example-input" type="text" value=${s.text} autocomplete="off"
      aria-describedby=${`${id}-help ${id}-warnings`}
      onInput=${(e) => set({ text: e.target.value, spans: studio.carrySpans(s.spans, s.text, e.target.value) })}
      onSelect=${select} onKeyUp=${select} onMouseUp=${select} />
    <p id=${`${id}-help`} class="bot-muted">Select words in the example to mark them as an entity.</p>
    <div class="bot-annotate" role="group" aria-label="Mark the selected words as an entity">
      <span class="bot-selection" aria-live="polite">${selected ? html`Selected: <mark class="bot-entity">${selected}</mark>` : "Nothing selected"}</span>
      <label>Entity
        <select value=${s.entity} onChange=${(e) => set({ entity: e.target.value })}>
          <option value="">Choose…</option>
          ${entities.map((n) => html`<option key=${n} value=${n}>${n}</option>`)}
          <option value="__new">New entity…</option>
        </select></label>
      ${s.entity === "__new" ? html`<label>New entity's name
        <input type="text" value=${s.newEntity} onInput=${(e) => set({ newEntity: e.target.value })} /></label>` : null}
      <label>Role (optional)
        <input type="text" class="bot-short" value=${s.role} onInput=${(e) => set({ role: e.target.value })} /></label>
      <button type="button" class="secondary" disabled=${!selected || !chosen} onClick=${annotate}>Mark as entity</button>
    </div>
    ${s.spans.length ? html`<ul class="bot-spans" aria-label="Entities marked">
      ${s.spans.map((p, n) => html`<li key=${n}>
        <mark class="bot-entity">${s.text.slice(p.start, p.end)}<span class="bot-entity-name">${p.entity}${p.role ? `#${p.role}` : ""}</span></mark>
        <button type="button" class="bot-small secondary" aria-label=${`Remove the entity ${p.entity} on ${s.text.slice(p.start, p.end)}`}
          onClick=${() => set({ spans: s.spans.filter((_, k) => k !== n) })}>Remove</button>
      </li>`)}
    </ul>` : null}
    ${s.text.trim() ? html`<p class="bot-muted">Written as <code class="bot-markup">${studio.markup(s.text, s.spans)}</code></p>` : null}
    <div id=${`${id}-warnings`} aria-live="polite">
      ${warnings.map((w) => html`<p key=${w} class="bot-warning">${w}</p>`)}
      ${s.error ? html`<p class="bot-error" role="alert">${s.error}</p>` : null}
    </div>
    <div class="bot-actions">
      <button type="submit">${initial ? "Save example" : "Add example"}</button>
      ${onCancel ? html`<button type="button" class="secondary" onClick=${onCancel}>Cancel</button>` : null}
    </div>
  </form>`;
}

const editing = signal(null); // the index of the example being edited in the open intent

export function IntentWarnings({ name }) {
  const row = store.intents.value.items.find((i) => i.name === name);
  const thin = studio.thinLanguages(row, store.intents.value.languages);
  if (!thin.length) return null;
  return html`<ul class="bot-warnings" aria-label="Warnings">
    ${thin.map((t) => html`<li key=${t.language} class="bot-warning">Only ${t.count} example${t.count === 1 ? "" : "s"} in ${t.language}: add at least ${studio.MIN_EXAMPLES}.</li>`)}
  </ul>`;
}

export function EntityWarnings() {
  const never = studio.neverAnnotated();
  if (!never.length) return null;
  return html`<p class="bot-warning">Never annotated in any example: ${never.join(", ")}. The bot cannot learn where these entities stand.</p>`;
}

// An example's Edit button, by the example's text (once the intent is read again after a save).
const editButton = (text) => document.querySelector(`#bot-intent button[data-edit="${CSS.escape(text)}"]`);

// Deleted: the focus goes to the Edit button now in its place (or the one before it, or the new
// example's text), once the intent read again no longer holds it.
async function remove(intent, example, index) {
  if (!await studio.save("DELETE", "/console/api/bot/examples", { intent, old: example.text })) return;
  focusWhen(() => {
    const examples = store.open.value?.data?.examples;
    if (!examples || examples.some((e) => e.text === example.text) || editButton(example.text)) return null;
    const buttons = document.querySelectorAll("#bot-intent button[data-edit]");
    return buttons[Math.min(index, buttons.length - 1)] || document.querySelector("#bot-intent .bot-example-input");
  }, "#bot-intent-heading");
}

export function ExampleActions({ intent, example, index }) {
  if (editing.value === index) {
    return html`<${ExampleEditor} intent=${intent} initial=${example} label=${`Change the example "${example.text}"`} autoFocus
      onSaved=${(saved) => { editing.value = null; focusWhen(() => editButton(saved.text), "#bot-intent-heading"); }}
      onCancel=${() => { editing.value = null; focusWhen(() => editButton(example.text), "#bot-intent-heading"); }} />`;
  }
  return html`<span class="bot-example-actions">
    <button type="button" class="bot-small secondary" data-edit=${example.text} aria-label=${`Edit the example "${example.text}"`}
      onClick=${() => { editing.value = index; }}>Edit</button>
    <button type="button" class="bot-small secondary" aria-label=${`Delete the example "${example.text}"`}
      onClick=${() => remove(intent, example, index)}>Delete</button>
  </span>`;
}

export function stopEditing() {
  editing.value = null;
}

const newIntent = signal({ open: false, name: "", lines: "", error: "" });

// "New intent": its name and first examples, one a line (annotated afterwards, in the intent).
export function NewIntent() {
  const s = newIntent.value;
  const set = (patch) => { newIntent.value = { ...newIntent.value, ...patch }; };
  if (!s.open) {
    return html`<button type="button" id="bot-new-intent" onClick=${() => { set({ open: true }); focusOn("#bot-new-intent-name"); }}>New intent</button>`;
  }
  const lines = s.lines.split("\n").map((l) => l.trim()).filter(Boolean);
  const warnings = lines.flatMap((l) => studio.exampleWarnings(l, s.name.trim()).map((w) => `"${l}": ${w}`));
  const submit = async (e) => {
    e.preventDefault();
    const name = s.name.trim();
    if (!/^[A-Za-z0-9_][A-Za-z0-9_.\-/]*$/.test(name)) { set({ error: "An intent's name: letters, digits, _ . - / only, no spaces." }); return; }
    const saved = await studio.save("POST", "/console/api/bot/intents", { name, examples: lines.map((text) => ({ text })) });
    if (saved) {
      newIntent.value = { open: false, name: "", lines: "", error: "" };
      store.openIntent(name);
    }
  };
  return html`<form class="bot-editor" id="bot-new-intent-form" onSubmit=${submit} aria-label="New intent">
    <label>Intent name <input id="bot-new-intent-name" type="text" value=${s.name} autocomplete="off"
      onInput=${(e) => set({ name: e.target.value, error: "" })} /></label>
    <label>Examples, one a line (any language; mark entities afterwards)
      <textarea id="bot-new-intent-examples" rows="6" value=${s.lines} onInput=${(e) => set({ lines: e.target.value })}></textarea></label>
    <div aria-live="polite">
      ${lines.length && lines.length < studio.MIN_EXAMPLES ? html`<p class="bot-warning">${lines.length} example${lines.length === 1 ? "" : "s"}: an intent needs at least ${studio.MIN_EXAMPLES} in each language it is asked in.</p>` : null}
      ${warnings.map((w) => html`<p key=${w} class="bot-warning">${w}</p>`)}
      ${s.error ? html`<p class="bot-error" role="alert">${s.error}</p>` : null}
    </div>
    <div class="bot-actions">
      <button type="submit" id="bot-new-intent-save">Save intent</button>
      <button type="button" class="secondary" onClick=${() => { set({ open: false }); focusOn("#bot-new-intent"); }}>Cancel</button>
    </div>
  </form>`;
}
