// The Bot area's "Review" section (issue 19): the trainer review inbox. Every customer
// message the bot understood poorly, handed off, or that an agent flagged; filters; each
// item with its prediction, ranking, why it is here and what happened next; the trainer
// confirms the intent, picks another (or a new one), marks entities (select words in the
// message's text box, by mouse or Shift+arrows) or marks it "not for the bot"; near-duplicates
// (one group) are selected together for bulk actions; "Retrain" is one click. Every value is
// rendered as text.
import * as store from "./review_store.js";
import { html, useEffect, useRef } from "../panel/ui.js";
import { focusWhen } from "./focus.js";

const REASON = { low_confidence: "low confidence", fallback: "fallback", handoff: "handed off", flagged: "flagged" };
// "Not understood": nothing to confirm (a trainer picks the intent, or "not for the bot").
const NOT_UNDERSTOOD = new Set(["nlu_fallback", "unknown"]);
const WHO = { customer: "Customer", bot: "Bot", agent: "Agent", system: "Switchboard" };
const pct = (v) => `${Math.round(v * 100)} %`;
const day = (iso) => new Date(iso).toLocaleString([], { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });

function Filters() {
  const f = store.filters.value;
  const set = (name) => (e) => store.setFilter(name, e.target.value);
  const text = (name, label, placeholder) => html`<label>${label}
    <input type="text" id=${`review-${name}`} value=${f[name]} placeholder=${placeholder}
      onChange=${set(name)} /></label>`;
  return html`<form class="review-filters" role="search" aria-label="Filter the review inbox" onSubmit=${(e) => e.preventDefault()}>
    <label>Status <select id="review-status" value=${f.status} onChange=${set("status")}>
      <option value="open">To review</option><option value="reviewed">Reviewed</option>
      <option value="ignored">Not for the bot</option><option value="all">All</option></select></label>
    <label>Why <select id="review-reason" value=${f.reason} onChange=${set("reason")}>
      <option value="">Any reason</option><option value="low_confidence">Low confidence</option>
      <option value="fallback">Fallback</option><option value="handoff">Handed off</option>
      <option value="flagged">Flagged by an agent</option></select></label>
    <label>Confidence <select id="review-band" value=${f.band} onChange=${set("band")}>
      <option value="">Any</option><option value="low">Low</option><option value="medium">Medium</option>
      <option value="high">High</option></select></label>
    ${store.brands.value.length > 1 ? html`<label>Brand <select id="review-brand" value=${f.brand} onChange=${set("brand")}>
      <option value="">All yours</option>
      ${store.brands.value.map((b) => html`<option key=${b.slug} value=${b.slug}>${b.name}</option>`)}</select></label>` : null}
    ${text("intent", "Intent", "any")}
    ${text("language", "Language", "en, fr…")}
    ${text("channel", "Channel", "webchat, email…")}
    <label>From <input type="date" id="review-from" value=${f.from} onChange=${set("from")} /></label>
    <label>To <input type="date" id="review-to" value=${f.to} onChange=${set("to")} /></label>
    <button type="button" class="secondary" onClick=${store.resetFilters}>Clear filters</button>
  </form>`;
}

function IntentPicker({ id, value, onInput, label }) {
  return html`<label class="review-intent">${label}
    <input type="text" id=${id} list="review-intents" value=${value} autocomplete="off"
      onInput=${(e) => onInput(e.target.value)} placeholder="an intent, or a new one" /></label>`;
}

function Bulk() {
  const chosen = [...store.selected.value];
  const input = useRef(null);
  const count = chosen.length;
  const all = store.page.value.items.length > 0 && count === store.page.value.items.length;
  return html`<div class="review-bulk" role="group" aria-label="Selected messages">
    <label class="review-check"><input type="checkbox" id="review-select-all" checked=${all}
      onChange=${(e) => store.selectAll(e.target.checked)} /> Select all shown</label>
    <span class="bot-muted" id="review-selected">${count} selected</span>
    <label class="review-intent">Intent
      <input type="text" id="review-bulk-intent" list="review-intents" autocomplete="off" ref=${input}
        placeholder="an intent, or a new one" /></label>
    <button type="button" id="review-bulk-label" disabled=${!count || store.busy.value}
      onClick=${async () => {
        const name = (input.current?.value || "").trim();
        if (!name) { store.notice.value = { text: "Name the intent first.", error: true }; input.current?.focus(); return; }
        if (await store.label(chosen, name)) input.current.value = "";
      }}>Label selected</button>
    <button type="button" class="secondary" id="review-bulk-ignore" disabled=${!count || store.busy.value}
      onClick=${() => store.label(chosen, null)}>Not for the bot</button>
    <button type="button" id="review-retrain" aria-disabled=${store.busy.value ? "true" : undefined}
      onClick=${() => { if (!store.busy.value) store.retrain(); }}>Retrain</button>
  </div>`;
}

