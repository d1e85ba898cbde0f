// One article: the editor for those who write its brand's articles (title, Markdown body,
// category, tags, language, brand, status), with the server's sanitised preview beside it,
// publish / unpublish, delete with a confirmation, its versions and its figures; the same
// article read-only for the others. An API refusal is shown next to the field it names.
import { Figures } from "./figures.js";
import { sanitisedNodes } from "./sanitised.js";
import * as store from "./store.js";
import { html, useEffect, useRef } from "../panel/ui.js";

function when(iso) {
  return iso ? new Date(iso).toLocaleString() : "";
}

function Field({ name, label, hint, children }) {
  const error = store.open.value.errors[name];
  return html`<div class=${`kb-field kb-field-${name}`}>
    <label for=${`kb-${name}`}>${label}</label>
    ${children}
    ${hint ? html`<span class="kb-hint" id=${`kb-${name}-hint`}>${hint}</span>` : null}
    <span class="kb-field-error" id=${`kb-${name}-error`} role=${error ? "alert" : null}>${error || ""}</span>
  </div>`;
}

// aria-describedby and aria-invalid for a field's input, from the store's errors.
function described(name, hint) {
  const error = store.open.value.errors[name];
  return {
    id: `kb-${name}`,
    "aria-invalid": error ? "true" : "false",
    "aria-describedby": [hint ? `kb-${name}-hint` : "", `kb-${name}-error`].filter(Boolean).join(" "),
  };
}

function Preview() {
  const p = store.preview.value;
  return html`<section class="kb-preview" aria-labelledby="kb-preview-heading" aria-busy=${p.state === "loading"}>
    <h3 id="kb-preview-heading">Preview <span class="kb-hint">as the help center shows it</span></h3>
    ${p.error ? html`<p class="kb-error" role="alert">${p.error}</p>` : null}
    <div class="kb-rendered">${sanitisedNodes(p.html)}</div>
  </section>`;
}

function Versions() {
  const list = store.versions.value;
  if (!list.length) return null;
  return html`<section class="kb-versions" aria-labelledby="kb-versions-heading">
    <h3 id="kb-versions-heading">Versions</h3>
    <ol class="kb-version-list">
      ${list.map((v) => html`<li key=${v.version}>
        <strong>Version ${v.version}</strong>${` · ${v.status} · ${v.author || "unknown author"} · `}
        <time datetime=${v.saved_at}>${when(v.saved_at)}</time>
        ${v.title !== store.open.value.article.title ? html`<div class="kb-hint">“${v.title}”</div>` : null}
      </li>`)}
    </ol>
  </section>`;
}

