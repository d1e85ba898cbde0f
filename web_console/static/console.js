/* Switchboard console, the wiring: sign-in, the tabs, the reply box, the supervisor tables
 * and the socket. The conversation list, the open conversation's header and its transcript
 * are components (conversations/list.js, header.js, transcript.js) over conversations/
 * store.js; every socket event goes through the store's event table first, then to the other
 * modules as "console:event". Live updates over /console/ws resume from the last event id
 * seen. Text is only ever set as text, never parsed as HTML. */
import * as store from "./conversations/store.js";
import { mountHeader } from "./conversations/header.js";
import { mountList, reveal } from "./conversations/list.js";
import { mountTranscript } from "./conversations/transcript.js";
import { firstGet } from "./dom.js";
import { effect } from "./panel/ui.js";

var $ = function (id) { return document.getElementById(id); };
var ws = null, backoff = 500, typingSent = 0, typingStop = null;
var connectedBefore = false;
var overviewTimer = null;

function api(method, path, body) {
  // A FormData body (a reply with files) goes as multipart; the browser sets its boundary.
  var form = body instanceof FormData;
  return fetch(path, {
    method: method, credentials: "same-origin",
    headers: body && !form ? { "content-type": "application/json" } : {},
    body: form ? body : body ? JSON.stringify(body) : undefined
  }).then(function (r) {
    return r.text().then(function (t) {
      var data = t ? JSON.parse(t) : {};
      if (!r.ok) { var e = new Error(data.error || r.statusText); e.status = r.status; e.secondFactor = data.second_factor; throw e; }
      return data;
    });
  });
}
function el(tag, cls, text) {
  var n = document.createElement(tag);
  if (cls) n.className = cls;
  if (text !== undefined && text !== null) n.textContent = text;
  return n;
}

// ---- login ----
function showLogin() { $("app").hidden = true; $("login").hidden = false; if (ws) ws.close(); }
$("login-form").addEventListener("submit", function (ev) {
  ev.preventDefault();
  var f = ev.target, body = { email: f.email.value, password: f.password.value };
  if (f.code.value) body.code = f.code.value;
  api("POST", "/console/api/login", body)
    .then(function () { return api("GET", "/console/api/me"); })
    .then(function (d) { f.code.value = ""; $("login-code").hidden = true; start(d.agent); }, function (e) {
      $("login-error").textContent = e.message;
      // The password was right; the account also wants a code (two-factor sign-in).
      if (e.secondFactor) { $("login-code").hidden = false; f.code.focus(); }
    });
});
$("logout").addEventListener("click", function () { api("POST", "/console/api/logout").then(showLogin); });

function start(agent) {
  $("login").hidden = true; $("app").hidden = false;
  $("who").textContent = agent.name + " (" + agent.email + ")";
  // Roles are held per brand (web_console/access.py): reports for supervisors and
  // analysts, the queue and transfers for those who take conversations.
  var held = [];
  Object.keys(agent.roles || {}).forEach(function (b) { held = held.concat(agent.roles[b]); });
  var has = function (r) { return agent.admin || held.indexOf(r) >= 0; };
  store.me.value = agent;
  store.works.value = has("agent") || has("supervisor");
  $("supervisor-tab").hidden = !(has("supervisor") || has("analyst"));
  if (agent.status) $("my-status").value = agent.status;
  // Being online means taking conversations: no switch for those who take none.
  $("status-switch").hidden = !store.works.value;
  // The top of the queue first: on a busy server, the other first reads (the open
  // conversations' page, the directory, and what the modules read on console:start: the
  // filters, the panel's colleagues, the deadlines) would slow the one the agent looks at.
  var first = store.works.value ? store.readQueue() : Promise.resolve();
  first.then(function () {
    document.dispatchEvent(new CustomEvent("console:start", { detail: agent }));
    // An editor or a designer reads no conversation: their console opens on their area (the
    // Knowledge area, else the Bot area).
    var reads = has("agent") || has("supervisor") || has("analyst");
    var own = ["knowledge", "bot"].filter(function (v) { return !$(v + "-tab").hidden; })[0];
    if (!reads && own) {
      // Nor the conversation lists' tabs, which would only answer 403.
      ["queue", "mine", "open", "resolved"].forEach(function (v) {
        document.querySelector('#tabs .tab[data-view="' + v + '"]').hidden = true;
      });
      setView(own);
    }
    if (store.works.value) refreshDirectory();
    store.readOpen(true).then(connect, connect);
  });
}

