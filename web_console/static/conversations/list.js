// The conversation list (#conversations): Queue, Mine, All open and Resolved, as components
// over conversations/store.js. Items are keyed by conversation id and redrawn only when their
// own view, queue entry or place changes, so an event that moves one conversation touches
// one <li>. A long list is drawn a page at a time (the first page at once, the next as the
// end of the list scrolls into view or takes the focus), with its true length given to
// screen readers (aria-setsize, aria-posinset). One item is in the Tab order (roving focus):
// the open conversation's, else the first; arrows, Home and End move between items, Enter or
// Space opens one.
import {
  clock, conversations, me, only, openId, queue, queueComplete, queueTotal, readResolved,
  resolved, view, kept,
} from "./store.js";
import { reasonText } from "../panel/format.js";
import { Component, computed, effect, html, render, signal, useEffect, useRef } from "../panel/ui.js";

// Items drawn at first and added at a time: about five screens of a 1280 x 900 window.
export const PAGE = 50;
const shownCount = signal(PAGE);
const focusId = signal(null);   // the item that holds the Tab stop, once one took the focus
let opener = () => {};

// The conversations of the tab shown, in its order: [{c, entry}].
const rows = computed(() => {
  const all = conversations.value;
  const v = view.value;
  only.value;   // a filter change re-reads the rows
  if (v === "queue") {
    return queue.value.filter((q) => kept(all.get(q.id) || q)).map((q) => ({ c: all.get(q.id) || q, entry: q }));
  }
  const held = [...all.values()];
  if (v === "resolved") {
    return held.filter((c) => c.status === "resolved" && kept(c))
      .sort((a, b) => (b.updated_at || "").localeCompare(a.updated_at || "")).map((c) => ({ c, entry: null }));
  }
  const agent = me.value;
  return held.filter((c) => c.status !== "resolved" && kept(c)
      && (v !== "mine" || (agent && c.assignee && c.assignee.id === agent.id && c.status === "assigned")))
    .sort((a, b) => (b.last_message_at || "").localeCompare(a.last_message_at || ""))
    .map((c) => ({ c, entry: null }));
});

const mineCount = computed(() => {
  const agent = me.value;
  let n = 0;
  for (const c of conversations.value.values()) {
    if (agent && c.status === "assigned" && c.assignee && c.assignee.id === agent.id && kept(c)) n += 1;
  }
  return n;
});

const filtered = () => Object.values(only.value).some(Boolean);

// An SLA countdown: green, amber under 5 min, red late.
function Sla({ due, done }) {
  if (done) return html`<span class="sla">responded</span>`;
  const left = (Date.parse(due) - clock.value) / 1000;
  const abs = Math.abs(left);
  const text = abs < 60 ? `${Math.floor(abs)} s` : abs < 3600 ? `${Math.floor(abs / 60)} min`
    : `${Math.floor(abs / 3600)} h ${Math.floor((abs % 3600) / 60)} min`;
  const cls = `sla${left < 0 ? " late" : left < 300 ? " soon" : ""}`;
  return html`<span class=${cls}>${left < 0 ? `SLA breached ${text} ago` : `SLA due in ${text}`}</span>`;
}

function visitor(c) {
  return c.contact.name || c.contact.email || `Visitor ${c.contact.id.slice(0, 8)}`;
}

// One conversation. Its props are the store's objects: unchanged, they are the same objects,
// and the item is not drawn again (it reads no signal itself; Sla does, for the clock).
class Item extends Component {
  shouldComponentUpdate(next) {
    const p = this.props;
    return next.c !== p.c || next.entry !== p.entry || next.active !== p.active
      || next.stop !== p.stop || next.pos !== p.pos || next.size !== p.size;
  }

  render({ c, entry, active, stop, pos, size }) {
    const status = c.status + (c.assignee ? ` · ${c.assignee.name}` : "") + (c.team ? ` · ${c.team.name}` : "");
    return html`<li class=${active ? "active" : ""} data-conversation-id=${c.id}
        data-score=${entry ? entry.score : undefined} tabIndex=${stop ? 0 : -1}
        aria-posinset=${pos} aria-setsize=${size} aria-current=${active ? "true" : undefined}
        onClick=${() => opener(c.id)} onKeyDown=${(ev) => keys(ev, c.id)} onFocus=${() => focused(c.id, pos)}>
      ${entry ? html`<span class="score">${String(entry.score)}</span>` : null}
      <span class="status">${status}</span>
      ${c.status !== "bot" && c.handoff_reason ? html`<span class="reason">${reasonText(c.handoff_reason)}</span>` : null}
      ${c.language ? html`<span class="language">${c.language}</span>` : null}
      ${c.channel ? html`<span class="language channel">${c.channel}</span>` : null}
      ${c.first_response_due && c.status !== "resolved" ? html`<${Sla} due=${c.first_response_due} done=${c.first_response_at} />` : null}
      <div class="name">${visitor(c)}${c.contact.verified === false
        ? html`<span class="language unverified" title="typed by the visitor, not verified">unverified</span>` : null}</div>
      ${entry ? html`<div class="why">${entry.explanation}</div>` : null}
      ${c.subject ? html`<div class="subject">${c.subject}</div>` : null}
      <div class="preview">${c.preview || ""}</div>
      ${c.labels && c.labels.length ? html`<div class="labels">${c.labels.map((l) => html`<span class="label">${l}</span>`)}</div>` : null}
    </li>`;
  }
}