function Form({ article }) {
  const o = store.open.value;
  const set = (name) => (event) => store.edit(name, event.target.value);
  const writable = store.brands.value.filter((b) => b.writer);
  const submit = (event) => { event.preventDefault(); store.save(); };
  const deleteRef = useRef(null);
  useEffect(() => { if (o.confirming && deleteRef.current) deleteRef.current.focus(); }, [o.confirming]);
  return html`<form class="kb-form" aria-labelledby="kb-article-heading" onSubmit=${submit} novalidate>
    <${Field} name="title" label="Title">
      <input ...${described("title")} value=${article.title} maxlength="300" required onInput=${set("title")} />
    <//>
    <div class="kb-row">
      <${Field} name="brand" label="Brand">
        ${article.id
          ? html`<input ...${described("brand")} value=${article.brand} readonly />`
          : html`<select ...${described("brand")} value=${article.brand} onChange=${set("brand")}>
              ${writable.map((b) => html`<option key=${b.slug} value=${b.slug}>${b.name}</option>`)}
            </select>`}
      <//>
      <${Field} name="language" label="Language" hint="en, fr…">
        <input ...${described("language", true)} value=${article.language} size="4" maxlength="3" onInput=${set("language")} />
      <//>
      <${Field} name="status" label="Status">
        <select ...${described("status")} value=${article.status} onChange=${set("status")}>
          <option value="draft">Draft</option><option value="published">Published</option>
        </select>
      <//>
    </div>
    <div class="kb-row">
      <${Field} name="category" label="Category">
        <input ...${described("category")} value=${article.category} maxlength="100" onInput=${set("category")} />
      <//>
      <${Field} name="tags" label="Tags" hint="separated by commas">
        <input ...${described("tags", true)} value=${article.tags.join(", ")}
          onChange=${(e) => store.edit("tags", e.target.value.split(",").map((t) => t.trim()).filter(Boolean))} />
      <//>
      <${Field} name="slug" label="Address" hint="left empty: made from the title">
        <input ...${described("slug", true)} value=${article.slug} maxlength="100" onInput=${set("slug")} />
      <//>
    </div>
    <${Field} name="body" label="Body (Markdown)">
      <textarea ...${described("body")} rows="16" value=${article.body} onInput=${set("body")}></textarea>
    <//>
    <div class="kb-actions">
      <button type="submit" id="kb-save" disabled=${o.saving}>${article.id ? "Save" : "Create"}</button>
      ${article.id && article.status === "draft" ? html`<button type="button" id="kb-publish" disabled=${o.saving} onClick=${() => store.publish(true)}>Publish</button>` : null}
      ${article.id && article.status === "published" ? html`<button type="button" id="kb-unpublish" class="secondary" disabled=${o.saving} onClick=${() => store.publish(false)}>Unpublish</button>` : null}
      ${article.id && !o.confirming ? html`<button type="button" id="kb-delete" class="danger" onClick=${() => store.confirmDelete(true)}>Delete</button>` : null}
    </div>
    ${o.confirming ? html`<div class="kb-confirm" role="alertdialog" aria-labelledby="kb-confirm-text">
      <p id="kb-confirm-text">Delete “${article.title}” and all its versions? This cannot be undone.</p>
      <button type="button" id="kb-delete-confirm" class="danger" ref=${deleteRef} onClick=${() => store.remove()}>Delete it</button>
      <button type="button" class="secondary" onClick=${() => { store.confirmDelete(false); document.getElementById("kb-delete")?.focus(); }}>Keep it</button>
    </div>` : null}
    <p class="kb-message" role="status">${o.message}</p>
  </form>`;
}

function Reader({ article }) {
  return html`<div class="kb-reader">
    <p class="kb-meta">${article.brand} · ${article.language}${article.category ? ` · ${article.category}` : ""}
      ${article.tags.length ? ` · ${article.tags.map((t) => `#${t}`).join(" ")}` : ""}</p>
  </div>`;
}

export function ArticleScreen() {
  const o = store.open.value;
  const heading = useRef(null);
  useEffect(() => { heading.current?.focus(); }, []);
  if (!o || o.state === "loading") return html`<p role="status">Loading the article…</p>`;
  if (o.state === "error") {
    return html`<div><button type="button" class="secondary" onClick=${store.closeArticle}>← Articles</button>
      <p class="kb-error" role="alert">${o.message}</p></div>`;
  }
  const a = o.article;
  const writer = a.id ? store.writes(a.brand) : true;
  return html`<article class="kb-article">
    <div class="kb-toolbar">
      <button type="button" class="secondary" id="kb-back" onClick=${store.closeArticle}>← Articles</button>
      <h2 id="kb-article-heading" tabindex="-1" ref=${heading}>${a.id ? a.title : "New article"}</h2>
      ${a.id ? html`<span class=${`kb-status ${a.status}`}>${a.status === "published" ? "Published" : "Draft"}</span>` : null}
      ${a.id && a.status === "published" ? html`<a class="kb-public" href=${a.url} target="_blank" rel="noopener">Open in the help center</a>` : null}
    </div>
    ${a.id ? html`<p class="kb-hint">Version ${a.version}${a.author ? ` by ${a.author}` : ""}${a.updated_at ? ` · ${when(a.updated_at)}` : ""}</p>` : null}
    ${writer
      ? html`<div class="kb-split"><div><${Form} article=${a} /></div><${Preview} /></div>`
      : html`<${Reader} article=${a} /><${Preview} />`}
    ${a.id ? html`<${Figures} />` : null}
    <${Versions} />
  </article>`;
}
