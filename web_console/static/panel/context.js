// The context panel's sections about the customer: who they are, why the bot handed over
// (the message that made it, shown in the transcript on a click), the articles that may
// answer them (articles.js), how their mood went, what they asked before, what they ordered
// and how they rated this conversation. All read the store's `context` signal.
import { SuggestedArticles } from "./articles.js";
import { amount, day, reasonText, signed, when } from "./format.js";
import { context } from "./store.js";
import { LookAlikes, ProfileDetails, ProfileEditor } from "./profile.js";
import { ShownArticles } from "./shown_articles.js";
import { HandoffSummary } from "./summary.js";
import { html } from "./ui.js";

// Scroll the transcript (console.js's #messages) to a message and mark it.
export function showMessage(seq) {
  for (const old of document.querySelectorAll("#messages li.highlight")) old.classList.remove("highlight");
  const item = document.querySelector(`#messages li[data-seq="${Number(seq)}"]`);
  if (!item) return;
  item.classList.add("highlight");
  item.tabIndex = -1;
  item.scrollIntoView({ block: "center", behavior: "smooth" });
  item.focus({ preventScroll: true });
}

function Section({ id, title, children }) {
  return html`<section class="cp-section" aria-labelledby=${id}>
    <h3 id=${id}>${title}</h3>
    ${children}
  </section>`;
}

function CustomerCard({ customer }) {
  const name = customer.name || customer.email || "Visitor";
  return html`<${Section} id="cp-customer" title="Customer">
    <p class="cp-name">
      <strong>${name}</strong>
      ${customer.verified === false ? html` <span class="badge unverified" title="typed by the visitor, not verified">unverified</span>` : null}
      ${customer.vip ? html` <span class="badge vip">VIP</span>` : null}
      ${customer.tier ? html` <span class="badge tier">${customer.tier}</span>` : null}
    </p>
    ${customer.name && customer.email ? html`<p class="cp-email">${customer.email}</p>` : null}
    <p class="cp-facts">Value ${amount(customer.value)}${customer.since ? ` · customer since ${day(customer.since)}` : ""}</p>
    <${ProfileDetails} customer=${customer} />
    <ul class="cp-identities" aria-label="Identities">
      ${customer.identities.map((i) => html`<li key=${`${i.channel}:${i.external_id}`}>
        <span class="chip">${i.channel}</span> <span class="cp-external">${i.external_id}</span>
        ${i.since ? html` <span class="cp-muted">since ${day(i.since)}</span>` : null}
      </li>`)}
    </ul>
    <${LookAlikes} customer=${customer} />
    <${ProfileEditor} customer=${customer} />
  <//>`;
}

function Handoff({ handoff }) {
  if (!handoff.reason) {
    return html`<${Section} id="cp-handoff" title="Handoff"><p class="cp-muted">Not handed over.</p><//>`;
  }
  return html`<${Section} id="cp-handoff" title="Handoff">
    <p>Why: <strong>${reasonText(handoff.reason)}</strong>${handoff.at ? html` <span class="cp-muted">· ${when(handoff.at)}</span>` : null}</p>
    ${handoff.seq ? html`<button type="button" class="cp-trigger" onClick=${() => showMessage(handoff.seq)}
        title="Show this message in the transcript">
      <span class="cp-quote">“${handoff.text || "(a message without text)"}”</span>
      <span class="cp-link">Show in transcript</span>
    </button>` : null}
  <//>`;
}

// The customer's sentiment message by message (-1 … +1), as bars above or below a middle
// line, with the figures in words for a screen reader.
function Sentiment({ points }) {
  if (!points.length) {
    return html`<${Section} id="cp-sentiment" title="Sentiment"><p class="cp-muted">No scored message yet.</p><//>`;
  }
  const shown = points.slice(-30);
  const first = shown[0].sentiment, last = shown[shown.length - 1].sentiment;
  const trend = shown.length < 2 || Math.abs(last - first) < 0.1 ? "steady" : last > first ? "improving" : "worsening";
  const words = `Sentiment of the customer's last ${shown.length} messages: ${shown.map((p) => signed(p.sentiment)).join(", ")}; ${trend}.`;
  return html`<${Section} id="cp-sentiment" title="Sentiment">
    <div class="cp-spark" role="img" aria-label=${words}>
      ${shown.map((p) => {
        const v = Math.max(-1, Math.min(1, p.sentiment));
        const kind = v > 0.05 ? "pos" : v < -0.05 ? "neg" : "neu";
        const size = `${Math.max(4, Math.abs(v) * 50)}%`;
        return html`<span key=${p.seq} class="cp-bar" title=${`message ${p.seq}: ${signed(v)}`}>
          <span class=${`cp-fill ${kind}`} style=${kind === "neg" ? { top: "50%", height: size } : { bottom: kind === "pos" ? "50%" : "48%", height: size }}></span>
        </span>`;
      })}
    </div>
    <p class="cp-muted">Latest ${signed(last)} · ${trend}</p>
  <//>`;
}

