// The conversation list (#conversations): Queue, Mine, All open and Resolved, as components
// over conversations/store.js. Items are keyed by conversation id and redrawn only when their
// own view, queue entry or place changes, so an event that moves one conversation touches
// one <li>. A long list is drawn a page at a time (the first page at once, the next as the
// end of the list scrolls into view or takes the focus), with its true length given to
// screen readers (aria-setsize, aria-posinset). One item is in the Tab order (roving focus):
// the open conversation's, else the first; arrows, Home and End move between items, Enter or
// Space opens one.
import {
  clock, conversations, me, only, openId, presence, queue, queueComplete, queueTotal, readResolved,
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

// A first-response countdown (until the first reply; the header says "responded" after):
// green, amber under 5 min, red late.
// Past an hour, whole hours: the chip stays short in a 320 px column (the header is exact).
function Sla({ due }) {
  const left = (Date.parse(due) - clock.value) / 1000;
  const abs = Math.abs(left);
  const text = abs < 60 ? `${Math.floor(abs)} s` : abs < 3600 ? `${Math.floor(abs / 60)} min`
    : `${Math.floor(abs / 3600)} h`;
  const cls = `sla${left < 0 ? " late" : left < 300 ? " soon" : ""}`;
  return html`<span class=${cls}>${left < 0 ? `SLA breached ${text} ago` : `SLA due in ${text}`}</span>`;
}

function visitor(c) {
  return c.contact.name || c.contact.email || `Visitor ${c.contact.id.slice(0, 8)}`;
}

// When the last message came, as lists of conversations say it: "now", "12 min", "3 h",
// "3 Dec"; the full date in its title. Redrawn once a minute (not with every tick).
const minute = computed(() => Math.floor(clock.value / 60_000));
function Ago({ at }) {
  const now = minute.value * 60_000;
  const then = Date.parse(at);
  const mins = Math.max(0, Math.floor((now - then) / 60_000));
  const text = mins < 1 ? "now" : mins < 60 ? `${mins} min` : mins < 24 * 60 ? `${Math.floor(mins / 60)} h`
    : new Date(then).toLocaleDateString([], { day: "numeric", month: "short" });
  return html`<time class="ago" dateTime=${at} title=${new Date(then).toLocaleString()}>${text}</time>`;
}

// Who holds it, in a few words: the agent (or "You"), else its state; and its team. Shown in
// All open and Resolved (in the Queue all are queued, in Mine all are the agent's).
function holder(c, meId) {
  const who = c.assignee && c.status !== "bot" && c.status !== "queued"
    ? (c.assignee.id === meId ? "You" : c.assignee.name) : c.status;
  return c.team ? `${who} · ${c.team.name}` : who;
}

// Colleagues who have it open: "with Sam", "with Sam (typing)".
function withWhom(people) {
  return `with ${people.map((p) => (p.typing ? `${p.name} (typing)` : p.name)).join(", ")}`;
}

// One conversation, in three lines of fixed height (as Chatwoot and Intercom draw them): who,
// on which channel, and when; what they said last (a mail's subject first); its
// chips, on one line, in the order of what matters most (score, deadline, who else is here,
// who holds it, why it was handed over, the queue's explanation, labels, "unverified", the language): those
// that do not fit are left out (console.css), all of them in the line's title. Its props
// are the store's objects: unchanged, they are the same objects, and the item is not drawn
// again (it reads no signal itself; Sla and Ago do, for the clock).
class Item extends Component {
  shouldComponentUpdate(next) {
    const p = this.props;
    return next.c !== p.c || next.entry !== p.entry || next.active !== p.active || next.people !== p.people
      || next.stop !== p.stop || next.pos !== p.pos || next.size !== p.size || next.meId !== p.meId
      || next.holds !== p.holds;
  }

  render({ c, entry, active, stop, pos, size, people, meId, holds }) {
    const name = visitor(c);
    const reason = c.status !== "bot" && c.handoff_reason ? reasonText(c.handoff_reason) : "";
    const labels = c.labels || [];
    const chips = [
      entry ? `priority ${entry.score}` : "",
      people && people.length ? withWhom(people) : "",
      holder(c, meId), reason, entry ? entry.explanation : "", ...labels,
      c.contact.verified === false ? "unverified" : "", c.language ? `language ${c.language}` : "",
    ].filter(Boolean).join(" · ");
    const at = c.last_message_at || c.updated_at;
    return html`<li class=${active ? "active" : ""} data-conversation-id=${c.id}
        data-score=${entry ? entry.score : undefined} tabIndex=${stop ? 0 : -1}
        aria-posinset=${pos} aria-setsize=${size} aria-current=${active ? "true" : undefined}
        onClick=${() => opener(c.id)} onKeyDown=${(ev) => keys(ev, c.id)} onFocus=${() => focused(c.id, pos)}>
      <div class="line">
        <span class="name" title=${name}>${name}</span>
        <span class="meta">${c.channel || ""}${c.channel && at ? " · " : ""}${at ? html`<${Ago} at=${at} />` : null}</span>
      </div>
      <div class="preview" title=${[c.subject, c.preview].filter(Boolean).join(" — ") || undefined}>${c.subject
        ? html`<span class="subject">${c.subject}</span>${c.preview ? " — " : ""}` : null}${c.preview || ""}</div>
      <div class="chips" title=${chips}>
        ${entry ? html`<span class="score" title=${`Priority ${entry.score}: ${entry.explanation}`}><span
          class="visually-hidden">priority </span>${String(entry.score)}</span>` : null}
        ${c.first_response_due && !c.first_response_at && c.status !== "resolved"
          ? html`<${Sla} due=${c.first_response_due} />` : null}
        ${people && people.length ? html`<span class="chip viewers">${withWhom(people)}</span>` : null}
        ${holds ? html`<span class="chip status">${holder(c, meId)}</span>` : null}
        ${reason ? html`<span class="chip reason">${reason}</span>` : null}
        ${entry ? html`<span class="why">${entry.explanation}</span>` : null}
        ${labels.map((l) => html`<span class="chip label">${l}</span>`)}
        ${c.contact.verified === false
          ? html`<span class="chip unverified" title="typed by the visitor, not verified">unverified</span>` : null}
        ${c.language ? html`<span class="chip language">${c.language}</span>` : null}
      </div>
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
  const people = presence.value;
  const meId = me.value ? me.value.id : null;
  const holds = v === "open" || v === "resolved";
  const shown = list.slice(0, drawn);
  const stop = [focusId.value, open].find((id) => id && shown.some((r) => r.c.id === id)) || shown[0]?.c.id;
  return html`${shown.map((r, i) => html`<${Item} key=${r.c.id} c=${r.c} entry=${r.entry}
      active=${r.c.id === open} stop=${r.c.id === stop} pos=${i + 1} size=${size}
      people=${people.get(r.c.id)} meId=${meId} holds=${holds} />`)}
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
