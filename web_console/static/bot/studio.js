// The bot studio's sections (issue 19): synonyms, regexes and lookup tables; the versions of
// the project (each save, its author, message and diff; roll back to any); the YAML view of
// each file for power users; and the bar every editing section shares (the next version's
// message, and what the last save did: its version, or why it was refused, with file and
// line: nothing was written and the last good model still serves).
import { html, signal } from "../panel/ui.js";
import * as studio from "./studio_store.js";
import { focusWhen, labelled } from "./focus.js";

export function SaveBar() {
  const s = studio.saving.value;
  return html`<div class="bot-savebar">
    <label>Message for the next version (optional)
      <input id="bot-version-message" type="text" maxlength="500" value=${studio.message.value}
        onInput=${(e) => { studio.message.value = e.target.value; }} placeholder="What changes, and why" /></label>
    <div id="bot-save-status" role="status" aria-live="polite" class=${`bot-save ${s.state}`}>
      ${s.state === "refused" ? html`<strong>Refused${s.path ? html` at <code>${s.path}</code>` : ""}:</strong> ${s.text}.
        Nothing was written; the bot keeps answering with its last good model.` : s.text}
    </div>
  </div>`;
}

const KINDS = [["synonym", "Synonyms", "the canonical value", "the texts that mean it"],
  ["regex", "Regexes", "the feature's name", "its patterns"],
  ["lookup", "Lookup tables", "the table's name", "its values"]];
const listDrafts = signal({}); // "kind:name" -> text being edited
const newList = signal({ kind: "synonym", name: "", values: "" });

function lines(text) {
  return text.split("\n").map((l) => l.trim()).filter(Boolean);
}

// Removed: once its card is gone, the focus goes to its section's heading (a card's button
// that goes away dropped it to the page's body).
async function remove(item) {
  if (!await studio.save("PUT", `/console/api/bot/lists/${item.kind}`, { name: item.name, values: [] })) return;
  focusWhen(() => (document.querySelector(labelled("button", `Remove the ${item.kind} ${item.name}`))
    ? null : document.getElementById(`bot-lexicon-${item.kind}`)));
}

function ListEditor({ item }) {
  const key = `${item.kind}:${item.name}`;
  const text = listDrafts.value[key] ?? item.values.join("\n");
  const id = `bot-list-${item.kind}-${item.name.replace(/[^A-Za-z0-9_-]/g, "_")}`;
  const save = async (e) => {
    e.preventDefault();
    const saved = await studio.save("PUT", `/console/api/bot/lists/${item.kind}`, { name: item.name, values: lines(text) });
    if (saved) { const d = { ...listDrafts.value }; delete d[key]; listDrafts.value = d; }
  };
  return html`<li class="bot-card"><form onSubmit=${save} aria-label=${`${item.kind} ${item.name}`}>
    <label for=${id}><strong>${item.name}</strong> <span class="bot-muted">(one a line)</span></label>
    <textarea id=${id} rows=${Math.min(8, Math.max(2, text.split("\n").length))} value=${text}
      onInput=${(e) => { listDrafts.value = { ...listDrafts.value, [key]: e.target.value }; }}></textarea>
    <div class="bot-actions">
      <button type="submit" class="bot-small">Save</button>
      <button type="button" class="bot-small secondary" aria-label=${`Remove the ${item.kind} ${item.name}`}
        onClick=${() => remove(item)}>Remove</button>
    </div>
  </form></li>`;
}

export function Lexicon() {
  const { state, data, error } = studio.lexicon.value;
  const n = newList.value;
  const add = async (e) => {
    e.preventDefault();
    const saved = await studio.save("PUT", `/console/api/bot/lists/${n.kind}`, { name: n.name.trim(), values: lines(n.values) });
    if (saved) newList.value = { kind: n.kind, name: "", values: "" };
  };
  const [, , nameHelp, valuesHelp] = KINDS.find(([k]) => k === n.kind);
  return html`<div id="bot-lexicon">
    ${error ? html`<p class="bot-error" role="alert">${error}</p>` : null}
    ${state === "loading" && !data ? html`<p class="bot-muted" role="status">Loading…</p>` : null}
    <form class="bot-editor" onSubmit=${add} aria-label="Add a synonym, regex or lookup table">
      <h4>Add</h4>
      <label>Kind <select value=${n.kind} onChange=${(e) => { newList.value = { ...n, kind: e.target.value }; }}>
        ${KINDS.map(([k, label]) => html`<option key=${k} value=${k}>${label.replace(/s$/, "")}</option>`)}
      </select></label>
      <label>Name (${nameHelp}) <input type="text" value=${n.name} onInput=${(e) => { newList.value = { ...n, name: e.target.value }; }} /></label>
      <label>Values (${valuesHelp}), one a line
        <textarea rows="3" value=${n.values} onInput=${(e) => { newList.value = { ...n, values: e.target.value }; }}></textarea></label>
      <div class="bot-actions"><button type="submit">Add</button></div>
    </form>
    ${data ? KINDS.map(([kind, label]) => {
      const items = data.lists.filter((l) => l.kind === kind);
      return html`<section key=${kind} aria-labelledby=${`bot-lexicon-${kind}`}>
        <h4 id=${`bot-lexicon-${kind}`} tabindex="-1">${label} (${items.length})</h4>
        <ul class="bot-cards bot-lists">${items.map((item) => html`<${ListEditor} key=${item.name} item=${item} />`)}</ul>
      </section>`;
    }) : null}
  </div>`;
}