document.addEventListener("console:filter", function (ev) { store.setFilters(ev.detail); });

// ---- the tabs: queue (by priority), mine, all open, resolved; the supervisor view ----
function setView(v) {
  store.view.value = v;
  Array.prototype.forEach.call(document.querySelectorAll("#tabs .tab"), function (b) {
    b.classList.toggle("active", b.dataset.view === v);
    b.setAttribute("aria-selected", String(b.dataset.view === v));
  });
  // The areas that take the main pane (people.js, knowledge/, analytics/, bot/) hide the list and the transcript.
  var area = v === "people" || v === "knowledge" || v === "analytics" || v === "bot";
  $("conversations").hidden = v === "supervisor" || area;
  $("app").toggleAttribute("data-area", v === "supervisor" || area);
  $("supervisor").hidden = v !== "supervisor";
  document.dispatchEvent(new CustomEvent("console:view", { detail: v }));
  // The supervisor view takes the main pane (after the modules had their say on it).
  if (v === "supervisor") $("transcript").hidden = true;
  else if (!area) $("transcript").hidden = false;
  if (v === "supervisor") refreshOverview();
  // Shown again, the queue is read afresh: scores grow with the wait, between events too.
  if (v === "queue") store.readQueue();
  if (v === "resolved" && !store.resolved.value.read) store.readResolved(null);
}
Array.prototype.forEach.call(document.querySelectorAll("#tabs .tab"), function (b) {
  b.addEventListener("click", function () { setView(b.dataset.view); });
});
function refreshDirectory() {
  api("GET", "/console/api/directory").then(function (d) { store.directory.value = d; });
}
function refreshOverview() {
  if (store.view.value !== "supervisor") return;
  clearTimeout(overviewTimer);
  overviewTimer = setTimeout(function () {
    api("GET", "/console/api/overview").then(renderOverview, function () {});
  }, 150);
}
function renderOverview(o) {
  var body = $("team-table").querySelector("tbody"); body.textContent = "";
  o.teams.forEach(function (t) {
    var tr = el("tr");
    tr.dataset.team = t.slug;
    // brand/team, which a phone's narrow column breaks after the slash (<wbr>), not mid-word.
    var team = el("td"); team.append(t.brand + "/", el("wbr"), t.name + (t.assignment === "manual" ? " (pick)" : ""));
    tr.appendChild(team);
    [t.queued, t.assigned, t.oldest_queued_at ? ago(t.oldest_queued_at) : "—", t.overdue]
      .forEach(function (v) { tr.appendChild(el("td", "", String(v))); });
    var due = el("td"); if (t.next_due) due.appendChild(slaBadge(t.next_due, null)); tr.appendChild(due);
    body.appendChild(tr);
  });
  body = $("agent-table").querySelector("tbody"); body.textContent = "";
  o.agents.forEach(function (a) {
    var tr = el("tr");
    tr.dataset.agent = a.email;
    [a.name, a.status, a.load + "/" + a.capacity, a.teams.join(", ")].forEach(function (v) { tr.appendChild(el("td", "", v)); });
    body.appendChild(tr);
  });
}
function ago(iso) {
  var m = Math.max(0, Math.floor((Date.now() - Date.parse(iso)) / 60000));
  return m < 60 ? m + " min" : Math.floor(m / 60) + " h " + (m % 60) + " min";
}
// An SLA countdown that ticks (see the interval below): green, amber under 5 min, red late.
// (The list's own badges are components: conversations/list.js.)
function slaBadge(due, doneAt) {
  var b = el("span", "sla");
  b.dataset.due = due;
  if (doneAt) { b.textContent = "responded"; return b; }
  tickBadge(b);
  return b;
}
function tickBadge(b) {
  var left = (Date.parse(b.dataset.due) - Date.now()) / 1000;
  var abs = Math.abs(left), text = abs < 60 ? Math.floor(abs) + " s" : abs < 3600 ? Math.floor(abs / 60) + " min" : Math.floor(abs / 3600) + " h " + Math.floor(abs % 3600 / 60) + " min";
  b.textContent = left < 0 ? "SLA breached " + text + " ago" : "SLA due in " + text;
  b.className = "sla" + (left < 0 ? " late" : left < 300 ? " soon" : "");
}
setInterval(function () {
  Array.prototype.forEach.call(document.querySelectorAll(".sla[data-due]"), function (b) {
    if (b.textContent !== "responded") tickBadge(b);
  });
}, 1000);

