// The knowledge base beside the conversation (issue 18). In the context panel, "Suggested
// articles": the articles that answer the customer's latest messages, in their brand and
// language (GET /console/api/kb/conversations/{id}/articles), each to insert as a link or an
// excerpt into the reply box, or to mark as "this article resolved it". In the reply box, "#"
// then words searches the brand's published articles; arrows and Enter insert a link or an
// excerpt (as "/" does for canned responses). An article whose link leaves in one of my
// replies is recorded as sent with that message.
import { api } from "./api.js";
import { Listbox, listKey, optionId } from "./listbox.js";
import { me, openId } from "./store.js";
import { effect, html, render, signal } from "./ui.js";

// {state: "idle" | "loading" | "ready" | "error", data: {brand, language, articles} | null, error}
export const suggestedArticles = signal({ state: "idle", data: null, error: "" });
const RELOAD_DELAY_MS = 400;
const SEARCH_DELAY_MS = 150;
const LIST_ID = "kb-insert-list";

let reply = null;
let asked = 0;
let reloadTimer = null;
// Articles whose link, if it leaves in one of my replies here, makes them "sent": id -> path.
let known = new Map();

function pathOf(url) {
  try { return new URL(url, location.origin).pathname; } catch { return url; }
}

function load(id) {
  const mine = ++asked;
  suggestedArticles.value = { ...suggestedArticles.peek(), state: "loading" };
  api("GET", `/console/api/kb/conversations/${id}/articles`).then(
    (data) => {
      if (mine !== asked) return;
      for (const a of data.articles) known.set(a.id, pathOf(a.url));
      suggestedArticles.value = { state: "ready", data, error: "" };
    },
    (e) => { if (mine === asked) suggestedArticles.value = { state: "error", data: null, error: e.message }; },
  );
}

// Text into the reply box at the caret (replacing [from, to)), the caret after it.
function put(text, from, to) {
  if (!reply) return;
  const start = from ?? reply.selectionStart;
  const end = to ?? reply.selectionEnd;
  const before = reply.value.slice(0, start);
  const after = reply.value.slice(end);
  const lead = before && !/\s$/.test(before) ? " " : "";
  reply.value = before + lead + text + after;
  const caret = (before + lead + text).length;
  reply.setSelectionRange(caret, caret);
  reply.dispatchEvent(new Event("input", { bubbles: true }));
  reply.focus();
}

export function linkText(article) {
  return `${article.title}: ${article.url}`;
}
export function excerptText(article) {
  return `${(article.passage || article.excerpt || "").trim()}\n${article.url}`;
}

async function markResolved(article) {
  const id = openId.value;
  try {
    await api("POST", `/console/api/kb/conversations/${id}/articles/${article.id}/resolved`);
    const data = suggestedArticles.value.data;
    if (id !== openId.value || !data) return;
    suggestedArticles.value = {
      ...suggestedArticles.value,
      data: { ...data, articles: data.articles.map((a) => (a.id === article.id ? { ...a, outcome: "resolved" } : a)) },
      error: "",
    };
  } catch (e) {
    suggestedArticles.value = { ...suggestedArticles.value, error: e.message };
  }
}

