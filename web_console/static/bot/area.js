// The Bot area (issue 19): the engine and its project, what the project asks for that the
// engine does not do, the intents with their examples (entities marked; added, changed and
// deleted here, entities annotated by selecting text), the responses (edited per language),
// synonyms, regexes and lookups, the rules and stories as step lists, the YAML view, and the
// versions of the project. Every value is rendered as text: entity spans are <mark> elements
// around slices of the example, never markup from data.
import * as store from "./store.js";
import { html, useEffect, useRef } from "../panel/ui.js";
import { Training } from "./training.js";
import { Review } from "./review.js";
import { Health } from "./health.js";
import { Domain } from "./domain.js";
import * as studio from "./studio_store.js";
import { EntityWarnings, ExampleActions, ExampleEditor, IntentWarnings, NewIntent, stopEditing } from "./examples.js";
import * as responseEditor from "./responses_editor.js";
import * as flowEditor from "./flows_editor.js";
import { Files, Lexicon, SaveBar, Versions } from "./studio.js";

// One entry a line: [section, label]. Each section's component is chosen in BotArea below.
const SECTIONS = [
  ["intents", "Intents"],
  ["responses", "Responses"],
  ["lexicon", "Synonyms, regexes, lookups"],
  ["flows", "Rules and stories"],
  ["domain", "Slots and forms"],
  ["files", "YAML"],
  ["versions", "Versions"],
  ["training", "Train and test"],
  // The trainer review inbox and the bot's health over time (bot/review.js, bot/health.js).
  ["review", "Review inbox"],
  ["health", "Health"],
];
// The sections that save a version of the project: the save bar (the next version's message,
// what the last save did) belongs to them only.
const SAVING = new Set(["intents", "responses", "lexicon", "flows", "files", "versions"]);
const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
const stories = (n) => `${n} ${n === 1 ? "story" : "stories"}`;

function Summary() {
  const { state, data, error } = store.summary.value;
  if (state === "error") return html`<p class="bot-error" role="alert">${error}</p>`;
  if (!data) return html`<p class="bot-muted">Loading…</p>`;
  if (data.kind !== "embedded") {
    return html`<p id="bot-summary">Engine: <strong>${data.kind === "rasa" ? "Rasa (over HTTP)" : "none"}</strong>.
      The project's contents are shown for the embedded engine only.</p>`;
  }
  return html`<div>
    <dl id="bot-summary" class="bot-summary">
      <div><dt>Engine</dt><dd>embedded</dd></div>
      <div><dt>Project</dt><dd><code>${data.fingerprint}</code></dd></div>
      <div><dt>Intents</dt><dd>${data.intents}</dd></div>
      <div><dt>Languages</dt><dd>${(data.languages || []).join(", ")}</dd></div>
    </dl>
    ${data.error ? html`<p class="bot-error" role="alert">The last edit of the project was refused (the last good model still serves): ${data.error}</p>` : null}
  </div>`;
}

function Unsupported() {
  const data = store.summary.value.data;
  if (!data || data.kind !== "embedded") return null;
  const lines = data.unsupported || [];
  return html`<section class=${`bot-unsupported${lines.length ? "" : " none"}`} aria-labelledby="bot-unsupported-heading">
    <h3 id="bot-unsupported-heading">Unsupported features (${lines.length})</h3>
    ${lines.length
      ? html`<p class="bot-muted">What the project asks for that the embedded engine does not do, and what it does instead.</p>
        <ul id="bot-unsupported" class="bot-unsupported-list">
          ${lines.map((line) => {
            const u = store.parseUnsupported(line);
            return html`<li key=${line}>
              <code class="bot-where">${u.where}</code>
              <strong class="bot-feature">${u.feature}</strong>
              <span class="bot-instead">${u.instead}</span>
            </li>`;
          })}
        </ul>`
      : html`<p>None: the engine runs everything the project asks for.</p>`}
  </section>`;
}

function Nav() {
  return html`<div class="bot-nav" role="group" aria-label="Bot project">
    ${SECTIONS.map(([name, label]) => html`<button type="button" key=${name} id=${`bot-show-${name}`}
      aria-pressed=${String(store.section.value === name)} onClick=${() => { store.showSection(name); studio.enter(); }}>${label}</button>`)}
  </div>`;
}

