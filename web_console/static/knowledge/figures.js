// An article's figures in the Knowledge area: views (shown by the bot, suggested to an agent,
// sent by one), resolution and "not helpful" rates over the conversations it was used in, and
// those conversations, each opening in the console (only those the agent may open are listed).
import * as store from "./store.js";
import { html } from "../panel/ui.js";

export function percent(rate) {
  return rate === null || rate === undefined ? "—" : `${Math.round(rate * 100)}%`;
}

const KINDS = { shown_by_bot: "shown by the bot", suggested_to_agent: "suggested to an agent", sent_by_agent: "sent by an agent" };
const OUTCOMES = { resolved: "resolved it", not_helpful: "not helpful" };
const SOURCES = { customer: "the customer said", agent: "an agent marked", no_handoff: "no handoff after", follow_up: "a follow-up showed" };

function openConversation(id) {
  document.dispatchEvent(new CustomEvent("console:show", { detail: id }));
}

export function Figures() {
  const { state, data, error } = store.figures.value;
  if (state === "error") return html`<p class="kb-error" role="alert">Figures: ${error}</p>`;
  if (!data) return html`<p class="kb-hint" role="status">Loading the figures…</p>`;
  const f = data.figures;
  return html`<section class="kb-figures" aria-labelledby="kb-figures-heading">
    <h3 id="kb-figures-heading">How it does</h3>
    <dl class="kb-stats">
      <div><dt>Views</dt><dd id="kb-views">${f.views}</dd>
        <dd class="kb-hint">${f.shown_by_bot} shown by the bot · ${f.suggested_to_agent} suggested · ${f.sent_by_agent} sent</dd></div>
      <div><dt>Resolution rate</dt><dd id="kb-resolution">${percent(f.resolution_rate)}</dd>
        <dd class="kb-hint">${f.resolved} of ${f.conversations} conversation${f.conversations === 1 ? "" : "s"}</dd></div>
      <div><dt>“Not helpful” rate</dt><dd id="kb-not-helpful">${percent(f.not_helpful_rate)}</dd>
        <dd class="kb-hint">${f.not_helpful} of ${f.conversations}</dd></div>
    </dl>
    ${data.used_in.length ? html`<h4>Conversations</h4>
      <ul class="kb-used">
        ${data.used_in.map((u) => html`<li key=${u.conversation_id}>
          <button type="button" class="kb-link" onClick=${() => openConversation(u.conversation_id)}
            aria-label=${`Open the conversation with ${u.contact || "a visitor"}`}>${u.contact || "A visitor"}${u.subject ? `: ${u.subject}` : ""}</button>
          <span class="kb-hint"> · ${u.status} · ${u.kinds.map((k) => KINDS[k] || k).join(", ")}
            ${u.outcome ? ` · ${OUTCOMES[u.outcome]} (${SOURCES[u.outcome_source] || u.outcome_source})` : ""} · ${new Date(u.at).toLocaleString()}</span>
        </li>`)}
      </ul>` : html`<p class="kb-hint">${f.conversations ? "" : "Not used in any conversation yet."}</p>`}
    ${data.hidden ? html`<p class="kb-hint">${data.hidden} more conversation${data.hidden === 1 ? "" : "s"} you may not open.</p>` : null}
  </section>`;
}
