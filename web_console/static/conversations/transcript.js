// The open conversation's transcript (#messages): its messages, and what happened between
// them (handed off and why, taken, transferred, resolved…) inline where it happened in time,
// as components over conversations/store.js. Rows are keyed (a message by id, an activity by
// id): a live message.created adds one <li>, a delivery receipt redraws one. Customer text,
// HTML mail included, is rendered as text, never parsed as markup.
import { activities, conversations, directory, messages } from "./store.js";
import { reasonText, signed } from "../panel/format.js";
import { Component, html, render, useEffect, useRef } from "../panel/ui.js";
import { BotFlag } from "../bot/flag.js";

function nameOf(who) {
  return who ? who.name || "an agent" : "";
}

const HOW = { auto: "by the router", claim: "claimed", reply: "by replying", transfer: "by transfer" };
const DEADLINE = { first_response: "first response", resolution: "resolution" };

// One sentence per kind of activity.
export function describe(a) {
  const by = a.actor ? ` by ${nameOf(a.actor)}` : "";
  switch (a.kind) {
    case "handed_off": return `Handed to a human: ${reasonText(a.detail) || "no reason given"}`;
    case "assigned":
      if (a.detail === "claim" || a.detail === "reply") return `${nameOf(a.agent)} took the conversation (${HOW[a.detail]})`;
      if (a.detail === "transfer") return `Transferred to ${nameOf(a.agent)}${by}`;
      return `Assigned to ${nameOf(a.agent)} ${HOW[a.detail] || ""}`.trim();
    case "transferred": return `Transferred to the ${a.team ? a.team.name : "team"} queue${by}`;
    case "requeued": return `Back in the queue: ${nameOf(a.agent)} left it unanswered`;
    case "returned_to_bot": return `Returned to the bot${by}`;
    case "resolved": return `Resolved${by}`;
    case "reopened": return "Reopened: the customer wrote again";
    case "sla_breached": return `Missed the ${DEADLINE[a.detail] || a.detail} deadline`;
    default: return a.kind.replace(/_/g, " ");
  }
}

// Who wrote it: the customer's name, the agent's (from the message, else the directory).
function authorName(m) {
  if (m.author_kind === "customer") {
    const c = conversations.value.get(m.conversation_id);
    return (c && (c.contact.name || c.contact.email)) || "Customer";
  }
  if (m.author_kind === "agent") {
    if (m.author_name) return m.author_name;
    const known = (directory.value.agents || []).find((a) => a.id === m.author_id);
    return known ? known.name : "Agent";
  }
  return m.author_kind === "bot" ? "Bot" : "Switchboard";
}

// "10:15" today, "3 Dec 10:15" before (messages and activities alike; the full date in the
// title).
function shortTime(iso) {
  const d = new Date(iso), now = new Date();
  const time = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  return d.toDateString() === now.toDateString() ? time
    : `${d.toLocaleDateString([], { day: "numeric", month: "short" })} ${time}`;
}

const DELIVERY = { pending: "sending…", sent: "sent", delivered: "delivered", delayed: "delayed",
  bounced: "bounced", failed: "not delivered", suppressed: "not sent" };

function Delivery({ d }) {
  const text = (DELIVERY[d.status] || d.status) + (d.detail && d.status !== "sent" ? `: ${d.detail}` : "");
  return html`<div class=${`delivery ${d.status}`} title=${d.detail || undefined}>${text}</div>`;
}

// A sentiment score (-1 … +1) in a word first: the number alone meant little to a newcomer.
// The cut-offs are VADER's own (±0.05), the scorer for English (nlu/).
function mood(score) {
  return score <= -0.05 ? "negative" : score >= 0.05 ? "positive" : "neutral";
}