mountList($("conversations"), openConversation);

$("my-status").addEventListener("change", function () {
  api("POST", "/console/api/me/status", { status: $("my-status").value })
    .then(function (d) { store.setMyStatus(d.agent); }, function (e) { $("reply-error").textContent = e.message; });
});
function toast(text, cls) {
  var t = el("div", "toast " + (cls || ""), text);
  $("toasts").appendChild(t);
  setTimeout(function () { t.remove(); }, 8000);
}

// ---- the open conversation: header and transcript are components (conversations/) ----
function openConversation(id) {
  $("placeholder").hidden = true; $("thread").hidden = false;
  store.openThread(id);
  reveal(id);
  $("reply-error").textContent = "";
  document.dispatchEvent(new CustomEvent("console:open", { detail: id }));
}
// Other modules ask for a conversation to be opened (a mention's toast: panel/notes.js).
// From an area without the transcript (the Knowledge area's conversations), the list first.
document.addEventListener("console:show", function (ev) {
  if (["supervisor", "people", "knowledge", "analytics", "bot"].indexOf(store.view.value) >= 0) setView("open");
  openConversation(ev.detail);
});
// Other modules speak on the socket through this (presence.js: what this console views).
document.addEventListener("console:send", function (ev) {
  if (ws && ws.readyState === 1) ws.send(JSON.stringify(ev.detail));
});
$("reply-form").addEventListener("submit", function (ev) {
  ev.preventDefault();
  var text = $("reply").value.trim();
  var files = $("reply-files").files;
  var openId = store.openId.value;
  if ((!text && !files.length) || !openId) return;
  var clientId = (crypto.randomUUID ? crypto.randomUUID() : String(Date.now())).replace(/[^A-Za-z0-9_-]/g, "");
  $("send").disabled = true;
  clearTimeout(typingStop);
  if (ws && ws.readyState === 1) ws.send(JSON.stringify({ type: "typing", conversation_id: openId, active: false }));
  typingSent = 0;
  var body = { text: text, client_id: clientId };
  if (files.length) {
    body = new FormData();
    body.append("text", text);
    body.append("client_id", clientId);
    Array.prototype.forEach.call(files, function (f) { body.append("files", f, f.name); });
  }
  api("POST", "/console/api/conversations/" + openId + "/messages", body)
    .then(function (d) {
            $("reply").value = ""; $("reply-files").value = ""; showChosenFiles();
            $("reply-error").textContent = ""; store.addMessages([d.message]);
          },
          function (e) { $("reply-error").textContent = e.message; if (e.status === 401) showLogin(); })
    .then(function () { $("send").disabled = false; });
});
function showChosenFiles() {
  var names = Array.prototype.map.call($("reply-files").files, function (f) { return f.name; });
  $("reply-chosen").textContent = names.length ? "Attached: " + names.join(", ") : "";
}
$("reply-files").addEventListener("change", showChosenFiles);
$("reply").addEventListener("keydown", function (ev) {
  if (ev.key === "Enter" && !ev.shiftKey) { ev.preventDefault(); $("reply-form").requestSubmit(); }
});
$("reply").addEventListener("input", function () {
  var openId = store.openId.value;
  if (!openId || !ws || ws.readyState !== 1) return;
  var now = Date.now();
  if (now - typingSent > 2000) { ws.send(JSON.stringify({ type: "typing", conversation_id: openId, active: true })); typingSent = now; }
  clearTimeout(typingStop);
  var id = openId;
  typingStop = setTimeout(function () {
    if (ws && ws.readyState === 1) ws.send(JSON.stringify({ type: "typing", conversation_id: id, active: false }));
    typingSent = 0;
  }, 3000);
});

