// The Knowledge area's store: the brands whose articles the agent reads (and whether they
// write them), the article list and its filters, the article open in the editor with its
// preview, versions and figures, and the content gaps. Components read these signals and
// call the functions below; nothing here touches the DOM.
import { api } from "../panel/api.js";
import { batch, signal } from "../panel/ui.js";

export const me = signal(null);
export const brands = signal([]);      // [{id, slug, name, writer}]
export const list = signal({ state: "idle", items: [], error: "" });
export const filters = signal({ brand: "", lang: "", category: "", status: "", q: "" });
// What the area shows: the list, one article (id null: a new one), or the content gaps.
export const screen = signal({ name: "list" });
// The open article: {state: "loading" | "ready" | "error", article, errors: {field: text},
// message, saving, confirming}
export const open = signal(null);
export const preview = signal({ state: "idle", html: "", error: "" });
export const versions = signal([]);
export const figures = signal({ state: "idle", data: null, error: "" });
export const gaps = signal({ state: "idle", brand: "", lang: "", items: [], error: "" });

// Who sees the area: admins, and those who write or answer with articles in a brand.
const USERS = ["editor", "supervisor", "agent"];
export function mayUse(agent) {
  return Boolean(agent && (agent.admin
    || Object.values(agent.roles || {}).some((held) => held.some((r) => USERS.includes(r)))));
}

export function writes(brandSlug) {
  return Boolean(brands.value.find((b) => b.slug === brandSlug)?.writer);
}
export function writesAny() {
  return brands.value.some((b) => b.writer);
}

export function start(agent) {
  me.value = agent;
}

export async function enter() {
  try {
    const { brands: found } = await api("GET", "/console/api/kb/brands");
    brands.value = found;
  } catch (e) {
    list.value = { ...list.value, state: "error", error: e.message };
    return;
  }
  await readList();
}

export async function readList() {
  const f = filters.value;
  const params = new URLSearchParams();
  if (f.brand) params.set("brand", f.brand);
  if (f.lang) params.set("lang", f.lang);
  if (f.status) params.set("status", f.status);
  if (f.category) params.set("category", f.category);
  list.value = { ...list.value, state: "loading" };
  try {
    const { articles } = await api("GET", `/console/api/kb/articles?${params}`);
    list.value = { state: "ready", items: articles, error: "" };
  } catch (e) {
    list.value = { ...list.value, state: "error", error: e.message };
  }
}

export function setFilter(name, value) {
  filters.value = { ...filters.value, [name]: value };
  // The text search filters what is held; the others ask the server.
  if (name !== "q") readList();
}

// The list as filtered by the search box: title, category, tags and excerpt.
export function shown() {
  const q = filters.value.q.trim().toLowerCase();
  const items = list.value.items;
  if (!q) return items;
  return items.filter((a) => [a.title, a.category, a.excerpt, ...(a.tags || [])]
    .some((text) => (text || "").toLowerCase().includes(q)));
}

// ---- one article ----

let previewTimer = null;
let previewAsked = 0;
const PREVIEW_DELAY_MS = 250;

export function blank(prefill = {}) {
  const writable = brands.value.filter((b) => b.writer);
  const brand = prefill.brand || filters.value.brand || writable[0]?.slug || "";
  return {
    id: null, brand, language: prefill.language || filters.value.lang || "en", slug: "",
    title: prefill.title || "", body: prefill.body || "", category: "", tags: [],
    status: "draft", version: 0, author: "", url: "", updated_at: null,
  };
}

export async function openArticle(id, prefill) {
  screen.value = { name: "article", id };
  batch(() => {
    versions.value = [];
    figures.value = { state: "idle", data: null, error: "" };
    preview.value = { state: "idle", html: "", error: "" };
  });
  if (!id) {
    const article = blank(prefill);
    open.value = { state: "ready", article, errors: {}, message: "", saving: false, confirming: false };
    askPreview(article.body);
    return;
  }
  open.value = { state: "loading", article: null, errors: {}, message: "", saving: false, confirming: false };
  try {
    const article = await api("GET", `/console/api/kb/articles/${id}`);
    if (screen.value.id !== id) return;
    open.value = { ...open.value, state: "ready", article };
    preview.value = { state: "ready", html: article.html, error: "" };
    readVersions(id);
    readFigures(id);
  } catch (e) {
    open.value = { ...open.value, state: "error", message: e.message };
  }
}

// The article the list gives the focus back to (keyboard users keep their place).
let returnTo = null;
export function takeReturn() {
  const id = returnTo;
  returnTo = null;
  return id;
}