function Next({ next }) {
  const said = next.reply ? `${WHO[next.reply_author] || next.reply_author} replied: “${next.reply.slice(0, 140)}”` : "No reply yet";
  return html`<p class="review-next"><span class="bot-muted">Next:</span> ${said}${next.handoff_reason ? ` · handed to a person (${next.handoff_reason.replace(/_/g, " ")})` : ""} · now ${next.status}</p>`;
}

// One item labelled from its own buttons leaves the inbox, and the focus with it: it goes to
// the item now in its place (its checkbox), or the one before it, or "Select all shown".
async function labelOne(id, intent) {
  const row = `.review-list > li[data-message="${CSS.escape(String(id))}"]`;
  const rows = [...document.querySelectorAll(".review-list > li[data-message]")];
  const at = rows.findIndex((li) => li.matches(row));
  if (!await store.label([id], intent)) return;
  focusWhen(() => {
    if (document.querySelector(row)) return null;
    const boxes = document.querySelectorAll(".review-list > li[data-message] .review-select");
    return boxes[Math.min(Math.max(at, 0), boxes.length - 1)] || document.getElementById("review-select-all");
  }, "#review-select-all");
}

function Item({ entry }) {
  const { item, group } = entry;
  const id = item.message_id;
  const similar = store.groupSize(group);
  const checked = store.selected.value.has(id);
  return html`<li class=${`review-item${checked ? " selected" : ""}`} data-message=${id} aria-labelledby=${`review-text-${id}`}>
    <input type="checkbox" class="review-select" id=${`review-select-${id}`} checked=${checked}
      aria-label=${`Select: ${item.text.slice(0, 60)}`} onChange=${(e) => store.toggle(id, e.target.checked)} />
    <div class="review-body">
      <p class="review-text" id=${`review-text-${id}`} lang=${item.language || undefined}>${item.text}</p>
      <p class="review-meta">
        <span class=${`bot-badge band-${item.band}`}>${item.intent} ${pct(item.confidence)}</span>
        ${item.reasons.map((r) => html`<span key=${r} class=${`bot-badge reason-${r}`}>${REASON[r] || r}</span>`)}
        ${item.verdict ? html`<span class="bot-badge verdict">${item.verdict.intent ? `→ ${item.verdict.intent}` : "not for the bot"} (${item.verdict.reviewer})</span>` : null}
        <span class="bot-muted">${item.channel} · ${item.language || "?"} · ${day(item.at)}</span>
      </p>
      ${item.flags.map((f, n) => html`<p key=${n} class="review-flag">Flagged by ${f.agent}${f.intent ? ` (meant ${f.intent})` : ""}${f.note ? `: ${f.note}` : ""}</p>`)}
      <${Next} next=${item.next} />
      <div class="review-actions">
        ${NOT_UNDERSTOOD.has(item.intent) ? null : html`<button type="button" class="review-confirm"
          onClick=${() => labelOne(id, item.intent)} disabled=${store.busy.value}>Confirm ${item.intent}</button>`}
        <button type="button" class="secondary review-open" aria-expanded=${String(store.open.value?.id === id)}
          onClick=${() => store.openItem(id)}>Review…</button>
        <button type="button" class="secondary review-ignore" onClick=${() => labelOne(id, null)} disabled=${store.busy.value}>Not for the bot</button>
        ${similar > 1 ? html`<button type="button" class="secondary review-similar" onClick=${() => store.selectGroup(group)}>Select ${similar} similar</button>` : null}
      </div>
    </div>
  </li>`;
}

function Conversation({ data, whole }) {
  const lines = data.conversation;
  const at = lines.findIndex((l) => l.id === data.item.message_id);
  const shown = whole ? lines : lines.slice(Math.max(0, at - 3), at + 4);
  return html`<section aria-labelledby="review-conversation-heading">
    <h4 id="review-conversation-heading">The conversation ${whole ? "" : "around it"}</h4>
    <ol class="review-conversation">
      ${shown.map((l) => html`<li key=${l.id} class=${`review-line ${l.author}${l.id === data.item.message_id ? " current" : ""}`}>
        <span class="review-who">${WHO[l.author] || l.author}</span> <span>${l.text}</span>
        ${l.intent ? html` <span class="bot-muted">(${l.intent} ${pct(l.confidence || 0)})</span>` : null}
      </li>`)}
    </ol>
    ${lines.length > shown.length || whole ? html`<button type="button" class="secondary" id="review-whole"
      onClick=${() => store.showWhole(!whole)}>${whole ? "Show only around it" : `Open the whole conversation (${lines.length} messages)`}</button>` : null}
  </section>`;
}

