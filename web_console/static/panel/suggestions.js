// Suggested replies above the reply box: up to three texts from GET …/suggestions, each
// labelled with where it came from (the bot's answer to the intent it recognised, an agent's
// reply that resolved a similar conversation, or the knowledge base's best article). A click,
// or Enter on the focused card, puts the text in the reply box to edit; nothing is ever sent
// from here. Re-read when a conversation opens and when the bot has understood a new
// customer message in it.
import { api } from "./api.js";
import { noteArticle } from "./articles.js";
import { modelSummary, openId } from "./store.js";
import { effect, html, render, signal } from "./ui.js";

// {state: "idle" | "loading" | "ready" | "error", data: {suggestions, language, tone} | null}
export const suggested = signal({ state: "idle", data: null });
// A burst of message.interpreted events (several customer messages) is one re-read.
const RELOAD_DELAY_MS = 400;

let reply = null;
let asked = 0;   // answers to an older request (another conversation) are dropped
let timer = null;

function load(id) {
  const mine = ++asked;
  // peek(): load runs inside the effect below, which must not depend on what it sets.
  suggested.value = { state: "loading", data: suggested.peek().data };
  api("GET", `/console/api/conversations/${id}/suggestions`).then(
    (data) => { if (mine === asked) suggested.value = { state: "ready", data }; },
    () => { if (mine === asked) suggested.value = { state: "error", data: null }; },
  );
}

function source(s) {
  if (s.source === "bot") return { chip: "Bot answer", detail: s.intent ? s.intent.replaceAll("_", " ") : "" };
  if (s.source === "llm") return { chip: "Drafted by the language model", detail: "" };
  if (s.source === "article") {
    return { chip: "Help article", detail: s.similarity !== null ? `${Math.round(s.similarity * 100)}% match` : "" };
  }
  const parts = [];
  if (s.similarity !== null) parts.push(`${Math.round(s.similarity * 100)}% similar`);
  if (s.agent_name) parts.push(`by ${s.agent_name}`);
  return { chip: "Resolved a similar case", detail: parts.join(" · ") };
}

function use(text) {
  if (!reply) return;
  // A draft already in the box is kept: the suggestion goes after it.
  reply.value = reply.value.trim() ? `${reply.value.trimEnd()}\n\n${text}` : text;
  reply.dispatchEvent(new Event("input", { bubbles: true }));
  reply.focus();
  reply.setSelectionRange(reply.value.length, reply.value.length);
}

function Suggestions() {
  const { state, data } = suggested.value;
  if (!openId.value || !data || !data.suggestions.length) return null;
  // The apology the server put first is the same on every card: said once in the heading,
  // so each card shows what differs (the box still gets the whole text).
  const opening = data.suggestions.find((s) => s.opening)?.opening;
  return html`<section class="sr" aria-label="Suggested replies" aria-busy=${state === "loading"}>
    <p class="sr-head">Suggested replies${opening ? html` <span class="chip sr-tone" title=${opening}>upset customer: opens with an apology</span>` : ""}</p>
    <ul class="sr-list">
      ${data.suggestions.map((s, i) => {
        const { chip, detail } = source(s);
        const shown = s.opening && s.text.startsWith(s.opening) ? s.text.slice(s.opening.length).trimStart() : s.text;
        return html`<li key=${`${i}:${s.text}`}>
          <button type="button" class=${`sr-card sr-${s.source}`} onClick=${() => { noteArticle(s.article_id, s.text); use(s.text); }}
            title="Put this reply in the box to edit" aria-label=${`Use suggestion (${chip}): ${s.text}`}>
            <span class="sr-source"><span class="chip">${chip}</span> <span class="sr-detail">${detail}</span></span>
            <span class="sr-text">${s.opening ? html`<span class="sr-opening">+ apology · </span>` : ""}${shown}</span>
          </button>
        </li>`;
      })}
    </ul>
  </section>`;
}

// Mount the list above the reply form; `field` is the reply box it fills.
export function attachSuggestions(field, form) {
  reply = field;
  const box = document.createElement("div");
  box.id = "suggested-replies";
  box.setAttribute("aria-live", "off");   // the transcript announces messages, not these
  form.before(box);
  render(html`<${Suggestions} />`, box);
  effect(() => {
    const id = openId.value;
    clearTimeout(timer);
    suggested.value = { state: "idle", data: null };
    if (id) load(id);
  });
  // A language model's drafts fill empty places once it has answered (panel/store.js asks it
  // for the summary after the context): re-read when its summary arrives.
  effect(() => {
    if (modelSummary.value.state !== "ready") return;
    const id = openId.peek();
    if (id && (suggested.peek().data?.suggestions.length ?? 3) < 3) load(id);
  });
  document.addEventListener("console:event", (event) => {
    const frame = event.detail;
    if (frame.name !== "message.interpreted" || frame.conversation_id !== openId.value) return;
    const id = openId.value;
    clearTimeout(timer);
    timer = setTimeout(() => { if (id === openId.value) load(id); }, RELOAD_DELAY_MS);
  });
}