export function SuggestedArticles() {
  const { state, data, error } = suggestedArticles.value;
  const articles = data?.articles || [];
  return html`<section class="cp-section kb-suggested" aria-labelledby="cp-articles" aria-busy=${state === "loading"}>
    <h3 id="cp-articles">Suggested articles</h3>
    ${error ? html`<p class="cp-error" role="alert">${error}</p>` : null}
    ${state === "ready" && !articles.length ? html`<p class="cp-muted">No article matches the customer's latest messages. Type # in the reply box to search.</p>` : null}
    <ul class="cp-list">
      ${articles.map((a) => html`<li key=${a.id} class="kb-article-card">
        <a href=${a.url} target="_blank" rel="noopener noreferrer" class="kb-article-title">${a.title}</a>
        <p class="cp-muted kb-passage">${a.passage || a.excerpt}</p>
        <span class="kb-article-actions">
          <button type="button" class="secondary" onClick=${() => put(linkText(a))} aria-label=${`Insert a link to “${a.title}”`}>Insert link</button>
          <button type="button" class="secondary" onClick=${() => put(excerptText(a))} aria-label=${`Insert an excerpt of “${a.title}”`}>Insert excerpt</button>
          ${a.outcome === "resolved"
            ? html`<span class="kb-resolved" role="status">✓ Resolved it</span>`
            : html`<button type="button" class="secondary kb-mark" onClick=${() => markResolved(a)}
                aria-label=${`This article resolved it: “${a.title}”`}>This article resolved it</button>`}
        </span>
      </li>`)}
    </ul>
  </section>`;
}

// ---- "#" in the reply box ----

const found = signal(null);   // {query, from, items: [{article, kind}], active} while open
let searchTimer = null;
let searched = 0;
let dismissed = null;

// "#words" ending at the caret, after the start of the box or a space. A digit right after
// the "#" is an order number ("order #10234"), not a search.
function queryAt(field) {
  const head = field.value.slice(0, field.selectionStart);
  const match = /(^|\s)#((?:[^\s\d#][^#\n]{0,79})?)$/.exec(head);
  return match ? { query: match[2], from: head.length - match[2].length - 1 } : null;
}

function search() {
  const at = queryAt(reply);
  clearTimeout(searchTimer);
  const data = suggestedArticles.peek().data;
  if (!at || reply.value === dismissed || !openId.value || !data) {
    found.value = null;
    return;
  }
  if (at.query.trim().length < 2) {
    found.value = { query: at.query, from: at.from, items: [], active: 0, short: true };
    return;
  }
  const mine = ++searched;
  searchTimer = setTimeout(async () => {
    const params = new URLSearchParams({ q: at.query.trim(), brand: data.brand, lang: data.language });
    try {
      const { results } = await api("GET", `/console/api/kb/search?${params}`);
      if (mine !== searched) return;
      const items = [];
      for (const r of results.filter((x) => x.status === "published").slice(0, 5)) {
        const article = { ...r, url: new URL(r.url, location.origin).href };
        items.push({ article, kind: "link" }, { article, kind: "excerpt" });
      }
      found.value = { query: at.query, from: at.from, items, active: 0 };
    } catch {
      if (mine === searched) found.value = null;
    }
  }, SEARCH_DELAY_MS);
}

function insert(index) {
  const f = found.value;
  const item = f?.items[index];
  if (!item) return;
  known.set(item.article.id, pathOf(item.article.url));
  const text = item.kind === "link" ? linkText(item.article) : excerptText(item.article);
  found.value = null;
  put(text, f.from, reply.selectionStart);
  dismissed = reply.value;
}

function InsertList() {
  const f = found.value;
  if (!f) return null;
  if (!f.items.length) {
    return html`<p class="suggest-empty" role="status">${f.short ? "Type a few words after # to search the articles" : `No published article matches #${f.query}`}</p>`;
  }
  return html`<${Listbox} id=${LIST_ID} label="Articles to insert" active=${f.active}
    options=${f.items.map((it) => ({
      key: `${it.article.id}:${it.kind}`,
      label: it.kind === "link" ? `${it.article.title} — insert link` : `${it.article.title} — insert excerpt`,
      detail: it.kind === "link" ? it.article.url : it.article.passage || it.article.excerpt,
    }))}
    onPick=${insert} />`;
}

function onKey(event) {
  const f = found.value;
  if (event.target !== reply || !f) return;
  listKey(event, {
    count: f.items.length,
    active: f.active,
    move: (i) => { found.value = { ...f, active: i }; },
    pick: insert,
    close: () => { dismissed = reply.value; found.value = null; },
  });
}

// An article's link in a reply I sent here: recorded as sent with that message.
function onEvent(event) {
  const frame = event.detail;
  const id = openId.value;
  if (frame.conversation_id !== id) return;
  if (frame.name === "message.created") {
    const message = frame.data.message;
    if (message.author_kind === "customer") {
      clearTimeout(reloadTimer);
      reloadTimer = setTimeout(() => { if (id === openId.value) load(id); }, RELOAD_DELAY_MS);
      return;
    }
    if (message.author_kind !== "agent" || message.author_id !== me.value?.id) return;
    for (const [articleId, path] of known) {
      if (!message.text.includes(path)) continue;
      known.delete(articleId);
      api("POST", `/console/api/kb/conversations/${id}/articles/${articleId}/sent`, { message_id: message.id })
        .catch(() => {});
    }
  }
}

// Mounts the "#" list above the reply form; keys are taken in the capture phase on the form
// so they reach the list before console.js's Enter-sends (canned.js does the same).
export function attachArticles(field, form) {
  reply = field;
  const box = document.createElement("div");
  box.id = "kb-insert-box";
  form.before(box);
  render(html`<${InsertList} />`, box);
  field.addEventListener("input", search);
  field.addEventListener("click", search);
  field.addEventListener("blur", () => { clearTimeout(searchTimer); found.value = null; });
  form.addEventListener("keydown", onKey, true);
  effect(() => {
    const f = found.value;
    if (f && f.items.length) {
      field.setAttribute("aria-controls", LIST_ID);
      field.setAttribute("aria-activedescendant", optionId(LIST_ID, f.active));
    } else if (field.getAttribute("aria-controls") === LIST_ID) {
      field.removeAttribute("aria-controls");
      field.removeAttribute("aria-activedescendant");
    }
  });
  effect(() => {
    const id = openId.value;
    dismissed = null;
    found.value = null;
    known = new Map();
    clearTimeout(reloadTimer);
    suggestedArticles.value = { state: "idle", data: null, error: "" };
    if (id) load(id);
  });
  document.addEventListener("console:event", onEvent);
}

// A suggested reply made from an article (panel/suggestions.js): its link counts as sent.
export function noteArticle(articleId, text) {
  const url = (text.match(/https?:\/\/\S+/) || [])[0];
  if (articleId && url) known.set(articleId, pathOf(url));
}