// What the NLU made of a customer's message, or which bot action said something.
function nluText(m) {
  const n = m.nlu;
  if (!n) return m.author_kind === "bot" ? "bot" : "";
  if (n.action) return `bot · ${n.action}`;
  const parts = [];
  if (n.intent && n.intent !== "unknown") {
    parts.push(`${n.retrieval_intent || n.intent} ${Math.round(n.confidence * 100)}%`);
  }
  // Why the bot judged it outside what it was built for (nlu/scope.py), in its own words.
  if (n.out_of_scope) parts.push(`out of scope${n.out_of_scope.length ? ": " + n.out_of_scope.join("; ") : ""}`);
  for (const e of n.entities || []) parts.push(`${e.entity}=${e.value}`);
  if (n.language) parts.push(n.language);
  if (typeof n.sentiment === "number") parts.push(`${mood(n.sentiment)} ${signed(n.sentiment)}`);
  return parts.join(" · ");
}

// A message; drawn again only when the message itself (its NLU, its delivery) or its
// author's name changes. panel/context.js marks a row `.highlight` by hand: a redraw with the
// same class leaves that mark alone.
class Message extends Component {
  shouldComponentUpdate(next) { return next.m !== this.props.m || next.author !== this.props.author; }

  render({ m, author }) {
    const files = m.attachments || [];
    const meta = nluText(m);
    return html`<li class=${m.author_kind} data-seq=${m.seq} data-id=${m.id} data-author=${m.author_kind}
        data-at=${m.created_at || ""}>
      <div class="bubble">
        <div class="who"><span class="author">${author}</span>${m.created_at
          ? html`<time dateTime=${m.created_at} title=${new Date(m.created_at).toLocaleString()}>${shortTime(m.created_at)}</time>` : null}</div>
        ${m.subject ? html`<div class="subject">${m.subject}</div>` : null}
        <div class="text">${m.text}</div>
        ${m.automated ? html`<div class="automated">Sent by a machine (${m.automated}): not answered automatically</div>` : null}
        ${files.length || m.original ? html`<div class="files">
          ${files.map((f) => html`<a class="file" href=${`/console/api/messages/${m.id}/attachments/${f.n}`}
            download=${f.filename}>${f.filename} (${Math.max(1, Math.round(f.size / 1024))} KB)</a>`)}
          ${m.original ? html`<a class="file original" href=${`/console/api/messages/${m.id}/original`}>original mail (.eml)</a>` : null}
        </div>` : null}
        ${meta ? html`<div class="nlu">${meta}</div>` : null}
        ${m.author_kind === "customer" && m.nlu ? html`<${BotFlag} m=${m} />` : null}
        ${m.delivery ? html`<${Delivery} d=${m.delivery} />` : null}
      </div>
    </li>`;
  }
}

function Activity({ a }) {
  return html`<li class=${`activity ${a.kind}`} data-activity=${a.id} data-at=${a.created_at || ""}>
    <span class="what">${describe(a)}</span>
    ${a.created_at ? html`<time dateTime=${a.created_at} title=${new Date(a.created_at).toLocaleString()}>${shortTime(a.created_at)}</time>` : null}
  </li>`;
}

// Rows in time; a message and the activity it caused share their transaction's time, and
// the message goes first. Rows without a time go last.
function timeline(list, acts) {
  const at = (iso) => Date.parse(iso) || Infinity;
  const rows = [
    ...list.map((m) => ({ key: `m${m.id}`, at: at(m.created_at), kind: 0, order: m.seq, m })),
    ...acts.map((a) => ({ key: `a${a.id}`, at: at(a.created_at), kind: 1, order: a.id, a })),
  ];
  // (Two rows without a time: Infinity - Infinity is NaN, falsy, so kind and order decide.)
  return rows.sort((x, y) => (x.at - y.at) || (x.kind - y.kind) || (x.order - y.order));
}

function Transcript({ list }) {
  const rows = timeline(messages.value, activities.value);
  // A new message scrolls the transcript to its end (activities arrive with their message).
  const count = useRef(0);
  useEffect(() => {
    if (messages.value.length !== count.current) {
      count.current = messages.value.length;
      list.scrollTop = list.scrollHeight;
    }
  });
  return rows.map((r) => (r.m
    ? html`<${Message} key=${r.key} m=${r.m} author=${authorName(r.m)} />`
    : html`<${Activity} key=${r.key} a=${r.a} />`));
}

export function mountTranscript(list) {
  render(html`<${Transcript} list=${list} />`, list);
}
