// The knowledge-base articles used in this conversation, from the context's `articles`
// (GET /console/api/conversations/{id}/context): what the bot showed the customer (and
// whether they said it answered), what was suggested to or sent by an agent, in order.
// Titles are text nodes (htm never parses them as markup); a link is kept only when it is
// a help center path.
import { when } from "./format.js";
import { html } from "./ui.js";

const KINDS = {
  shown_by_bot: "shown by the bot", suggested_to_agent: "suggested to an agent",
  sent_by_agent: "sent by an agent",
};
const VERDICTS = { resolved: "resolved it", not_helpful: "did not help" };
const SOURCES = {
  customer: "the customer said so", agent: "an agent marked it",
  follow_up: "the customer's next message showed it", no_handoff: "ended without a handoff",
};

function Verdict({ article }) {
  if (!article.outcome) return html`<span class="cp-muted">no answer yet</span>`;
  return html`<span class=${`kb-verdict ${article.outcome}`}>${VERDICTS[article.outcome] || article.outcome}</span>
    ${article.source ? html` <span class="cp-muted">(${SOURCES[article.source] || article.source})</span>` : null}`;
}

export function ShownArticles({ articles }) {
  const used = (articles || []).filter((a) => a.kind !== "suggested_to_agent");
  if (!used.length) return null;
  return html`<section class="cp-section kb-shown" aria-labelledby="cp-shown-articles">
    <h3 id="cp-shown-articles">Articles shown (${used.length})</h3>
    <ul class="cp-list">
      ${used.map((a) => html`<li key=${`${a.article_id}:${a.message_id}:${a.kind}`} class="kb-shown-item">
        ${/^\/help\//.test(a.url)
          ? html`<a href=${a.url} target="_blank" rel="noopener noreferrer">${a.title}</a>`
          : html`<strong>${a.title}</strong>`}
        <div class="cp-muted">${KINDS[a.kind] || a.kind}${a.shown_at ? ` · ${when(a.shown_at)}` : ""}</div>
        <div><${Verdict} article=${a} /></div>
      </li>`)}
    </ul>
  </section>`;
}