function Intents() {
  const { state, languages, error } = store.intents.value;
  const items = store.shownIntents();
  const ref = useRef(null);
  useEffect(() => {
    // Back from an intent: the focus goes to its button (keyboard users keep their place).
    const name = returnTo;
    returnTo = null;
    if (name && ref.current) ref.current.querySelector(`[data-intent="${CSS.escape(name)}"]`)?.focus();
  }, []);
  return html`<div ref=${ref}>
    <${NewIntent} />
    <${EntityWarnings} />
    <form class="bot-filters" role="search" aria-label="Search intents" onSubmit=${(e) => e.preventDefault()}>
      <label>Search intents <input type="search" id="bot-search" value=${store.query.value}
        onInput=${(e) => { store.query.value = e.target.value; }} placeholder="Intent name…" /></label>
    </form>
    ${error ? html`<p class="bot-error" role="alert">${error}</p>` : null}
    <p class="bot-muted" role="status">${state === "loading" && !items.length ? "Loading…" : plural(items.length, "intent")}</p>
    <div class="bot-table-wrap">
      <table id="bot-intents" class="bot-table">
        <caption class="visually-hidden">Intents, with their training examples per language</caption>
        <thead><tr>
          <th scope="col">Intent</th>
          ${languages.map((l) => html`<th scope="col" key=${l} class="bot-num">${l}</th>`)}
          <th scope="col" class="bot-num">Total</th>
          <th scope="col">Hands over</th>
        </tr></thead>
        <tbody>
          ${items.map((i) => html`<tr key=${i.name}>
            <th scope="row"><button type="button" class="bot-link" data-intent=${i.name}
              onClick=${() => store.openIntent(i.name)}>${i.name}</button></th>
            ${languages.map((l) => html`<td key=${l} class="bot-num">${i.examples[l] || 0}</td>`)}
            <td class="bot-num">${i.total}</td>
            <td>${i.handoff ? html`<span class="bot-badge handoff" title=${i.handoff_why.join("; ")}>to a person</span>` : ""}</td>
          </tr>`)}
        </tbody>
      </table>
    </div>
  </div>`;
}

let returnTo = null;

function Example({ example, intent, index }) {
  return html`<li lang=${example.language}>
    <span class="bot-example-text">${store.pieces(example).map((p, n) => p.entity
      ? html`<mark key=${n} class="bot-entity">${p.text}<span class="bot-entity-name">${p.entity}${p.role ? `#${p.role}` : ""}${p.group ? `@${p.group}` : ""}${p.value !== p.text ? ` = ${p.value}` : ""}</span></mark>`
      : p.text)}</span>
    <${ExampleActions} intent=${intent} example=${example} index=${index} />
  </li>`;
}

function Intent() {
  const { name, state, data, error } = store.open.value;
  const heading = useRef(null);
  useEffect(() => { heading.current?.focus(); }, [name]);
  const back = () => { returnTo = name; stopEditing(); store.closeIntent(); };
  const byLanguage = new Map();
  (data?.examples || []).forEach((e, index) => {
    if (!byLanguage.has(e.language)) byLanguage.set(e.language, []);
    byLanguage.get(e.language).push({ e, index });
  });
  return html`<div id="bot-intent">
    <div class="bot-actions">
      ${store.cameFrom.value ? html`<button type="button" class="secondary" id="bot-back-to"
        onClick=${() => { stopEditing(); store.goBack(); }}>← Back to ${store.cameFrom.value.label}</button>` : null}
      <button type="button" class="secondary" id="bot-back" onClick=${back}>${store.cameFrom.value ? "All intents" : "← All intents"}</button>
    </div>
    <h3 ref=${heading} tabindex="-1" id="bot-intent-heading">${name}</h3>
    ${error ? html`<p class="bot-error" role="alert">${error}</p>` : null}
    ${state === "loading" ? html`<p class="bot-muted" role="status">Loading…</p>` : null}
    ${data?.handoff ? html`<p class="bot-handoff">Hands the customer to a person: ${data.handoff_why.join("; ")}.</p>` : null}
    <${IntentWarnings} name=${name} />
    <${ExampleEditor} key=${`add-${name}`} intent=${name} label="New example" />
    ${[...byLanguage].map(([lang, examples]) => html`<section key=${lang} aria-labelledby=${`bot-examples-${lang}`}>
      <h4 id=${`bot-examples-${lang}`}>${lang}: ${plural(examples.length, "example")}</h4>
      <ul class="bot-examples">${examples.map(({ e, index }) => html`<${Example} key=${`${index}:${e.text}`} example=${e} intent=${name} index=${index} />`)}</ul>
    </section>`)}
  </div>`;
}

function Responses() {
  const { state, items, error } = store.responses.value;
  return html`<div>
    ${responseEditor.draft.value ? html`<${responseEditor.ResponseEditor} />`
      : html`<button type="button" id="bot-new-response" onClick=${() => responseEditor.create(store.intents.value.languages)}>New response</button>`}
    ${error ? html`<p class="bot-error" role="alert">${error}</p>` : null}
    <p class="bot-muted" role="status">${state === "loading" && !items.length ? "Loading…" : plural(items.length, "response")}</p>
    <ul id="bot-responses" class="bot-cards">
      ${items.map((r) => html`<li key=${r.name} class="bot-card">
        <h4>${r.name} <button type="button" class="bot-small secondary" aria-label=${`Edit ${r.name}`}
          disabled=${r.variations.some((v) => v.custom)} title=${r.variations.some((v) => v.custom) ? "Has a custom payload: edit it in the YAML view" : ""}
          onClick=${() => { responseEditor.edit(r); window.scrollTo?.(0, 0); }}>Edit</button></h4>
        <ul class="bot-variations">
          ${r.variations.map((v, n) => html`<li key=${n} lang=${v.language}>
            <span class="bot-badge">${v.language}</span>
            ${v.text !== null ? html`<span class="bot-text">${v.text}</span>` : null}
            ${v.custom ? html`<span class="bot-muted"> (custom payload)</span>` : null}
            ${v.image ? html`<div class="bot-muted">Image: ${v.image}</div>` : null}
            ${v.buttons.length ? html`<ul class="bot-buttons" aria-label="Buttons">
              ${v.buttons.map((b, k) => html`<li key=${k}><span class="bot-button">${b.title}</span> <span class="bot-muted">says ${b.payload}</span></li>`)}
            </ul>` : null}
            ${v.conditions.filter((c) => c.slot !== "language").map((c) => html`<div class="bot-muted">when ${c.slot} is ${c.value ?? "not set"}</div>`)}
          </li>`)}
        </ul>
      </li>`)}
    </ul>
  </div>`;
}