export function closeArticle() {
  returnTo = screen.value.name === "gaps" ? "gaps" : screen.value.id || "";
  screen.value = { name: "list" };
  open.value = null;
}

// A field edited: kept in the store (the form is controlled), the preview re-asked for a
// body change once typing pauses.
export function edit(field, value) {
  const o = open.value;
  if (!o) return;
  const errors = { ...o.errors };
  delete errors[field];
  open.value = { ...o, article: { ...o.article, [field]: value }, errors, message: "" };
  if (field === "body") askPreview(value);
}

function askPreview(body) {
  clearTimeout(previewTimer);
  const mine = ++previewAsked;
  previewTimer = setTimeout(async () => {
    preview.value = { ...preview.value, state: "loading" };
    try {
      const { html } = await api("POST", "/console/api/kb/preview", { body });
      if (mine === previewAsked) preview.value = { state: "ready", html, error: "" };
    } catch (e) {
      if (mine === previewAsked) preview.value = { ...preview.value, state: "error", error: e.message };
    }
  }, PREVIEW_DELAY_MS);
}

const FIELDS = ["brand", "language", "slug", "title", "body", "category", "tags", "status"];

// "title: 1 to 300 characters" is the title's; anything else is the form's.
function placed(message) {
  const field = message.split(":")[0].split(".")[0].trim();
  return FIELDS.includes(field) ? { [field]: message } : null;
}

async function act(call, done) {
  const o = open.value;
  open.value = { ...o, saving: true, message: "", errors: {} };
  try {
    const article = await call();
    open.value = { ...open.value, state: "ready", article: article || open.value.article, saving: false, message: done, confirming: false };
    if (article) {
      screen.value = { name: "article", id: article.id };
      preview.value = { state: "ready", html: article.html, error: "" };
      readVersions(article.id);
      readFigures(article.id);
    }
    readList();
    return true;
  } catch (e) {
    const errors = placed(e.message);
    open.value = { ...open.value, saving: false, errors: errors || {}, message: errors ? "" : e.message };
    return false;
  }
}

export function save() {
  const a = open.value.article;
  const body = {
    language: a.language.trim(), slug: a.slug.trim(), title: a.title, body: a.body,
    category: a.category, tags: a.tags, status: a.status,
  };
  return act(() => (a.id
    ? api("PUT", `/console/api/kb/articles/${a.id}`, body)
    : api("POST", "/console/api/kb/articles", { ...body, brand: a.brand })),
  a.id ? "Saved as a new version." : "Article created.");
}

export function publish(yes) {
  const a = open.value.article;
  return act(() => api("POST", `/console/api/kb/articles/${a.id}/${yes ? "publish" : "unpublish"}`),
    yes ? "Published: it is in the help center now." : "Unpublished: back to draft.");
}

export function confirmDelete(yes) {
  open.value = { ...open.value, confirming: yes };
}

export async function remove() {
  const a = open.value.article;
  const ok = await act(async () => { await api("DELETE", `/console/api/kb/articles/${a.id}`); return null; }, "");
  if (ok) closeArticle();
  return ok;
}

async function readVersions(id) {
  try {
    const { versions: found } = await api("GET", `/console/api/kb/articles/${id}/versions`);
    if (screen.value.id === id) versions.value = found;
  } catch {
    versions.value = [];
  }
}

async function readFigures(id) {
  figures.value = { state: "loading", data: null, error: "" };
  try {
    const data = await api("GET", `/console/api/kb/articles/${id}/figures`);
    if (screen.value.id === id) figures.value = { state: "ready", data, error: "" };
  } catch (e) {
    figures.value = { state: "error", data: null, error: e.message };
  }
}

// ---- content gaps ----

export async function showGaps(brand, lang = "") {
  const slug = brand || gaps.value.brand || brands.value.find((b) => b.writer)?.slug || "";
  screen.value = { name: "gaps" };
  gaps.value = { ...gaps.value, state: "loading", brand: slug, lang, error: "" };
  if (!slug) return;
  try {
    const query = lang ? `?lang=${encodeURIComponent(lang)}` : "";
    const { gaps: items } = await api("GET", `/console/api/kb/brands/${encodeURIComponent(slug)}/gaps${query}`);
    if (gaps.value.brand === slug) gaps.value = { state: "ready", brand: slug, lang, items, error: "" };
  } catch (e) {
    gaps.value = { ...gaps.value, state: "error", error: e.message };
  }
}

export function writeFor(gap) {
  openArticle(null, { brand: gaps.value.brand, language: gap.language || "en", title: gap.question.slice(0, 300) });
}
