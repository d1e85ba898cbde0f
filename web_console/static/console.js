/* Switchboard console. Live updates over /console/ws resume from the last event id seen.
 * Customer text is only ever set with textContent, never parsed as HTML. */
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var conversations = {};   // id -> conversation view
  var openId = null, openSeq = 0, shownSeqs = {};
  var lastEventId = 0, ws = null, backoff = 500, typingSent = 0, typingStop = null;
  var connectedBefore = false;
  var me = null, works = false, view = "queue", queue = [], directory = { agents: [], teams: [] };
  // The Resolved tab's pages: read when the tab is first shown, then on "Show more".
  var resolvedRead = false, resolvedNext = null;
  // The list filters (filters.js): {channel, brand, team, language, label}, each optional.
  var only = {};
  var queueTimer = null, overviewTimer = null;

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
    me = agent;
    $("who").textContent = agent.name + " (" + agent.email + ")";
    // Roles are held per brand (web_console/access.py): reports for supervisors and
    // analysts, the queue and transfers for those who take conversations.
    var held = [];
    Object.keys(agent.roles || {}).forEach(function (b) { held = held.concat(agent.roles[b]); });
    var has = function (r) { return agent.admin || held.indexOf(r) >= 0; };
    works = has("agent") || has("supervisor");
    $("supervisor-tab").hidden = !(has("supervisor") || has("analyst"));
    document.dispatchEvent(new CustomEvent("console:start", { detail: agent }));
    if (agent.status) $("my-status").value = agent.status;
    if (works) { refreshQueue(); refreshDirectory(); }
    api("GET", "/console/api/conversations").then(function (d) {
      conversations = {};
      d.conversations.forEach(function (c) { conversations[c.id] = c; });
      lastEventId = d.last_event_id;
      renderList();
      connect();
    });
  }

  // The filters as the list API takes them ("" when none).
  function filterQuery() {
    return Object.keys(only).filter(function (k) { return only[k]; })
      .map(function (k) { return k + "=" + encodeURIComponent(only[k]); }).join("&");
  }
  // The same filters over a conversation the console holds (events keep the lists live).
  function kept(c) {
    return (!only.channel || c.channel === only.channel) && (!only.brand || c.brand_id === only.brand)
      && (!only.team || (c.team && c.team.id === only.team)) && (!only.language || c.language === only.language)
      && (!only.label || (c.labels || []).indexOf(only.label) >= 0);
  }
  document.addEventListener("console:filter", function (ev) {
    only = ev.detail || {};
    // What the first page held may not be all that matches: read the filtered pages again.
    reloadList();
    if (resolvedRead) readResolved(null);
    renderList();
  });
  function reloadList() {
    var q = filterQuery();
    api("GET", "/console/api/conversations" + (q ? "?" + q : "")).then(function (d) {
      d.conversations.forEach(function (c) { conversations[c.id] = c; });
      renderList();
    });
  }

  // ---- the lists: queue (by priority), mine, all open; the supervisor view ----
  function setView(v) {
    view = v;
    Array.prototype.forEach.call(document.querySelectorAll("#tabs .tab"), function (b) {
      b.classList.toggle("active", b.dataset.view === v);
      b.setAttribute("aria-selected", String(b.dataset.view === v));
    });
    $("conversations").hidden = v === "supervisor" || v === "people";
    $("supervisor").hidden = v !== "supervisor";
    document.dispatchEvent(new CustomEvent("console:view", { detail: v }));
    // The supervisor view takes the main pane (after the modules had their say on it).
    if (v === "supervisor") $("transcript").hidden = true;
    else if (v !== "people") $("transcript").hidden = false;
    if (v === "supervisor") refreshOverview();
    if (v === "queue") refreshQueue();
    if (v === "resolved" && !resolvedRead) readResolved(null);
    renderList();
  }
  function readResolved(before) {
    resolvedRead = true;
    var q = filterQuery();
    api("GET", "/console/api/conversations?status=resolved" + (before ? "&before=" + encodeURIComponent(before) : "") + (q ? "&" + q : ""))
      .then(function (d) {
        d.conversations.forEach(function (c) { if (!conversations[c.id]) conversations[c.id] = c; });
        resolvedNext = d.next_before;
        renderList();
      }, function () { resolvedRead = false; });
  }
  Array.prototype.forEach.call(document.querySelectorAll("#tabs .tab"), function (b) {
    b.addEventListener("click", function () { setView(b.dataset.view); });
  });
  // The ranked queue is read when the console starts, when the Queue tab is shown and after
  // a reconnect or a resync; in between, queue.changed events keep it (applyQueueChange).
  // Changes received while a read is on its way are applied again over its answer.
  var queueHeld = null;
  function refreshQueue() {
    if (!works) return;
    clearTimeout(queueTimer);
    queueHeld = queueHeld || [];
    queueTimer = setTimeout(function () {
      api("GET", "/console/api/queue").then(function (d) {
        var held = queueHeld || [];
        queueHeld = null; queue = d.queue;
        held.forEach(function (f) { if (f.id > d.last_event_id) applyQueueChange(f.conversation_id, f.data.queue); });
        renderList(); if (openId) renderThreadHeader();
      }, function () { queueHeld = null; });
    }, 0);  // no wait: events no longer ask; this only folds the asks of one moment into one
  }
  // A queue.changed event: the conversation's rank, score and band now, or null when it left
  // the queue. The server ranks (routing/assignment.py); here the entry only goes where its
  // rank sorts, as a plain string. A router pass sends a burst: one render per frame.
  var queueFrame = 0;
  function applyQueueChange(id, entry) {
    var old = null;
    queue = queue.filter(function (q) { if (q.id !== id) return true; old = q; return false; });
    if (entry) {
      var q = Object.assign({}, old || conversations[id] || {}, entry), at = 0;
      while (at < queue.length && queue[at].rank < q.rank) at++;
      queue.splice(at, 0, q);
    }
    if (queueFrame) return;
    queueFrame = requestAnimationFrame(function () {
      queueFrame = 0; renderList(); if (openId) renderThreadHeader();
    });
  }
  function refreshDirectory() {
    api("GET", "/console/api/directory").then(function (d) { directory = d; renderThreadHeader(); });
  }
  function refreshOverview() {
    if (view !== "supervisor") return;
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
      [t.brand + "/" + t.name + (t.assignment === "manual" ? " (pick)" : ""), t.queued, t.assigned,
       t.oldest_queued_at ? ago(t.oldest_queued_at) : "—", t.overdue].forEach(function (v) { tr.appendChild(el("td", "", String(v))); });
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

  function item(c, extra) {
    var li = el("li", c.id === openId ? "active" : "");
    li.dataset.conversationId = c.id;
    if (extra) {
      li.appendChild(el("span", "score", String(extra.score)));
      li.dataset.score = extra.score;
    }
    li.appendChild(el("span", "status", c.status + (c.assignee ? " · " + c.assignee.name : "") + (c.team ? " · " + c.team.name : "")));
    if (c.status !== "bot" && c.handoff_reason) li.appendChild(el("span", "reason", reasonText(c.handoff_reason)));
    if (c.language) li.appendChild(el("span", "language", c.language));
    // Which channel a reply goes out on (a mail reads differently from a chat line).
    if (c.channel) li.appendChild(el("span", "language channel", c.channel));
    if (c.first_response_due && c.status !== "resolved") li.appendChild(slaBadge(c.first_response_due, c.first_response_at));
    var name = li.appendChild(el("div", "name", c.contact.name || c.contact.email || "Visitor " + c.contact.id.slice(0, 8)));
    // A visitor nobody vouched for: its name and email are only what it typed.
    if (c.contact.verified === false) name.appendChild(el("span", "language unverified", "unverified")).title = "typed by the visitor, not verified";
    if (extra) li.appendChild(el("div", "why", extra.explanation));
    // A mail's subject says what it is about before its first lines do.
    if (c.subject) li.appendChild(el("div", "subject", c.subject));
    li.appendChild(el("div", "preview", c.preview || ""));
    if (c.labels && c.labels.length) {
      var tags = li.appendChild(el("div", "labels"));
      c.labels.forEach(function (l) { tags.appendChild(el("span", "label", l)); });
    }
    li.addEventListener("click", function () { openConversation(c.id); });
    // Reachable by Tab and opened by Enter or Space, as a click opens it.
    li.tabIndex = 0;
    li.addEventListener("keydown", function (ev) {
      if (ev.target === li && (ev.key === "Enter" || ev.key === " ")) { ev.preventDefault(); openConversation(c.id); }
    });
    return li;
  }
  function renderList() {
    var ul = $("conversations");
    ul.textContent = "";
    var all = Object.keys(conversations).map(function (k) { return conversations[k]; })
      .filter(function (c) { return c.status !== "resolved" && kept(c); });
    var mine = all.filter(function (c) { return me && c.assignee && c.assignee.id === me.id && c.status === "assigned"; });
    $("queue-count").textContent = queue.length ? "(" + queue.length + ")" : "";
    $("mine-count").textContent = mine.length ? "(" + mine.length + ")" : "";
    if (view === "queue") {
      var waiting = queue.filter(function (q) { return !conversations[q.id] || kept(conversations[q.id]); });
      waiting.forEach(function (q) { ul.appendChild(item(conversations[q.id] || q, q)); });
      if (!waiting.length) ul.appendChild(el("li", "empty", queue.length ? "Nobody waiting matches the filters." : "Nobody is waiting."));
      return;
    }
    if (view === "resolved") {
      var done = Object.keys(conversations).map(function (k) { return conversations[k]; })
        .filter(function (c) { return c.status === "resolved" && kept(c); })
        .sort(function (a, b) { return (b.updated_at || "").localeCompare(a.updated_at || ""); });
      done.forEach(function (c) { ul.appendChild(item(c, null)); });
      if (!done.length) ul.appendChild(el("li", "empty", resolvedRead ? "Nothing resolved yet." : "Loading…"));
      if (resolvedNext) {
        var more = el("button", "more", "Show more");
        more.type = "button";
        more.addEventListener("click", function () { readResolved(resolvedNext); });
        var li = el("li", "more-row"); li.appendChild(more); ul.appendChild(li);
      }
      return;
    }
    var shown = view === "mine" ? mine : all;
    shown.sort(function (a, b) { return (b.last_message_at || "").localeCompare(a.last_message_at || ""); })
      .forEach(function (c) { ul.appendChild(item(c, null)); });
    if (!shown.length) {
      ul.appendChild(el("li", "empty", filterQuery() ? "No conversations match the filters."
        : view === "mine" ? "Nothing assigned to you." : "No open conversations."));
    }
  }

  // Why the bot handed over, in words an agent reads at a glance.
  var REASONS = {
    requested_human: "asked for a person", low_confidence: "bot did not understand",
    negative_sentiment: "upset customer", out_of_scope: "out of scope",
    bot_requested: "bot handed over", intent_needs_human: "needs a person",
    unsupported_language: "language without bot", vip: "VIP", nlu_unavailable: "bot unavailable",
    bot_unavailable: "bot unavailable", no_bot: "no bot"
  };
  function reasonText(r) { return REASONS[r] || r.replace(/_/g, " "); }

  function renderThreadHeader() {
    var c = conversations[openId];
    $("thread-title").textContent = c ? (c.contact.name || c.contact.email || "Visitor") + " — " + c.channel
      + (c.subject ? ": " + c.subject : "") : openId;
    var facts = [];
    if (c) {
      facts.push(c.status === "bot" ? "with the bot" : c.status);
      if (c.status !== "bot" && c.handoff_reason) facts.push("handed over: " + reasonText(c.handoff_reason));
      if (c.language) facts.push("language: " + c.language);
      if (c.contact.vip) facts.push("VIP");
      if (c.contact.verified === false) facts.push("unverified visitor");
      if (c.team) facts.push("team: " + c.team.name);
      if (c.required_skills && c.required_skills.length) facts.push("needs: " + c.required_skills.join(", "));
    }
    $("thread-facts").textContent = facts.join(" · ");
    var open = c && c.status !== "resolved";
    var mineOrFree = c && (!c.assignee || (me && c.assignee.id === me.id));
    $("return-to-bot").hidden = !open || c.status === "bot" || !mineOrFree;
    $("claim").hidden = !open || !(c.status === "queued" || c.status === "bot");
    $("resolve").hidden = !open || !mineOrFree;
    $("transfer-box").hidden = !open || !mineOrFree;
    $("merge-box").hidden = !c;
    $("thread-sla").textContent = "";
    if (open && c.first_response_due) $("thread-sla").appendChild(slaBadge(c.first_response_due, c.first_response_at));
    var ranked = queue.filter(function (q) { return c && q.id === c.id; })[0];
    $("thread-priority").textContent = ranked ? "Priority " + ranked.score + ": " + ranked.explanation
      : c && c.priority_parts && c.priority_parts.length ? "Priority " + c.priority + ": " + c.priority_parts.map(function (p) { return (p.points >= 0 ? "+" : "") + p.points + " " + p.label; }).join(", ") : "";
    var select = $("transfer-to"), chosen = select.value;
    select.textContent = "";
    directory.teams.forEach(function (t) { var o = el("option", "", "Team: " + t.name); o.value = "team:" + t.id; select.appendChild(o); });
    directory.agents.filter(function (a) { return a.status === "online" && (!me || a.id !== me.id); }).forEach(function (a) {
      var o = el("option", "", a.name + " (" + a.load + "/" + a.capacity + ")"); o.value = "agent:" + a.id; select.appendChild(o);
    });
    if (chosen) select.value = chosen;
  }
  function act(path, body) {
    if (!openId) return;
    api("POST", "/console/api/conversations/" + openId + path, body)
      .then(function (c) { conversations[c.id] = c; renderList(); renderThreadHeader(); $("reply-error").textContent = ""; },
            function (e) { $("reply-error").textContent = e.message; if (e.status === 401) showLogin(); });
  }
  $("claim").addEventListener("click", function () { act("/claim"); });
  // Link another contact (their email, or a channel identity) as the same person.
  $("merge-box").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var other = $("merge-with").value.trim();
    if (!other) return;
    act("/merge-contact", { contact: other });
    $("merge-with").value = "";
  });
  $("resolve").addEventListener("click", function () { act("/resolve"); });
  $("transfer").addEventListener("click", function () {
    var v = $("transfer-to").value; if (!v) return;
    var parts = v.split(":");
    act("/transfer", parts[0] === "team" ? { team_id: parts[1] } : { agent_id: parts[1] });
  });
  $("my-status").addEventListener("change", function () {
    api("POST", "/console/api/me/status", { status: $("my-status").value })
      .then(function (d) { me.status = d.agent.status; }, function (e) { $("reply-error").textContent = e.message; });
  });
  function toast(text, cls) {
    var t = el("div", "toast " + (cls || ""), text);
    $("toasts").appendChild(t);
    setTimeout(function () { t.remove(); }, 8000);
  }

  // ---- transcript ----
  function openConversation(id) {
    openId = id; openSeq = 0; shownSeqs = {};
    $("messages").textContent = "";
    $("placeholder").hidden = true; $("thread").hidden = false;
    renderThreadHeader();
    $("reply-error").textContent = "";
    renderList();
    fetchAfter();
    document.dispatchEvent(new CustomEvent("console:open", { detail: id }));
  }
  // Other modules ask for a conversation to be opened (a mention's toast: panel/notes.js).
  document.addEventListener("console:show", function (ev) { openConversation(ev.detail); });
  // Other modules speak on the socket through this (presence.js: what this console views).
  document.addEventListener("console:send", function (ev) {
    if (ws && ws.readyState === 1) ws.send(JSON.stringify(ev.detail));
  });
  function fetchAfter() {
    var id = openId;
    return api("GET", "/console/api/conversations/" + id + "/messages?after_seq=" + openSeq)
      .then(function (d) { if (id === openId) d.messages.forEach(appendMessage); });
  }
  function appendMessage(m) {
    if (m.conversation_id !== openId || shownSeqs[m.seq]) return;
    if (m.seq > openSeq + 1) { fetchAfter(); return; }   // a gap: read it from the server
    shownSeqs[m.seq] = true;
    openSeq = Math.max(openSeq, m.seq);
    var li = el("li", m.author_kind);
    li.dataset.seq = m.seq;
    li.dataset.id = m.id;
    li.dataset.author = m.author_kind;
    li.dataset.at = m.created_at || "";
    var bubble = el("div", "bubble");
    var who = el("div", "who");
    who.appendChild(el("span", "author", authorName(m)));
    if (m.created_at) {
      var t = el("time", "", shortTime(m.created_at));
      t.dateTime = m.created_at;
      t.title = new Date(m.created_at).toLocaleString();
      who.appendChild(t);
    }
    bubble.appendChild(who);
    if (m.subject) bubble.appendChild(el("div", "subject", m.subject));
    // Customer text (HTML mail included) is only ever set as text, never parsed as markup.
    bubble.appendChild(el("div", "text", m.text));
    if (m.automated) bubble.appendChild(el("div", "automated", "Sent by a machine (" + m.automated + "): not answered automatically"));
    var files = m.attachments || [];
    if (files.length || m.original) {
      var box = el("div", "files");
      files.forEach(function (f) {
        var a = el("a", "file", f.filename + " (" + Math.max(1, Math.round(f.size / 1024)) + " KB)");
        a.href = "/console/api/messages/" + m.id + "/attachments/" + f.n;
        a.setAttribute("download", f.filename);
        box.appendChild(a);
      });
      if (m.original) {
        var o = el("a", "file original", "original mail (.eml)");
        o.href = "/console/api/messages/" + m.id + "/original";
        box.appendChild(o);
      }
      bubble.appendChild(box);
    }
    var meta = nluText(m);
    if (meta) bubble.appendChild(el("div", "nlu", meta));
    if (m.delivery) bubble.appendChild(deliveryBadge(m.delivery));
    li.appendChild(bubble);
    placeByTime(li);
    $("messages").scrollTop = $("messages").scrollHeight;
  }
  // After every row at or before its time (activity.js places the transcript's activities,
  // which may arrive first, by the same rule). A message and the activity it caused share
  // their transaction's time: the message goes first.
  function placeByTime(li) {
    var list = $("messages"), at = Date.parse(li.dataset.at) || Infinity, before = null;
    for (var row = list.lastElementChild; row; row = row.previousElementSibling) {
      var rowAt = Date.parse(row.dataset.at);
      if (!(rowAt > at || (rowAt === at && row.dataset.activity))) break;
      before = row;
    }
    list.insertBefore(li, before);
  }
  // Who wrote it: the customer's name, the agent's (from the message, else the directory).
  function authorName(m) {
    if (m.author_kind === "customer") {
      var c = conversations[m.conversation_id];
      return (c && (c.contact.name || c.contact.email)) || "Customer";
    }
    if (m.author_kind === "agent") {
      if (m.author_name) return m.author_name;
      var known = (directory.agents || []).filter(function (a) { return a.id === m.author_id; })[0];
      return known ? known.name : "Agent";
    }
    return m.author_kind === "bot" ? "Bot" : "Switchboard";
  }
  // "10:15" today, "3 Dec 10:15" before.
  function shortTime(iso) {
    var d = new Date(iso), now = new Date();
    var time = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    return d.toDateString() === now.toDateString() ? time
      : d.toLocaleDateString([], { day: "numeric", month: "short" }) + " " + time;
  }
  var DELIVERY = { pending: "sending…", sent: "sent", delivered: "delivered", delayed: "delayed",
    bounced: "bounced", failed: "not delivered", suppressed: "not sent" };
  function deliveryBadge(d) {
    var b = el("div", "delivery " + d.status, DELIVERY[d.status] || d.status);
    if (d.detail) { b.title = d.detail; if (d.status !== "sent") b.textContent += ": " + d.detail; }
    return b;
  }
  // What the NLU made of a customer's message, or which bot action said something.
  function nluText(m) {
    var n = m.nlu;
    if (!n) return m.author_kind === "bot" ? "bot" : "";
    if (n.action) return "bot · " + n.action;
    var parts = [];
    if (n.intent && n.intent !== "unknown") parts.push(n.intent + " " + Math.round(n.confidence * 100) + "%");
    (n.entities || []).forEach(function (e) { parts.push(e.entity + "=" + e.value); });
    if (n.language) parts.push(n.language);
    if (typeof n.sentiment === "number") parts.push("sentiment " + n.sentiment.toFixed(2));
    return parts.join(" · ");
  }
  $("return-to-bot").addEventListener("click", function () { act("/return-to-bot"); });
  $("reply-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var text = $("reply").value.trim();
    var files = $("reply-files").files;
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
              $("reply-error").textContent = ""; appendMessage(d.message);
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
    ws.onopen = function () { ws.send(JSON.stringify({ type: "hello", last_event_id: lastEventId })); };
    ws.onmessage = function (ev) {
      var f = JSON.parse(ev.data);
      if (f.type === "welcome") {
        backoff = 500;
        $("live").dataset.state = "live"; $("live").textContent = "live";
        document.dispatchEvent(new CustomEvent("console:connected"));
        // The replay covers events after our last id; the list and the open transcript are
        // also re-read from the server, so an event committed out of id order while we were
        // away cannot leave a stale view behind.
        if (openId) fetchAfter();
        if (connectedBefore) { reloadList(); refreshQueue(); refreshDirectory(); }
        // The status the server holds, not the one this page remembers: while the socket was
        // away the presence sweep may have marked the agent away (and that event is live-only).
        api("GET", "/console/api/me").then(function (d) { me.status = d.agent.status; $("my-status").value = d.agent.status; });
        connectedBefore = true;
        ping = setInterval(function () { ws.send('{"type":"ping"}'); }, 25000);
      } else if (f.type === "event") {
        if (f.id && f.id > lastEventId) lastEventId = f.id;
        // The context panel (panel/main.js) keeps its own store from the same frames.
        document.dispatchEvent(new CustomEvent("console:event", { detail: f }));
        if (f.name === "message.created") {
          var c = conversations[f.conversation_id];
          if (c) {
            if (f.data.message.author_kind === "customer") c.preview = f.data.message.text;
            c.last_message_at = f.data.message.created_at;
          }
          appendMessage(f.data.message);
          if (f.conversation_id === openId && f.data.message.author_kind === "customer") $("customer-typing").textContent = "";
          renderList();
        } else if (f.name === "message.interpreted" && f.conversation_id === openId) {
          var item = $("messages").querySelector('li[data-seq="' + f.data.message.seq + '"] .bubble');
          if (item) {
            var old = item.querySelector(".nlu"); if (old) old.remove();
            var note = nluText(f.data.message);
            if (note) item.appendChild(el("div", "nlu", note));
          }
        } else if (f.name === "message.delivery" && f.conversation_id === openId) {
          var target = $("messages").querySelector('li[data-id="' + f.data.delivery.message_id + '"] .bubble');
          if (target) {
            var before = target.querySelector(".delivery"); if (before) before.remove();
            target.appendChild(deliveryBadge(f.data.delivery));
          }
        } else if (f.name === "conversation.created" || f.name === "conversation.updated") {
          var was = conversations[f.conversation_id], now = f.data.conversation;
          conversations[f.conversation_id] = now;
          if (me && now.assignee && now.assignee.id === me.id && f.data.change && f.data.change !== "assigned:claim"
              && f.data.change.indexOf("assigned:") === 0 && !(was && was.assignee && was.assignee.id === me.id)) {
            toast("New conversation for you: " + (now.contact.name || now.contact.email || "a visitor"));
          }
          refreshOverview();
          renderList();
          if (f.conversation_id === openId) renderThreadHeader();
        } else if (f.name === "queue.changed") {
          if (queueHeld) queueHeld.push(f);
          applyQueueChange(f.conversation_id, f.data.queue);
        } else if (f.name === "sla.breached") {
          var bc = f.data.conversation;
          conversations[f.conversation_id] = bc;
          // Told: the team the policy names, supervisors, and whoever holds the conversation.
          var concerned = me && (me.role !== "agent" || (bc.assignee && bc.assignee.id === me.id)
            || (me.team_ids || []).indexOf(f.data.notify_team_id || (bc.team && bc.team.id)) >= 0);
          if (concerned) toast("SLA breached (" + f.data.kind.replace("_", " ") + "): " + (bc.contact.name || bc.contact.email || "a visitor"), "breach");
          refreshOverview(); renderList();
        } else if (f.name === "agent.updated") {
          var a = f.data.agent;
          if (me && a.id === me.id) { me.status = a.status; $("my-status").value = a.status; }
          directory.agents = directory.agents.filter(function (x) { return x.id !== a.id; }).concat([a]);
          refreshOverview(); renderThreadHeader();
        } else if (f.name === "typing" && f.data.author_kind === "customer" && f.conversation_id === openId) {
          $("customer-typing").textContent = f.data.active ? "Customer is typing…" : "";
        }
      } else if (f.type === "resync") {
        // Too far behind (or the bus had a gap): re-read the list and the open transcript.
        api("GET", "/console/api/conversations").then(function (d) {
          conversations = {};
          d.conversations.forEach(function (c) { conversations[c.id] = c; });
          lastEventId = Math.max(lastEventId, d.last_event_id);
          renderList();
          if (openId) fetchAfter();
        });
        refreshQueue();
      }
    };
    ws.onclose = function (ev) {
      clearInterval(ping);
      $("live").dataset.state = "connecting"; $("live").textContent = "reconnecting…";
      if (ev.code === 4401) { showLogin(); return; }
      if ($("app").hidden) return;
      setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 15000);
    };
  }

  setView("queue");
  api("GET", "/console/api/me").then(function (d) { start(d.agent); }, showLogin);
})();
