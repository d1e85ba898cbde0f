// The Knowledge area: the article list with its filters, one article (editor or reader), and
// the content gaps. Editors and supervisors of a brand, and admins, write its articles;
// agents read them. Built from the store's signals (store.js).
import { ArticleScreen } from "./editor.js";
import { Gaps } from "./gaps.js";
import * as store from "./store.js";
import { html, useEffect, useRef } from "../panel/ui.js";
import { percent } from "./figures.js";

const STATUS = { draft: "Draft", published: "Published" };
let seenLanguages = new Set(["en", "fr"]);
let seenCategories = new Set();

function Filters() {
  const f = store.filters.value;
  const items = store.list.value.items;
  for (const a of items) { seenLanguages.add(a.language); if (a.category) seenCategories.add(a.category); }
  const set = (name) => (event) => store.setFilter(name, event.target.value);
  return html`<form class="kb-filters" role="search" aria-label="Filter articles" onSubmit=${(e) => e.preventDefault()}>
    <label>Search <input type="search" id="kb-search" value=${f.q} onInput=${set("q")} placeholder="Title, tag, text…" /></label>
    <label>Brand <select id="kb-filter-brand" value=${f.brand} onChange=${set("brand")}>
      <option value="">All brands</option>
      ${store.brands.value.map((b) => html`<option key=${b.slug} value=${b.slug}>${b.name}</option>`)}
    </select></label>
    <label>Language <select id="kb-filter-lang" value=${f.lang} onChange=${set("lang")}>
      <option value="">All</option>
      ${[...seenLanguages].sort().map((l) => html`<option key=${l} value=${l}>${l}</option>`)}
    </select></label>
    <label>Category <select id="kb-filter-category" value=${f.category} onChange=${set("category")}>
      <option value="">All</option>
      ${[...seenCategories].sort().map((c) => html`<option key=${c} value=${c}>${c}</option>`)}
    </select></label>
    <label>Status <select id="kb-filter-status" value=${f.status} onChange=${set("status")}>
      <option value="">All</option><option value="draft">Draft</option><option value="published">Published</option>
    </select></label>
  </form>`;
}

function Item({ article }) {
  const f = article.figures;
  const open = () => store.openArticle(article.id);
  return html`<li class="kb-item">
    <button type="button" class="kb-open" data-article=${article.id} onClick=${open}>${article.title}</button>
    <span class=${`kb-status ${article.status}`}>${STATUS[article.status]}</span>
    <div class="kb-meta">
      ${article.brand} · ${article.language}${article.category ? ` · ${article.category}` : ""} · version ${article.version}
      ${article.tags.length ? html` · <span class="kb-tags">${article.tags.map((t) => `#${t}`).join(" ")}</span>` : null}
    </div>
    <div class="kb-meta">${f.views} view${f.views === 1 ? "" : "s"} · resolved ${percent(f.resolution_rate)} · not helpful ${percent(f.not_helpful_rate)}</div>
  </li>`;
}

function List() {
  const { state, error } = store.list.value;
  const items = store.shown();
  const ref = useRef(null);
  useEffect(() => {
    // Back from an article: the focus goes to its item, else to the heading.
    const id = store.takeReturn();
    if (!ref.current || store.screen.value.name !== "list") return;
    if (id === null) return;   // first shown: the focus stays on the tab
    const button = id === "gaps" ? ref.current.querySelector("#kb-gaps")
      : id && ref.current.querySelector(`[data-article="${id}"]`);
    (button || ref.current.querySelector("h2"))?.focus();
  }, []);
  return html`<div ref=${ref}>
    <div class="kb-toolbar">
      <h2 id="kb-heading" tabindex="-1">Knowledge base</h2>
      ${store.writesAny() ? html`<button type="button" id="kb-new" onClick=${() => store.openArticle(null)}>New article</button>` : null}
      ${store.writesAny() ? html`<button type="button" class="secondary" id="kb-gaps" onClick=${() => store.showGaps()}>Content gaps</button>` : null}
    </div>
    <${Filters} />
    ${error ? html`<p class="kb-error" role="alert">${error}</p>` : null}
    <p class="kb-count" role="status">${state === "loading" ? "Loading…" : `${items.length} article${items.length === 1 ? "" : "s"}`}</p>
    <ul class="kb-list" aria-labelledby="kb-heading">
      ${items.map((a) => html`<${Item} key=${a.id} article=${a} />`)}
    </ul>
  </div>`;
}

export function KnowledgeArea() {
  const s = store.screen.value;
  if (s.name === "article") return html`<${ArticleScreen} />`;
  if (s.name === "gaps") return html`<${Gaps} />`;
  return html`<${List} />`;
}