function Detail() {
  const open = store.open.value;
  const heading = useRef(null);
  const box = useRef(null);
  const entity = useRef(null);
  const intent = useRef("");
  const spans = useRef([]);
  useEffect(() => { heading.current?.focus(); spans.current = []; intent.current = ""; }, [open?.id]);
  if (!open) return null;
  const { data, state, error, whole } = open;
  const item = data?.item;
  const mark = () => {
    const el = box.current, name = (entity.current?.value || "").trim();
    if (!el || el.selectionStart === el.selectionEnd) { store.notice.value = { text: "Select the words in the message first.", error: true }; return; }
    if (!/^[A-Za-z0-9_-]+$/.test(name)) { store.notice.value = { text: "Name the entity (letters, digits, _ and -).", error: true }; entity.current?.focus(); return; }
    spans.current = [...spans.current.filter((s) => s.end <= el.selectionStart || s.start >= el.selectionEnd),
      { start: el.selectionStart, end: el.selectionEnd, entity: name, value: "" }];
    store.notice.value = { text: `Marked “${item.text.slice(el.selectionStart, el.selectionEnd)}” as ${name}.`, error: false };
    store.open.value = { ...open }; // redraw the marks
  };
  return html`<aside class="review-detail" aria-labelledby="review-detail-heading">
    <div class="review-detail-head">
      <h3 id="review-detail-heading" tabindex="-1" ref=${heading}>Review message</h3>
      <button type="button" class="secondary" id="review-close" onClick=${() => {
        // Back to the item's own button: keyboard users keep their place in the list.
        const back = document.querySelector(`.review-item[data-message="${open.id}"] .review-open`);
        store.closeItem();
        back?.focus();
      }}>Close</button>
    </div>
    ${state === "loading" ? html`<p role="status" class="bot-muted">Loading…</p>` : null}
    ${error ? html`<p role="alert" class="bot-error">${error}</p>` : null}
    ${item ? html`
      <label class="review-textbox">The message (select words to mark an entity)
        <textarea readonly id="review-message" ref=${box} rows="3">${item.text}</textarea></label>
      <div class="review-mark">
        <label>Entity <input type="text" id="review-entity" ref=${entity} placeholder="order_number" /></label>
        <button type="button" class="secondary" id="review-mark" onClick=${mark}>Mark selected words</button>
      </div>
      ${spans.current.length ? html`<ul class="review-spans" aria-label="Marked entities">
        ${spans.current.map((s, n) => html`<li key=${n}><mark>${item.text.slice(s.start, s.end)}</mark> ${s.entity}</li>`)}</ul>` : null}
      <h4>What the bot made of it</h4>
      <ol class="review-ranking" aria-label="Intent ranking">
        ${item.ranking.length ? item.ranking.slice(0, 5).map((r) => html`<li key=${r.intent}>
          <button type="button" class="bot-link" onClick=${() => store.label([item.message_id], r.intent, spans.current)}
            aria-label=${`Label as ${r.intent}`}>${r.intent}</button> <span class="bot-muted">${pct(r.confidence)}</span></li>`)
          : html`<li>${item.intent} ${pct(item.confidence)}</li>`}
      </ol>
      ${item.scope_reasons.length ? html`<p class="bot-muted">Out of scope: ${item.scope_reasons.join("; ")}</p>` : null}
      ${item.entities.length ? html`<p class="bot-muted">Entities found: ${item.entities.map((e) => `${e.entity}=${e.value}`).join(", ")}</p>` : null}
      <form class="review-label" onSubmit=${(e) => {
        e.preventDefault();
        const name = e.target.elements["review-detail-intent"].value.trim();
        if (!name) { store.notice.value = { text: "Name the intent first.", error: true }; return; }
        store.label([item.message_id], name, spans.current);
      }}>
        <${IntentPicker} id="review-detail-intent" label="Intent" value=${intent.current} onInput=${(v) => { intent.current = v; }} />
        <button type="submit" id="review-detail-label" disabled=${store.busy.value}>Label</button>
        <button type="button" class="secondary" onClick=${() => store.label([item.message_id], null)}>Not for the bot</button>
      </form>
      <${Conversation} data=${data} whole=${whole} />` : null}
  </aside>`;
}

export function Review() {
  useEffect(() => { store.enter(); }, []);
  const { state, items, more, intents, error } = store.page.value;
  const notice = store.notice.value;
  return html`<div class="review" id="bot-review">
    <datalist id="review-intents">${intents.map((i) => html`<option key=${i} value=${i} />`)}</datalist>
    <${Filters} />
    <${Bulk} />
    <p class=${`review-notice${notice.error ? " bot-error" : ""}`} role="status" aria-live="polite" id="review-notice">${notice.text}</p>
    ${error ? html`<p class="bot-error" role="alert">${error}</p>` : null}
    <div class="review-columns">
      <div class="review-list-wrap">
        <p class="bot-muted" id="review-count">${state === "loading" && !items.length ? "Loading…"
          : `${items.length} message${items.length === 1 ? "" : "s"}${more ? " (more below)" : ""}`}</p>
        <ul class="review-list" aria-label="Messages to review">
          ${items.map((entry) => html`<${Item} key=${entry.item.message_id} entry=${entry} />`)}
        </ul>
        ${more ? html`<button type="button" class="secondary" onClick=${() => store.load(true)}>Show more</button>` : null}
      </div>
      <${Detail} />
    </div>
  </div>`;
}