// ---- live feed ----
function connect() {
  $("live").dataset.state = "connecting"; $("live").textContent = "connecting…";
  ws = new WebSocket(location.origin.replace(/^http/, "ws") + "/console/ws");
  var ping = null;
  // batch: the server may send the frames queued for this console together, in order, as
  // one {type: "batch", frames: [...]} (web_console/hub.py).
  ws.onopen = function () { ws.send(JSON.stringify({ type: "hello", last_event_id: store.lastEvent(), batch: true })); };
  ws.onmessage = function (ev) {
    var f = JSON.parse(ev.data);
    if (f.type === "batch") f.frames.forEach(handle);
    else handle(f);
  };
  function handle(f) {
    if (f.type === "welcome") {
      backoff = 500;
      store.resumeFrom(f.last_event_id);
      $("live").dataset.state = "live"; $("live").textContent = "live";
      document.dispatchEvent(new CustomEvent("console:connected"));
      // The replay covers events after our last id; the list and the open transcript are
      // also re-read from the server, so an event committed out of id order while we were
      // away cannot leave a stale view behind.
      store.readAfter();
      if (connectedBefore) { store.readOpen(false).catch(function () {}); store.readQueue(); refreshDirectory(); }
      // The status the server holds, not the one this page remembers: while the socket was
      // away the presence sweep may have marked the agent away (and that event is live-only).
      api("GET", "/console/api/me").then(function (d) {
        store.setMyStatus(d.agent);
      });
      connectedBefore = true;
      ping = setInterval(function () { ws.send('{"type":"ping"}'); }, 25000);
    } else if (f.type === "event") {
      var was = store.conversations.value.get(f.conversation_id);
      // The store's event table first (the list, the header), then the other modules: the
      // context panel (panel/main.js) keeps its own store from the same frames.
      store.dispatch(f);
      document.dispatchEvent(new CustomEvent("console:event", { detail: f }));
      toastFor(f, was);
      if (f.name === "conversation.created" || f.name === "conversation.updated"
          || f.name === "sla.breached" || f.name === "agent.updated") refreshOverview();
      // The customer's typing, shown under the transcript of the conversation open here.
      if (f.conversation_id !== store.openId.value) return;
      if (f.name === "message.created" && f.data.message.author_kind === "customer") $("customer-typing").textContent = "";
      else if (f.name === "typing" && f.data.author_kind === "customer") {
        $("customer-typing").textContent = f.data.active ? "Customer is typing…" : "";
      }
    } else if (f.type === "checkpoint") {
      // Every event up to there is here: the next resume starts from it.
      store.resumeFrom(f.last_event_id);
    } else if (f.type === "resync") {
      // Too far behind (or the bus had a gap): re-read the list and the open transcript.
      store.resumeFrom(f.replayed_through);
      store.readOpen(true).then(store.readAfter, function () {});
      store.readQueue();
    }
  }
  ws.onclose = function (ev) {
    clearInterval(ping);
    $("live").dataset.state = "connecting"; $("live").textContent = "reconnecting…";
    if (ev.code === 4401) { showLogin(); return; }
    if ($("app").hidden) return;
    // Full jitter, as the widget: consoles dropped together do not come back together.
    setTimeout(connect, Math.random() * backoff);
    backoff = Math.min(backoff * 2, 15000);
  };
}

// What an event tells the agent in a toast: a conversation given to them (not their own
// claim), and a missed deadline to those concerned.
function toastFor(f, was) {
  var me = store.me.value;
  if (!me) return;
  if (f.name === "conversation.created" || f.name === "conversation.updated") {
    var now = f.data.conversation;
    if (now.assignee && now.assignee.id === me.id && f.data.change && f.data.change !== "assigned:claim"
        && f.data.change.indexOf("assigned:") === 0 && !(was && was.assignee && was.assignee.id === me.id)) {
      toast("New conversation for you: " + (now.contact.name || now.contact.email || "a visitor"));
    }
  } else if (f.name === "sla.breached") {
    var bc = f.data.conversation;
    // Told: the team the policy names, supervisors, and whoever holds the conversation.
    var concerned = me.role !== "agent" || (bc.assignee && bc.assignee.id === me.id)
      || (me.team_ids || []).indexOf(f.data.notify_team_id || (bc.team && bc.team.id)) >= 0;
    if (concerned) toast("SLA breached (" + f.data.kind.replace("_", " ") + "): " + (bc.contact.name || bc.contact.email || "a visitor"), "breach");
  }
}

// The status the server says (an agent.updated, a re-read after a reconnect) is the one shown.
effect(function () {
  var me = store.me.value;
  if (me && me.status && $("my-status").value !== me.status) $("my-status").value = me.status;
});
mountHeader($("thread-head"), $("thread-priority"), function (e) {
  $("reply-error").textContent = e ? e.message : "";
  if (e && e.status === 401) showLogin();
});
mountTranscript($("messages"));

setView("queue");
firstGet("me", "/console/api/me").then(function (d) { start(d.agent); }, showLogin);