function Past({ conversations }) {
  return html`<${Section} id="cp-past" title=${`Previous conversations (${conversations.length})`}>
    ${conversations.length ? html`<ul class="cp-list">
      ${conversations.map((c) => html`<li key=${c.id} class="cp-past-item">
        <span class="chip">${c.channel}</span> <span class=${`status ${c.status}`}>${c.status}</span>
        <strong> ${c.subject || (c.intent && c.intent !== "unknown" ? c.intent.replace(/_/g, " ") : "(no subject)")}</strong>
        ${c.rating ? html` <span class="chip cp-rating" title="the customer's rating">rated ${c.rating}/5</span>` : null}
        <div class="cp-muted">${when(c.created_at)} · ${c.assignee || "no agent"} · ${c.messages} message${c.messages === 1 ? "" : "s"}${c.handoff_reason ? ` · ${reasonText(c.handoff_reason)}` : ""}</div>
      </li>`)}
    </ul>` : html`<p class="cp-muted">None.</p>`}
  <//>`;
}

// This conversation's rating, once it was resolved and the customer asked.
function Rating({ csat }) {
  if (!csat) return null;
  return html`<${Section} id="cp-csat" title="Customer rating">
    ${csat.rating
      ? html`<p class="cp-csat">
          <strong class="cp-stars" aria-hidden="true">${"★".repeat(csat.rating)}${"☆".repeat(5 - csat.rating)}</strong>
          <strong> ${csat.rating}/5</strong>${csat.answered_at ? html` <span class="cp-muted">· ${when(csat.answered_at)}</span>` : null}
          ${csat.comment ? html`<span class="cp-quote">“${csat.comment}”</span>` : null}
        </p>`
      : html`<p class="cp-csat cp-muted">Asked${csat.asked_at ? ` ${when(csat.asked_at)}` : ""}; no answer yet.</p>`}
  <//>`;
}

function Orders({ orders }) {
  return html`<${Section} id="cp-orders" title=${`Orders (${orders.length})`}>
    ${orders.length ? html`<ul class="cp-list">
      ${orders.map((o) => html`<li key=${o.number} class="cp-order">
        <strong>#${o.number}</strong> <span class=${`status ${o.status}`}>${o.status}</span>
        <div class="cp-muted">
          ${o.carrier ? `${o.carrier}${o.tracking_number ? ` ${o.tracking_number}` : ""}` : "no carrier yet"}
          ${o.delivered_on ? ` · delivered ${day(o.delivered_on)}` : o.estimated_delivery ? ` · expected ${day(o.estimated_delivery)}` : ""}
        </div>
      </li>`)}
    </ul>` : html`<p class="cp-muted">None.</p>`}
  <//>`;
}

export function CustomerContext() {
  const { state, data, error } = context.value;
  if (!data) {
    return state === "error"
      ? html`<p class="cp-error" role="alert">Could not load the context: ${error}</p>`
      : html`<p class="cp-muted">Loading the customer…</p>`;
  }
  return html`
    ${state === "error" ? html`<p class="cp-error" role="alert">Could not refresh: ${error}</p>` : null}
    <${HandoffSummary} show=${showMessage} />
    <${Rating} csat=${data.csat} />
    <${CustomerCard} customer=${data.customer} />
    <${Handoff} handoff=${data.handoff} />
    <${ShownArticles} articles=${data.articles} />
    <${SuggestedArticles} />
    <${Sentiment} points=${data.sentiment} />
    <${Past} conversations=${data.conversations} />
    <${Orders} orders=${data.orders} />`;
}