function stepText(s) {
  if (s.kind === "intent") return s.entities.length ? `${s.name} (${s.entities.join(", ")})` : s.name;
  if (s.kind === "slot") return `${s.name} = ${s.value ?? "not set"}`;
  if (s.kind === "loop") return s.name || "no loop (ends)";
  return s.name;
}
const STEP_LABEL = { intent: "customer", action: "bot", slot: "slot", loop: "form" };

function Steps({ steps, label }) {
  return html`<ol class="bot-steps" aria-label=${label}>
    ${steps.map((s, n) => html`<li key=${n} class=${`bot-step ${s.kind}`}>
      <span class="bot-step-kind">${STEP_LABEL[s.kind]}</span> <span>${stepText(s)}</span>
    </li>`)}
  </ol>`;
}

function Flows() {
  const { state, items, error } = store.flows.value;
  return html`<div>
    ${flowEditor.draft.value ? html`<${flowEditor.FlowEditor} />` : html`<div class="bot-actions">
      <button type="button" id="bot-new-rule" onClick=${() => flowEditor.create("rule")}>New rule</button>
      <button type="button" id="bot-new-story" class="secondary" onClick=${() => flowEditor.create("story")}>New story</button></div>`}
    ${error ? html`<p class="bot-error" role="alert">${error}</p>` : null}
    <p class="bot-muted" role="status">${state === "loading" && !items.length ? "Loading…"
      : `${plural(items.filter((f) => f.kind === "rule").length, "rule")}, ${stories(items.filter((f) => f.kind === "story").length)}`}</p>
    <ul id="bot-flows" class="bot-cards">
      ${items.map((f, n) => html`<li key=${n} class="bot-card">
        <h4><span class="bot-badge">${f.kind}</span> ${f.name}
          ${flowEditor.editable(f) ? html` <button type="button" class="bot-small secondary" aria-label=${`Edit steps of the ${f.kind} ${f.name}`}
            onClick=${() => { flowEditor.edit(f); window.scrollTo?.(0, 0); }}>Edit steps</button>` : null}</h4>
        ${f.path ? html`<div class="bot-muted"><code>${f.path}${f.line ? `:${f.line}` : ""}</code></div>` : null}
        ${f.conversation_start ? html`<div class="bot-muted">at the start of a conversation only</div>` : null}
        ${f.conditions.length ? html`<div class="bot-muted">When:</div><${Steps} steps=${f.conditions} label=${`${f.name}: conditions`} />` : null}
        <${Steps} steps=${f.steps} label=${`${f.name}: steps`} />
        ${f.wait_for_user_input ? null : html`<div class="bot-muted">then goes on without waiting for the customer</div>`}
      </li>`)}
    </ul>
  </div>`;
}

export function BotArea() {
  const section = store.section.value;
  return html`<div>
    <div class="bot-toolbar"><h2 id="bot-heading" tabindex="-1">Bot</h2>
      <span class="bot-muted">Every save is a version of the project's files (see Versions).</span></div>
    <${Summary} />
    <${Unsupported} />
    ${store.summary.value.data?.kind === "embedded" ? html`
      <${Nav} />
      ${SAVING.has(section) ? html`<${SaveBar} />` : null}
      ${section === "intents" ? (store.open.value ? html`<${Intent} />` : html`<${Intents} />`) : null}
      ${section === "responses" ? html`<${Responses} />` : null}
      ${section === "flows" ? html`<${Flows} />` : null}
      ${section === "lexicon" ? html`<${Lexicon} />` : null}
      ${section === "files" ? html`<${Files} />` : null}
      ${section === "versions" ? html`<${Versions} />` : null}
      ${section === "review" ? html`<${Review} />` : null}
      ${section === "health" ? html`<${Health} />` : null}
      ${section === "domain" ? html`<${Domain} />` : null}
      ${section === "training" ? html`<${Training} />` : null}` : null}
    ${store.summary.value.data?.kind === "rasa" ? html`<${Training} />` : null}
  </div>`;
}