function itemNode(id) {
  return document.querySelector(`#conversations li[data-conversation-id="${CSS.escape(id)}"]`);
}

// Focus near the end of what is drawn draws the next page, so arrows and j/k never run out.
function focused(id, pos) {
  focusId.value = id;
  if (pos > shownCount.value - 5) shownCount.value += PAGE;
}

function keys(ev, id) {
  const li = ev.currentTarget;
  if (ev.target !== li) return;
  if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); opener(id); return; }
  const items = [...li.parentElement.querySelectorAll(":scope > li[data-conversation-id]")];
  const at = items.indexOf(li);
  const to = { ArrowDown: at + 1, ArrowUp: at - 1, Home: 0, End: items.length - 1 }[ev.key];
  if (to === undefined || ev.altKey || ev.ctrlKey || ev.metaKey) return;
  ev.preventDefault();
  items[Math.max(0, Math.min(items.length - 1, to))].focus();
}

function Empty() {
  const v = view.value;
  const text = v === "queue" ? (queue.value.length ? "Nobody waiting matches the filters." : "Nobody is waiting.")
    : v === "resolved" ? (resolved.value.read ? "Nothing resolved yet." : "Loading…")
    : filtered() ? "No conversations match the filters."
    : v === "mine" ? "Nothing assigned to you." : "No open conversations.";
  return html`<li class="empty">${text}</li>`;
}

// The end of what is drawn: how much more there is, drawn when it scrolls into view or on
// "Show more" (which also reads the Resolved tab's older pages from the server).
function More({ drawn, size }) {
  const ref = useRef(null);
  const more = drawn < size;
  const older = view.value === "resolved" && resolved.value.next;
  useEffect(() => {
    if (!more || !ref.current) return undefined;
    const watch = new IntersectionObserver((seen) => {
      if (seen.some((e) => e.isIntersecting)) shownCount.value = drawn + PAGE;
    }, { rootMargin: "400px 0px" });
    watch.observe(ref.current);
    return () => watch.disconnect();
  }, [drawn, size]);
  if (!more && !older) return null;
  const click = () => { if (more) shownCount.value = drawn + PAGE; else readResolved(resolved.value.next); };
  return html`<li class="more-row" ref=${ref}>
    ${more ? html`<span class="more-count">${drawn.toLocaleString()} of ${size.toLocaleString()} shown</span> ` : null}
    <button type="button" class="more" onClick=${click}>Show more</button>
  </li>`;
}

function List() {
  const list = rows.value;
  const v = view.value;
  if (v === "supervisor" || v === "people") return null;
  if (!list.length && (v !== "queue" || queueComplete.value)) return html`<${Empty} />`;
  // The queue's length is the server's count while only its first page is held.
  const size = v === "queue" && !filtered() ? Math.max(queueTotal.value, list.length) : list.length;
  const drawn = Math.min(list.length, shownCount.value);
  const open = openId.value;
  const shown = list.slice(0, drawn);
  const stop = [focusId.value, open].find((id) => id && shown.some((r) => r.c.id === id)) || shown[0]?.c.id;
  return html`${shown.map((r, i) => html`<${Item} key=${r.c.id} c=${r.c} entry=${r.entry}
      active=${r.c.id === open} stop=${r.c.id === stop} pos=${i + 1} size=${size} />`)}
    <${More} drawn=${drawn} size=${size} />`;
}

// Draws the list into #conversations; `open(id)` is what opening an item does (console.js).
export function mountList(node, open) {
  opener = open;
  render(html`<${List} />`, node);
  // Another tab starts at its top again.
  let was = view.peek();
  effect(() => {
    if (view.value !== was) { was = view.value; shownCount.value = PAGE; focusId.value = null; }
  });
  // The tab buttons' counts (index.html's spans).
  effect(() => {
    document.getElementById("queue-count").textContent = queueTotal.value ? `(${queueTotal.value})` : "";
    document.getElementById("mine-count").textContent = mineCount.value ? `(${mineCount.value})` : "";
  });
}

// Opening a conversation beyond what is drawn (a search result, a toast) draws up to it.
export function reveal(id) {
  const at = rows.peek().findIndex((r) => r.c.id === id);
  if (at >= shownCount.peek()) shownCount.value = at + PAGE;
  return itemNode(id);
}
