// Editing a response (issue 19): its variations, one per language (the variation's
// `language` slot condition; blank: said in any language), each with its text, buttons and
// image. A response with a custom payload is edited in the files (the server says so).
import { html, signal } from "../panel/ui.js";
import * as studio from "./studio_store.js";
import { focusIfLost, focusOn, focusWhen, labelled } from "./focus.js";

// The response being edited: {name, isNew, variations: [{language, text, image, buttons,
// conditions}], error}
export const draft = signal(null);

function fromView(r) {
  return r.variations.map((v) => ({
    language: v.conditions.find((c) => c.slot === "language")?.value ?? "",
    text: v.text ?? "",
    image: v.image ?? "",
    buttons: v.buttons.map((b) => ({ ...b })),
    conditions: v.conditions.filter((c) => c.slot !== "language"),
  }));
}

export function edit(response) {
  draft.value = { name: response.name, isNew: false, variations: fromView(response), error: "" };
  focusOn("#bot-response-editor .bot-variation-text");
}

// Closed (saved, cancelled): the focus goes back to the response's Edit button, once listed.
function closed(name) {
  draft.value = null;
  if (name) focusWhen(() => document.querySelector(labelled("button", `Edit ${name}`)), "#bot-new-response");
  else focusOn("#bot-new-response");
}

export function create(languages) {
  // One variation per language: the first said in any language (the fallback), the others
  // when the customer's language is theirs.
  const langs = languages.length ? languages : [""];
  const variations = langs.map((language, n) => ({
    language: n === 0 ? "" : language, text: "", image: "", buttons: [], conditions: [],
  }));
  draft.value = { name: "utter_", isNew: true, variations, error: "" };
  focusOn("#bot-response-name");
}

function change(n, patch) {
  const d = draft.value;
  draft.value = { ...d, variations: d.variations.map((v, k) => (k === n ? { ...v, ...patch } : v)) };
}

async function submit(e) {
  e.preventDefault();
  const d = draft.value;
  const name = d.name.trim();
  if (!/^utter_[A-Za-z0-9_.\-/]+$/.test(name)) { draft.value = { ...d, error: "A response's name starts with utter_ (letters, digits, _ . - /)." }; return; }
  const empty = d.variations.findIndex((v) => !v.text.trim() && !v.image.trim());
  if (empty >= 0) { draft.value = { ...d, error: `Variation ${empty + 1} needs a text or an image.` }; return; }
  const variations = d.variations.map((v) => ({
    text: v.text.trim() || null,
    language: v.language.trim() || null,
    image: v.image.trim() || null,
    buttons: v.buttons.filter((b) => b.title.trim()).map((b) => ({ title: b.title.trim(), payload: b.payload.trim() })),
    conditions: v.conditions,
  }));
  const saved = await studio.save("PUT", `/console/api/bot/responses/${encodeURIComponent(name)}`, { variations });
  if (saved) closed(name);
}

async function remove() {
  const name = draft.value.name;
  const saved = await studio.save("DELETE", `/console/api/bot/responses/${encodeURIComponent(name)}?message=${encodeURIComponent(studio.message.value)}`);
  if (saved) closed(null);
}

export function ResponseEditor() {
  const d = draft.value;
  if (!d) return null;
  return html`<form class="bot-editor" id="bot-response-editor" onSubmit=${submit} aria-label=${d.isNew ? "New response" : `Edit ${d.name}`}>
    <h4>${d.isNew ? "New response" : `Edit ${d.name}`}</h4>
    ${d.isNew ? html`<label>Response name <input id="bot-response-name" type="text" value=${d.name}
      onInput=${(e) => { draft.value = { ...draft.value, name: e.target.value, error: "" }; }} /></label>` : null}
    <ol class="bot-variation-editors">
      ${d.variations.map((v, n) => html`<li key=${n} class="bot-variation-editor">
        <fieldset>
          <legend>Variation ${n + 1}</legend>
          <label>Language (blank: any)
            <input type="text" class="bot-short bot-variation-language" value=${v.language} maxlength="3"
              onInput=${(e) => change(n, { language: e.target.value.toLowerCase() })} /></label>
          <label>Text
            <textarea class="bot-variation-text" rows="2" value=${v.text} onInput=${(e) => change(n, { text: e.target.value })}></textarea></label>
          <label>Image URL (channels that show images)
            <input type="url" value=${v.image} onInput=${(e) => change(n, { image: e.target.value })} /></label>
          ${v.buttons.map((b, k) => html`<div key=${k} class="bot-button-editor" role="group" aria-label=${`Button ${k + 1}`}>
            <label>Button title <input type="text" value=${b.title}
              onInput=${(e) => change(n, { buttons: v.buttons.map((x, j) => (j === k ? { ...x, title: e.target.value } : x)) })} /></label>
            <label>Says <input type="text" value=${b.payload} placeholder="/intent"
              onInput=${(e) => change(n, { buttons: v.buttons.map((x, j) => (j === k ? { ...x, payload: e.target.value } : x)) })} /></label>
            <button type="button" class="bot-small secondary" aria-label=${`Remove button ${k + 1}`}
              onClick=${() => change(n, { buttons: v.buttons.filter((_, j) => j !== k) })}>Remove</button>
          </div>`)}
          ${v.conditions.map((c) => html`<p class="bot-muted">Also when ${c.slot} is ${c.value ?? "not set"} (kept).</p>`)}
          <div class="bot-actions">
            <button type="button" class="bot-small secondary" onClick=${() => change(n, { buttons: [...v.buttons, { title: "", payload: "" }] })}>Add a button</button>
            ${d.variations.length > 1 ? html`<button type="button" class="bot-small secondary"
              onClick=${() => { draft.value = { ...d, variations: d.variations.filter((_, k) => k !== n) }; focusIfLost("#bot-add-variation"); }}>Remove variation ${n + 1}</button>` : null}
          </div>
        </fieldset>
      </li>`)}
    </ol>
    ${d.error ? html`<p class="bot-error" role="alert">${d.error}</p>` : null}
    <div class="bot-actions">
      <button type="button" class="secondary" id="bot-add-variation"
        onClick=${() => { draft.value = { ...d, variations: [...d.variations, { language: "", text: "", image: "", buttons: [], conditions: [] }] }; }}>Add a variation</button>
      <button type="submit" id="bot-response-save">Save response</button>
      ${d.isNew ? null : html`<button type="button" class="danger" onClick=${remove}>Delete response</button>`}
      <button type="button" class="secondary" onClick=${() => closed(d.isNew ? null : d.name)}>Cancel</button>
    </div>
  </form>`;
}
