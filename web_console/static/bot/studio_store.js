// The bot studio's store (issue 19): edits of the project's files, each saved as a version,
// and what the editor's warnings need (the lexicon: entities, synonyms, regexes, lookups and
// every example's intent). A save answers with the version; a refusal names file and line.
import { api } from "../panel/api.js";
import { signal } from "../panel/ui.js";
import * as store from "./store.js";

// Fewer examples than this in a language: the intent is warned about (Rasa's own advice is
// "at least 5 per intent"; the embedded classifier's cross-validation needs as many).
export const MIN_EXAMPLES = 5;

export const lexicon = signal({ state: "idle", data: null, error: "" });
export const versions = signal({ state: "idle", items: [], error: "" });
export const shownVersion = signal(null); // {id, state, data, error}
// The last save: {state: "saving"|"saved"|"refused", text, path, line}
export const saving = signal({ state: "idle", text: "", path: null, line: null });
// The message the next version carries (cleared by each save).
export const message = signal("");
export const files = signal({ state: "idle", items: [], open: null, text: "", error: "" });

// As panel/api.js, but a refusal keeps its body: the studio's carry ``path`` and ``line``.
async function call(method, path, body) {
  const response = await fetch(path, {
    method,
    credentials: "same-origin",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  const data = text ? JSON.parse(text) : {};
  if (!response.ok) {
    const error = new Error(data.error || response.statusText);
    error.status = response.status;
    error.body = data;
    throw error;
  }
  return data;
}

async function read(target, path, take) {
  target.value = { ...target.value, state: "loading", error: "" };
  try {
    target.value = { ...target.value, state: "ready", ...take(await api("GET", path)) };
  } catch (e) {
    target.value = { ...target.value, state: "error", error: e.message };
  }
}

export function loadLexicon() {
  return read(lexicon, "/console/api/bot/lexicon", (data) => ({ data }));
}

export function loadVersions() {
  return read(versions, "/console/api/bot/versions", (d) => ({ items: d.versions }));
}

export async function showVersion(id) {
  shownVersion.value = { id, state: "loading", data: null, error: "" };
  try {
    const data = await api("GET", `/console/api/bot/versions/${id}`);
    if (shownVersion.value?.id === id) shownVersion.value = { id, state: "ready", data, error: "" };
  } catch (e) {
    if (shownVersion.value?.id === id) shownVersion.value = { id, state: "error", data: null, error: e.message };
  }
}

// One save: the version it made, or null when refused (``saving`` says why, with file and
// line). Everything it may have changed is read again.
export async function save(method, path, body = {}) {
  saving.value = { state: "saving", text: "Saving…", path: null, line: null };
  try {
    const saved = await call(method, path, { ...body, message: message.value.trim() });
    const v = saved.version;
    saving.value = { state: "saved", text: `Saved as version ${v.id}: ${v.message}`, path: null, line: null };
    message.value = "";
    refresh();
    return v;
  } catch (e) {
    const where = e.body?.path ? `${e.body.path}${e.body.line ? `:${e.body.line}` : ""}` : null;
    saving.value = { state: "refused", text: e.body?.reason || e.message, path: where, line: e.body?.line ?? null };
    return null;
  }
}

function refresh() {
  loadLexicon();
  store.enter();
  if (versions.value.state !== "idle") loadVersions();
}

export function enter() {
  loadLexicon();
  if (store.section.value === "versions") loadVersions();
  if (store.section.value === "files" && files.value.state === "idle") loadFiles();
}

export function loadFiles() {
  return read(files, "/console/api/bot/files", (d) => ({ items: d.files }));
}

export async function openFile(path) {
  files.value = { ...files.value, open: path, text: "", error: "" };
  try {
    const data = await api("GET", `/console/api/bot/files/${path.split("/").map(encodeURIComponent).join("/")}`);
    if (files.value.open === path) files.value = { ...files.value, text: data.text };
  } catch (e) {
    files.value = { ...files.value, error: e.message };
  }
}

export function fileUrl(path) {
  return `/console/api/bot/files/${path.split("/").map(encodeURIComponent).join("/")}`;
}

// Rasa's markup of an example, as the server will write it (shown to the designer).
export function markup(text, spans) {
  let out = "";
  let at = 0;
  for (const s of [...spans].sort((a, b) => a.start - b.start)) {
    out += text.slice(at, s.start);
    const piece = text.slice(s.start, s.end);
    if (s.role || s.group) {
      const spec = { entity: s.entity };
      if (s.role) spec.role = s.role;
      if (s.group) spec.group = s.group;
      out += `[${piece}]${JSON.stringify(spec).replaceAll('":"', '": "').replaceAll('","', '", "')}`;
    } else {
      out += `[${piece}](${s.entity})`;
    }
    at = s.end;
  }
  return (out + text.slice(at)).trim();
}

// What the designer is warned of while typing an example of ``intent``.
export function exampleWarnings(text, intent, original = "") {
  const key = text.trim().toLowerCase();
  if (!key || key === original.trim().toLowerCase()) return [];
  const owner = lexicon.value.data?.examples?.[key];
  if (!owner) return [];
  return owner === intent
    ? ["This intent has this example already."]
    : [`This example is already under another intent: ${owner}.`];
}

// An intent's languages with fewer than MIN_EXAMPLES examples (of the bot's languages).
export function thinLanguages(row, languages) {
  if (!row) return [];
  return languages
    .filter((l) => (row.examples[l] || 0) < MIN_EXAMPLES)
    .map((l) => ({ language: l, count: row.examples[l] || 0 }));
}

// Declared entities no example annotates.
export function neverAnnotated() {
  const data = lexicon.value.data;
  if (!data) return [];
  const annotated = new Set(data.annotated);
  return data.entities.filter((e) => !annotated.has(e));
}

// Spans kept over an edited text: each moves to where its words now are, or goes.
export function carrySpans(spans, oldText, newText) {
  const out = [];
  for (const s of spans) {
    const piece = oldText.slice(s.start, s.end);
    let start = newText.slice(s.start, s.end) === piece ? s.start : -1;
    if (start < 0) {
      const candidates = [];
      for (let i = newText.indexOf(piece); i >= 0; i = newText.indexOf(piece, i + 1)) candidates.push(i);
      if (candidates.length) start = candidates.reduce((a, b) => (Math.abs(b - s.start) < Math.abs(a - s.start) ? b : a));
    }
    if (start >= 0 && !out.some((o) => start < o.end && o.start < start + piece.length)) {
      out.push({ ...s, start, end: start + piece.length });
    }
  }
  return out;
}
