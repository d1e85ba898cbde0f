// The handoff summary at the top of the context panel: one paragraph on what the customer
// wants, what the bot tried and why it stopped, then the key facts, each a button that shows
// the message it came from in the transcript. The extractive summary comes with the context;
// a chat model's (SWITCHBOARD_LLM_URL) replaces the paragraph when it arrives, the extractive
// one staying a click away. `show(seq)` scrolls the transcript to a message and marks it
// (context.js's showMessage, passed in so the two modules do not import each other).
import { context, modelSummary } from "./store.js";
import { html } from "./ui.js";

const KINDS = { order: "order", email: "email", amount: "amount", date: "date" };

function Fact({ fact, show }) {
  const label = fact.kind === "order" ? `#${fact.value}` : fact.value;
  return html`<li>
    <button type="button" class=${`cp-fact cp-fact-${fact.kind}`} onClick=${() => show(fact.seq)}
        title=${`“${fact.text}”, in message ${fact.seq}: show it in the transcript`}
        aria-label=${`${KINDS[fact.kind] || fact.kind} ${label}: show message ${fact.seq}`}>
      <span class="cp-fact-kind">${KINDS[fact.kind] || fact.kind}</span> ${label}
    </button>
  </li>`;
}

export function HandoffSummary({ show }) {
  const data = context.value.data;
  if (!data || !data.summary) return null;
  const s = data.summary;
  const { state, abstractive } = modelSummary.value;
  const extractive = [s.wants, s.tried, s.stopped, s.mood].filter(Boolean).join(" ");
  return html`<section class="cp-section cp-summary" aria-labelledby="cp-summary">
    <h3 id="cp-summary">Handoff summary
      ${abstractive
        ? html` <span class="chip cp-by" title="written by a language model from this conversation">by ${abstractive.model}</span>`
        : null}
    </h3>
    ${abstractive
      ? html`<p class="cp-summary-text">${abstractive.text}</p>
        <details class="cp-extractive"><summary>From the messages themselves</summary>
          <p class="cp-summary-text">${extractive}</p></details>`
      : html`<p class="cp-summary-text">${extractive}</p>`}
    ${s.facts.length
      ? html`<ul class="cp-fact-list" aria-label="Key facts, each shows its message">
          ${s.facts.map((f) => html`<${Fact} key=${`${f.kind}:${f.value}`} fact=${f} show=${show} />`)}
        </ul>`
      : null}
    <p class="cp-muted cp-model-state" aria-live="polite">${
      state === "asking" && !abstractive ? "Asking the language model for a summary…"
      : state === "unavailable" && !abstractive ? "The language model did not answer; this summary is from the messages."
      : ""}</p>
  </section>`;
}
