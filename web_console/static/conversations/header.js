// The open conversation's header (#thread-head) and its priority line (#thread-priority), as
// components over conversations/store.js: who and where, its facts, the SLA countdown, and
// what the agent may do (Claim, Transfer, Resolve, link the contact, Return to bot). An open
// conversation shows why it ranks where it does; a resolved one shows by whom and when
// instead, and offers neither the queue's priority nor the contact link.
import {
  clock, conversations, directory, entryOf, me, openId, presence, resolution, setConversation,
} from "./store.js";
import { api } from "../dom.js";
import { reasonText, when } from "../panel/format.js";
import { effect, html, render, signal, useRef } from "../panel/ui.js";

const transferTo = signal("");
let failed = () => {};

function act(path, body) {
  const id = openId.value;
  if (!id) return;
  api("POST", `/console/api/conversations/${id}${path}`, body).then(
    (c) => { setConversation(c); failed(null); },
    (e) => failed(e),
  );
}

function Sla({ due, done }) {
  if (done) return html`<span class="sla">responded</span>`;
  const left = (Date.parse(due) - clock.value) / 1000;
  const abs = Math.abs(left);
  const text = abs < 60 ? `${Math.floor(abs)} s` : abs < 3600 ? `${Math.floor(abs / 60)} min`
    : `${Math.floor(abs / 3600)} h ${Math.floor((abs % 3600) / 60)} min`;
  return html`<span class=${`sla${left < 0 ? " late" : left < 300 ? " soon" : ""}`}>${left < 0
    ? `SLA breached ${text} ago` : `SLA due in ${text}`}</span>`;
}

// Who holds it: "with the bot", "queued", "assigned to you", "assigned to Sam".
function holding(c, agent) {
  if (c.status === "bot") return "with the bot";
  if (c.status !== "assigned" || !c.assignee) return c.status;
  return agent && c.assignee.id === agent.id ? "assigned to you" : `assigned to ${c.assignee.name}`;
}

function facts(c, agent) {
  const out = [holding(c, agent)];
  if (c.status !== "bot" && c.handoff_reason) out.push(`handed over: ${reasonText(c.handoff_reason)}`);
  if (c.language) out.push(`language: ${c.language}`);
  if (c.contact.vip) out.push("VIP");
  if (c.contact.verified === false) out.push("unverified visitor");
  if (c.team) out.push(`team: ${c.team.name}`);
  if (c.required_skills && c.required_skills.length) out.push(`needs: ${c.required_skills.join(", ")}`);
  return out.join(" · ");
}

// Transfer to a team's queue or an online colleague. Nothing is chosen at first: a click on
// Transfer never moves the conversation somewhere the agent did not pick.
function Transfer({ hidden }) {
  const d = directory.value, agent = me.value;
  const agents = d.agents.filter((a) => a.status === "online" && (!agent || a.id !== agent.id));
  const options = [
    ...d.teams.map((t) => ({ value: `team:${t.id}`, text: `Team: ${t.name}` })),
    ...agents.map((a) => ({ value: `agent:${a.id}`, text: `${a.name} (${a.load}/${a.capacity})` })),
  ];
  const chosen = options.some((o) => o.value === transferTo.value) ? transferTo.value : "";
  const send = () => {
    const [kind, id] = chosen.split(":");
    if (!id) return;
    act("/transfer", kind === "team" ? { team_id: id } : { agent_id: id });
    transferTo.value = "";
  };
  return html`<span id="transfer-box" hidden=${hidden}>
    <select id="transfer-to" aria-label="Transfer to" value=${chosen}
        onChange=${(ev) => { transferTo.value = ev.currentTarget.value; }}>
      <option value="">Transfer to…</option>
      ${options.map((o) => html`<option key=${o.value} value=${o.value}>${o.text}</option>`)}
    </select>
    <button id="transfer" type="button" disabled=${!chosen} onClick=${send}>Transfer</button>
  </span>`;
}

// Link another contact (their email, or a channel identity) as the same person: behind a
// button, as it is seldom needed and its field read as a second reply box.
const merging = signal(false);
function Merge({ hidden }) {
  const field = useRef(null);
  const submit = (ev) => {
    ev.preventDefault();
    const other = field.current.value.trim();
    if (!other) return;
    act("/merge-contact", { contact: other });
    field.current.value = "";
    merging.value = false;
  };
  const toggle = () => {
    merging.value = !merging.value;
    if (merging.value) requestAnimationFrame(() => field.current && field.current.focus());
  };
  const keys = (ev) => { if (ev.key === "Escape") { ev.stopPropagation(); merging.value = false; } };
  return html`<button id="merge-toggle" type="button" class="quiet" hidden=${hidden}
      aria-expanded=${String(merging.value)} aria-controls="merge-box" onClick=${toggle}>Same person as…</button>
    <form id="merge-box" hidden=${hidden || !merging.value} onSubmit=${submit} onKeyDown=${keys}>
      <input id="merge-with" ref=${field} placeholder="their email, or telegram:123"
        aria-label="Same person as (an email or a channel identity)" />
      <button type="submit">Link</button>
    </form>`;
}

