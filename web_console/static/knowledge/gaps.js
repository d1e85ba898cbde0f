// Content gaps: groups of customer questions no article answers well (handed over, or an
// article was "not helpful"), the largest first, each with its count, up to three examples
// and "Write an article", which opens the editor with the question as the title.
import * as store from "./store.js";
import { html, useEffect, useRef } from "../panel/ui.js";

const REASONS = {
  kb_not_helpful: "an article did not help",
  kb_no_answer: "no article came close",
  out_of_scope: "no intent covered it",
  not_helpful: "judged not helpful",
};

export function Gaps() {
  const g = store.gaps.value;
  const writable = store.brands.value.filter((b) => b.writer);
  const heading = useRef(null);
  useEffect(() => { heading.current?.focus(); }, []);
  return html`<section class="kb-gaps" aria-labelledby="kb-gaps-heading">
    <div class="kb-toolbar">
      <button type="button" class="secondary" onClick=${store.closeArticle}>← Articles</button>
      <h2 id="kb-gaps-heading" tabindex="-1" ref=${heading}>Content gaps</h2>
    </div>
    <p class="kb-hint">Questions customers asked that no published article answers well, grouped by meaning. Write the article; the gap closes once it is published.</p>
    <form class="kb-filters" aria-label="Gaps of" onSubmit=${(e) => e.preventDefault()}>
      <label>Brand <select id="kb-gaps-brand" value=${g.brand} onChange=${(e) => store.showGaps(e.target.value, g.lang)}>
        ${writable.map((b) => html`<option key=${b.slug} value=${b.slug}>${b.name}</option>`)}
      </select></label>
      <label>Language <select id="kb-gaps-lang" value=${g.lang} onChange=${(e) => store.showGaps(g.brand, e.target.value)}>
        <option value="">All</option><option value="en">en</option><option value="fr">fr</option>
      </select></label>
    </form>
    ${g.error ? html`<p class="kb-error" role="alert">${g.error}</p>` : null}
    <p role="status" class="kb-count">${g.state === "loading" ? "Looking for gaps…" : `${g.items.length} gap${g.items.length === 1 ? "" : "s"}`}</p>
    <ol class="kb-gap-list">
      ${g.items.map((gap, i) => html`<li key=${`${gap.language}:${gap.question}`} class="kb-gap" aria-labelledby=${`kb-gap-${i}`}>
        <h3 id=${`kb-gap-${i}`}><span class="kb-gap-count">${gap.count} question${gap.count === 1 ? "" : "s"}</span> “${gap.question}”</h3>
        <p class="kb-hint">${gap.language || "language unknown"} · ${Object.entries(gap.reasons).map(([r, n]) => `${n} ${REASONS[r] || r}`).join(" · ")} · latest ${new Date(gap.latest).toLocaleString()}</p>
        <ul class="kb-examples" aria-label="Examples">
          ${gap.examples.map((e) => html`<li key=${e.conversation_id + e.text}>“${e.text}”</li>`)}
        </ul>
        <button type="button" class="kb-write" onClick=${() => store.writeFor(gap)}
          aria-label=${`Write an article for “${gap.question}”`}>Write an article</button>
      </li>`)}
    </ol>
  </section>`;
}
