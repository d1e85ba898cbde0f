// What happened to the open conversation besides its messages (handed off, assigned,
// transferred, resolved…), shown inline in the transcript where it happened in time.
// console.js renders the messages; this module reads GET …/activities when a conversation
// opens and takes each conversation.updated event's `activity` after that. Both place their
// rows by time (console.js's placeByTime rule, repeated in place() below).
import { api, el } from "./dom.js";
import { reasonText, when } from "./panel/format.js";

const messages = document.getElementById("messages");
let openId = null;
let generation = 0;

function nameOf(who) {
  return who ? who.name || "an agent" : "";
}

const HOW = { auto: "by the router", claim: "claimed", reply: "by replying", transfer: "by transfer" };
const DEADLINE = { first_response: "first response", resolution: "resolution" };

// One sentence per kind; names are set as text, never parsed.
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

function place(a) {
  if (a.conversation_id !== openId || messages.querySelector(`li[data-activity="${a.id}"]`)) return;
  const li = el("li", { className: `activity ${a.kind}` },
    el("span", { className: "what", text: describe(a) }),
    el("time", { dateTime: a.created_at || "", text: when(a.created_at) }));
  li.dataset.activity = a.id;
  li.dataset.at = a.created_at || "";
  // After every row at or before its time (a message of the same time included: the one
  // that caused it): rows arrive in any order, the transcript reads in time.
  const at = Date.parse(li.dataset.at) || Infinity;
  let before = null;
  for (let row = messages.lastElementChild; row; row = row.previousElementSibling) {
    if (!(Date.parse(row.dataset.at) > at)) break;
    before = row;
  }
  messages.insertBefore(li, before);
}

document.addEventListener("console:open", (event) => {
  openId = event.detail;
  const mine = ++generation;
  api("GET", `/console/api/conversations/${openId}/activities`).then(
    (d) => { if (mine === generation) d.activities.forEach(place); },
    () => {},   // a role without conversations, or a conversation gone: no rows to show
  );
});

document.addEventListener("console:event", (event) => {
  const f = event.detail;
  if (f.name === "conversation.updated" && f.data.activity) place(f.data.activity);
});