// Colleagues in this conversation (conversations/store.js's presence): who types, who looks;
// and, before the agent writes, that a colleague holds it (the server would refuse the reply).
// A live region that is always there, so a screen reader hears it change.
function Presence({ c, agent }) {
  const people = presence.value.get(openId.value) || [];
  const typing = people.filter((p) => p.typing).map((p) => p.name);
  const viewing = people.filter((p) => !p.typing).map((p) => p.name);
  const parts = [];
  if (typing.length) parts.push(`${typing.join(", ")} ${typing.length > 1 ? "are" : "is"} typing…`);
  if (viewing.length) parts.push(`${viewing.join(", ")} ${viewing.length > 1 ? "are" : "is"} viewing`);
  const held = c && c.status === "assigned" && c.assignee && agent && c.assignee.id !== agent.id;
  return html`<span id="presence" role="status">${parts.join(" · ")}</span>
    ${held ? html`<span id="held-by">Held by ${c.assignee.name}: only they can reply</span>` : null}`;
}

// Three rows: who (and the deadline, and who else is here); the facts; what one may do.
function Header() {
  const id = openId.value;
  if (!id) return null;
  const c = conversations.value.get(id);
  const agent = me.value;
  const open = Boolean(c) && c.status !== "resolved";
  const mineOrFree = Boolean(c) && (!c.assignee || (agent && c.assignee.id === agent.id));
  const title = c ? `${c.contact.name || c.contact.email || "Visitor"} — ${c.channel}${c.subject ? `: ${c.subject}` : ""}`
    : "Loading…";
  return html`<div class="head-top">
      <h2 id="thread-title">${title}</h2>
      <span id="thread-sla">${open && c.first_response_due ? html`<${Sla} due=${c.first_response_due} done=${c.first_response_at} />` : null}</span>
      <${Presence} c=${c} agent=${agent} />
    </div>
    <span id="thread-facts">${c ? facts(c, agent) : ""}</span>
    <div class="head-actions">
      <button id="claim" type="button" hidden=${!open || !(c.status === "queued" || c.status === "bot")}
        onClick=${() => act("/claim")}>Claim</button>
      <button id="resolve" type="button" hidden=${!open || !mineOrFree} onClick=${() => act("/resolve")}>Resolve</button>
      <button id="return-to-bot" type="button" hidden=${!open || c.status === "bot" || !mineOrFree}
        onClick=${() => act("/return-to-bot")}>Return to bot</button>
      <${Transfer} hidden=${!open || !mineOrFree} />
      <${Merge} hidden=${!open} />
    </div>`;
}

function points(parts) {
  return parts.map((p) => `${p.points >= 0 ? "+" : ""}${p.points} ${p.label}`).join(", ");
}

// Why it ranks where it does while it is open (its queue entry, else its standing priority);
// once resolved, by whom and when.
function StatusLine() {
  const id = openId.value;
  const c = id && conversations.value.get(id);
  if (!c) return null;
  if (c.status === "resolved") {
    const done = resolution();
    const by = done && done.actor ? ` by ${done.actor.name || "an agent"}` : "";
    const at = done ? done.created_at : c.updated_at;
    return html`<span class="resolved-line">Resolved${by}${at ? html` · <time dateTime=${at}>${when(at)}</time>` : null}</span>`;
  }
  const ranked = entryOf(id);
  if (ranked) return `Priority ${ranked.score}: ${ranked.explanation}`;
  return c.priority_parts && c.priority_parts.length ? `Priority ${c.priority}: ${points(c.priority_parts)}` : null;
}

// `onResult(error)` hears how an action went (null when it went through).
export function mountHeader(head, line, onResult) {
  failed = onResult;
  // Another conversation opens with its contact link folded and nothing chosen to transfer to.
  effect(() => { if (openId.value) { merging.value = false; transferTo.value = ""; } });
  render(html`<${Header} />`, head);
  render(html`<${StatusLine} />`, line);
}