function Diff({ text }) {
  return html`<pre class="bot-diff">${text.replace(/\n$/, "").split("\n").map((line, n) => html`<span key=${n} class=${
    line.startsWith("+++") || line.startsWith("---") ? "file" : line.startsWith("+") ? "add" : line.startsWith("-") ? "del" : line.startsWith("@@") ? "hunk" : ""
  }>${line || " "}</span>`)}</pre>`;
}

export function Versions() {
  const { state, items, error } = studio.versions.value;
  const shown = studio.shownVersion.value;
  return html`<div id="bot-versions">
    ${error ? html`<p class="bot-error" role="alert">${error}</p>` : null}
    <p class="bot-muted" role="status">${state === "loading" && !items.length ? "Loading…"
      : items.length ? `${items.length} version${items.length === 1 ? "" : "s"}, newest first` : "No version yet: every save from the console will be one."}</p>
    <ol class="bot-cards bot-version-list" reversed>
      ${items.map((v) => html`<li key=${v.id} class="bot-card" data-version=${v.id}>
        <h4>Version ${v.id}: ${v.message}</h4>
        <div class="bot-muted">${v.author}, <time datetime=${v.created_at}>${new Date(v.created_at).toLocaleString()}</time>${" · "}${v.summary}${v.restores ? ` (restores version ${v.restores})` : ""} · ${v.paths.join(", ")}</div>
        <div class="bot-actions">
          <button type="button" class="bot-small secondary" aria-expanded=${String(shown?.id === v.id)}
            aria-controls=${`bot-diff-${v.id}`}
            onClick=${() => (shown?.id === v.id ? (studio.shownVersion.value = null) : studio.showVersion(v.id))}>
            ${shown?.id === v.id ? "Hide the diff" : "Show the diff"}</button>
          <button type="button" class="bot-small secondary" aria-label=${`Roll back to this version (${v.id})`}
            onClick=${() => studio.save("POST", `/console/api/bot/versions/${v.id}/rollback`)}>Roll back to this version</button>
        </div>
        ${shown?.id === v.id ? html`<div id=${`bot-diff-${v.id}`}>
          ${shown.error ? html`<p class="bot-error" role="alert">${shown.error}</p>` : null}
          ${shown.data ? shown.data.files.map((f) => html`<${Diff} key=${f.path} text=${f.diff} />`) : html`<p class="bot-muted">Loading…</p>`}
        </div>` : null}
      </li>`)}
    </ol>
  </div>`;
}

export function Files() {
  const { items, open, text, error } = studio.files.value;
  const save = async (e) => {
    e.preventDefault();
    await studio.save("PUT", studio.fileUrl(open), { text });
  };
  return html`<div id="bot-files">
    <p class="bot-muted">The project's files as YAML, for what the forms do not edit (rules, stories, slots, forms).
      A save is checked as the engine loads the project: a mistake is refused with its file and line.</p>
    <label>File <select id="bot-file" value=${open || ""} onChange=${(e) => e.target.value && studio.openFile(e.target.value)}>
      <option value="">Choose a file…</option>
      ${items.map((p) => html`<option key=${p} value=${p}>${p}</option>`)}
    </select></label>
    ${error ? html`<p class="bot-error" role="alert">${error}</p>` : null}
    ${open ? html`<form onSubmit=${save} aria-label=${`Edit ${open}`}>
      <label for="bot-file-text">${open}</label>
      <textarea id="bot-file-text" class="bot-yaml" rows="22" spellcheck="false" wrap="off" value=${text}
        onInput=${(e) => { studio.files.value = { ...studio.files.value, text: e.target.value }; }}></textarea>
      <div class="bot-actions"><button type="submit" id="bot-file-save">Save file</button></div>
    </form>` : null}
  </div>`;
}
