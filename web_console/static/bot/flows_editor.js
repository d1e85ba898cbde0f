// Editing a rule or a story as a list of steps (issue 19): the customer says (an intent), the
// bot does (an action or response), a slot is set, a form loops. A rule's condition is kept
// by the server; what a step list cannot say (or:, checkpoints, an intent's entities) is
// refused there, and edited in the YAML view.
import { html, signal } from "../panel/ui.js";
import * as store from "./store.js";
import * as studio from "./studio_store.js";
import { focusIfLost, focusOn, focusWhen, labelled } from "./focus.js";

const KIND_LABEL = { intent: "Customer says (intent)", action: "Bot does (action)", slot: "Slot is set", loop: "Form (loop)" };

// {kind: "rule"|"story", original: name|null, name, steps: [{kind, name, value}], error}
export const draft = signal(null);

export function edit(flow) {
  draft.value = {
    kind: flow.kind,
    original: flow.name,
    name: flow.name,
    steps: flow.steps.map((s) => ({ kind: s.kind, name: s.name, value: s.value ?? "" })),
    error: "",
  };
  focusOn("#bot-flow-name");
}

export function create(kind) {
  draft.value = { kind, original: null, name: "", steps: [{ kind: "intent", name: "", value: "" }, { kind: "action", name: "", value: "" }], error: "" };
  focusOn("#bot-flow-name");
}

// Closed (saved, cancelled, deleted): the focus goes back to the flow's "Edit steps" button,
// once listed, or to "New rule" ("New story").
function closed(kind, name) {
  draft.value = null;
  if (name) focusWhen(() => document.querySelector(labelled("button", `Edit steps of the ${kind} ${name}`)), `#bot-new-${kind}`);
  else focusOn(`#bot-new-${kind}`);
}

// Whether a flow as the engine runs it can be edited as steps here.
export function editable(flow) {
  return !flow.name.includes(" > ") && flow.steps.every((s) => !(s.kind === "intent" && s.entities.length));
}

function setStep(n, patch) {
  const d = draft.value;
  draft.value = { ...d, steps: d.steps.map((s, k) => (k === n ? { ...s, ...patch } : s)), error: "" };
}

function move(n, by) {
  const d = draft.value;
  const steps = [...d.steps];
  const [step] = steps.splice(n, 1);
  steps.splice(n + by, 0, step);
  draft.value = { ...d, steps };
}

async function submit(e) {
  e.preventDefault();
  const d = draft.value;
  if (!d.name.trim()) { draft.value = { ...d, error: `The ${d.kind} needs a name.` }; return; }
  const missing = d.steps.findIndex((s) => s.kind !== "loop" && !s.name.trim());
  if (missing >= 0) { draft.value = { ...d, error: `Step ${missing + 1} needs a name.` }; return; }
  const body = {
    kind: d.kind,
    name: d.name.trim(),
    steps: d.steps.map((s) => ({ kind: s.kind, name: s.name.trim(), value: s.kind === "slot" ? (s.value.trim() || null) : null })),
  };
  if (d.original) body.original = d.original;
  if (await studio.save("PUT", "/console/api/bot/flows", body)) closed(body.kind, body.name);
}

async function remove() {
  const d = draft.value;
  if (await studio.save("DELETE", "/console/api/bot/flows", { kind: d.kind, name: d.original })) closed(d.kind, null);
}

export function FlowEditor() {
  const d = draft.value;
  if (!d) return null;
  const intents = store.intents.value.items.map((i) => i.name);
  const actions = store.responses.value.items.map((r) => r.name);
  const title = d.original ? `Edit the ${d.kind} "${d.original}"` : `New ${d.kind}`;
  return html`<form class="bot-editor" id="bot-flow-editor" onSubmit=${submit} aria-label=${title}>
    <h4>${title}</h4>
    <label>Name <input id="bot-flow-name" type="text" value=${d.name} onInput=${(e) => { draft.value = { ...draft.value, name: e.target.value, error: "" }; }} /></label>
    <datalist id="bot-flow-intents">${intents.map((n) => html`<option key=${n} value=${n} />`)}</datalist>
    <datalist id="bot-flow-actions">${actions.map((n) => html`<option key=${n} value=${n} />`)}</datalist>
    <ol class="bot-step-editors">
      ${d.steps.map((s, n) => html`<li key=${n} class="bot-step-editor" role="group" aria-label=${`Step ${n + 1}`}>
        <label>Step ${n + 1}
          <select class="bot-step-kind-select" value=${s.kind} onChange=${(e) => setStep(n, { kind: e.target.value })}>
            ${Object.entries(KIND_LABEL).map(([k, label]) => html`<option key=${k} value=${k}>${label}</option>`)}
          </select></label>
        <label>${s.kind === "loop" ? "Form (blank: the loop ends)" : s.kind === "slot" ? "Slot" : "Name"}
          <input type="text" class="bot-step-name" value=${s.name} list=${s.kind === "intent" ? "bot-flow-intents" : s.kind === "action" ? "bot-flow-actions" : undefined}
            onInput=${(e) => setStep(n, { name: e.target.value })} /></label>
        ${s.kind === "slot" ? html`<label>Value (blank: not set)
          <input type="text" class="bot-short" value=${s.value} onInput=${(e) => setStep(n, { value: e.target.value })} /></label>` : null}
        <span class="bot-actions">
          <button type="button" class="bot-small secondary" disabled=${n === 0} onClick=${() => move(n, -1)}>Up</button>
          <button type="button" class="bot-small secondary" disabled=${n === d.steps.length - 1} onClick=${() => move(n, 1)}>Down</button>
          <button type="button" class="bot-small secondary" disabled=${d.steps.length === 1}
            onClick=${() => { draft.value = { ...d, steps: d.steps.filter((_, k) => k !== n) }; focusIfLost("#bot-add-step"); }}>Remove</button>
        </span>
      </li>`)}
    </ol>
    ${d.error ? html`<p class="bot-error" role="alert">${d.error}</p>` : null}
    <div class="bot-actions">
      <button type="button" class="secondary" id="bot-add-step"
        onClick=${() => { const last = d.steps[d.steps.length - 1]; draft.value = { ...d, steps: [...d.steps, { kind: last?.kind === "intent" ? "action" : "intent", name: "", value: "" }] }; }}>Add a step</button>
      <button type="submit" id="bot-flow-save">Save ${d.kind}</button>
      ${d.original ? html`<button type="button" class="danger" onClick=${remove}>Delete ${d.kind}</button>` : null}
      <button type="button" class="secondary" onClick=${() => closed(d.kind, d.original)}>Cancel</button>
    </div>
  </form>`;
}
