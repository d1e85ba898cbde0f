/* Switchboard console. Live updates over /console/ws resume from the last event id seen.
 * Customer text is only ever set with textContent, never parsed as HTML. */
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var conversations = {};   // id -> conversation view
  var openId = null, openSeq = 0, shownSeqs = {};
  var lastEventId = 0, ws = null, backoff = 500, typingSent = 0, typingStop = null;
  var connectedBefore = false;

  function api(method, path, body) {
    return fetch(path, {
      method: method, credentials: "same-origin",
      headers: body ? { "content-type": "application/json" } : {},
      body: body ? JSON.stringify(body) : undefined
    }).then(function (r) {
      return r.text().then(function (t) {
        var data = t ? JSON.parse(t) : {};
        if (!r.ok) { var e = new Error(data.error || r.statusText); e.status = r.status; throw e; }
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
    var f = ev.target;
    api("POST", "/console/api/login", { email: f.email.value, password: f.password.value })
      .then(function (d) { start(d.agent); }, function (e) { $("login-error").textContent = e.message; });
  });
  $("logout").addEventListener("click", function () { api("POST", "/console/api/logout").then(showLogin); });

  function start(agent) {
    $("login").hidden = true; $("app").hidden = false;
    $("who").textContent = agent.name + " (" + agent.email + ")";
    api("GET", "/console/api/conversations").then(function (d) {
      conversations = {};
      d.conversations.forEach(function (c) { conversations[c.id] = c; });
      lastEventId = d.last_event_id;
      renderList();
      connect();
    });
  }

  function reloadList() {
    api("GET", "/console/api/conversations").then(function (d) {
      d.conversations.forEach(function (c) { conversations[c.id] = c; });
      renderList();
    });
  }

  // ---- conversation list ----
  function renderList() {
    var ul = $("conversations");
    ul.textContent = "";
    Object.keys(conversations).map(function (k) { return conversations[k]; })
      .filter(function (c) { return c.status !== "resolved"; })
      .sort(function (a, b) { return (b.last_message_at || "").localeCompare(a.last_message_at || ""); })
      .forEach(function (c) {
        var li = el("li", c.id === openId ? "active" : "");
        li.dataset.conversationId = c.id;
        li.appendChild(el("span", "status", c.status + (c.assignee ? " · " + c.assignee.name : "")));
        if (c.status !== "bot" && c.handoff_reason) li.appendChild(el("span", "reason", reasonText(c.handoff_reason)));
        if (c.language) li.appendChild(el("span", "language", c.language));
        li.appendChild(el("div", "name", c.contact.name || c.contact.email || "Visitor " + c.contact.id.slice(0, 8)));
        li.appendChild(el("div", "preview", c.preview || ""));
        li.addEventListener("click", function () { openConversation(c.id); });
        ul.appendChild(li);
      });
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
    $("thread-title").textContent = c ? (c.contact.name || c.contact.email || "Visitor") + " — " + c.channel : openId;
    var facts = [];
    if (c) {
      facts.push(c.status === "bot" ? "with the bot" : c.status);
      if (c.status !== "bot" && c.handoff_reason) facts.push("handed over: " + reasonText(c.handoff_reason));
      if (c.language) facts.push("language: " + c.language);
      if (c.contact.vip) facts.push("VIP");
    }
    $("thread-facts").textContent = facts.join(" · ");
    $("return-to-bot").hidden = !c || c.status === "bot" || c.status === "resolved";
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
  }
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
    li.dataset.author = m.author_kind;
    var bubble = el("div", "bubble");
    bubble.appendChild(el("div", "text", m.text));
    var meta = nluText(m);
    if (meta) bubble.appendChild(el("div", "nlu", meta));
    li.appendChild(bubble);
    $("messages").appendChild(li);
    $("messages").scrollTop = $("messages").scrollHeight;
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
  $("return-to-bot").addEventListener("click", function () {
    if (!openId) return;
    api("POST", "/console/api/conversations/" + openId + "/return-to-bot")
      .then(function (c) { conversations[c.id] = c; renderList(); renderThreadHeader(); $("reply-error").textContent = ""; },
            function (e) { $("reply-error").textContent = e.message; if (e.status === 401) showLogin(); });
  });
  $("reply-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var text = $("reply").value.trim();
    if (!text || !openId) return;
    var clientId = (crypto.randomUUID ? crypto.randomUUID() : String(Date.now())).replace(/[^A-Za-z0-9_-]/g, "");
    $("send").disabled = true;
    clearTimeout(typingStop);
    if (ws && ws.readyState === 1) ws.send(JSON.stringify({ type: "typing", conversation_id: openId, active: false }));
    typingSent = 0;
    api("POST", "/console/api/conversations/" + openId + "/messages", { text: text, client_id: clientId })
      .then(function (d) { $("reply").value = ""; $("reply-error").textContent = ""; appendMessage(d.message); },
            function (e) { $("reply-error").textContent = e.message; if (e.status === 401) showLogin(); })
      .then(function () { $("send").disabled = false; });
  });
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
        // The replay covers events after our last id; the list and the open transcript are
        // also re-read from the server, so an event committed out of id order while we were
        // away cannot leave a stale view behind.
        if (openId) fetchAfter();
        if (connectedBefore) reloadList();
        connectedBefore = true;
        ping = setInterval(function () { ws.send('{"type":"ping"}'); }, 25000);
      } else if (f.type === "event") {
        if (f.id && f.id > lastEventId) lastEventId = f.id;
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
        } else if (f.name === "conversation.created" || f.name === "conversation.updated") {
          conversations[f.conversation_id] = f.data.conversation;
          renderList();
          if (f.conversation_id === openId) renderThreadHeader();
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

  api("GET", "/console/api/me").then(function (d) { start(d.agent); }, showLogin);
})();
