/* Switchboard web chat widget. Embed with:
 *   <script src="https://support.example.com/widget/widget.js" data-inbox="demo-web" async></script>
 * For a signed-in user, add data-identifier="<user id or email>" and
 * data-identifier-hash="<hex HMAC-SHA256 of it with the inbox's identity secret, made on your
 * server>" (docs/webchat-identity.md); data-name and data-email are shown to agents as typed
 * by the visitor, unverified.
 * Protocol: docs/webchat-protocol.md. Customer and agent text is only ever set with
 * textContent, never parsed as HTML. */
(function () {
  "use strict";
  var script = document.currentScript;
  var inbox = (script && script.dataset.inbox) || "demo-web";
  var base = new URL(script ? script.src : location.href).origin;
  var storeKey = "switchboard:" + inbox;
  var data = (script && script.dataset) || {};
  var who = {};  // what the page says about its visitor; only the identifier is vouched for
  ["identifier", "identifier_hash", "name", "email"].forEach(function (k) {
    var v = data[k.replace(/_(\w)/g, function (m, c) { return c.toUpperCase(); })];
    if (v) who[k] = v;
  });

  function load() {
    try { return JSON.parse(localStorage.getItem(storeKey)) || {}; } catch (e) { return {}; }
  }
  var state = load();          // {token, conversation_id, last_seq, outbox: [{client_id, text}]}
  state.outbox = state.outbox || [];
  // A new page has shown nothing yet, so it asks for the whole conversation; within the page,
  // reconnects resume from the last seq shown.
  state.last_seq = 0;
  function save() { localStorage.setItem(storeKey, JSON.stringify(state)); }

  // ---- UI, in a shadow root so the host page's CSS cannot reach it ----
  var host = document.createElement("div");
  host.id = "switchboard-widget";
  document.body.appendChild(host);
  var root = host.attachShadow({ mode: "open" });
  var css = document.createElement("link");
  css.rel = "stylesheet";
  css.href = base + "/widget/widget.css";
  root.appendChild(css);
  var panel = el("section", "sb-panel");
  panel.setAttribute("aria-label", "Chat with support");
  var header = el("header", "sb-header");
  header.appendChild(el("span", "sb-title", "Chat with us"));
  var status = el("span", "sb-status", "connecting…");
  status.dataset.sb = "status";
  header.appendChild(status);
  var list = el("ol", "sb-messages");
  list.dataset.sb = "messages";
  list.setAttribute("aria-live", "polite");
  var typing = el("div", "sb-typing", "");
  typing.dataset.sb = "typing";
  var form = el("form", "sb-form");
  var input = el("textarea", "sb-input");
  input.dataset.sb = "input";
  input.placeholder = "Write a message…";
  input.rows = 2;
  input.maxLength = 10000;
  var send = el("button", "sb-send", "Send");
  send.dataset.sb = "send";
  send.type = "submit";
  var attach = el("label", "sb-attach", "📎");
  attach.title = "Send a file (up to 10 MB)";
  var picker = el("input", "sb-picker");
  picker.type = "file";
  picker.multiple = true;
  picker.hidden = true;
  picker.dataset.sb = "files";
  attach.appendChild(picker);
  form.appendChild(attach);
  form.appendChild(input);
  form.appendChild(send);
  // "Already a customer?": an unverified visitor proves an email address with a code mailed
  // to it, and then sees that customer's conversation (docs/webchat-identity.md).
  var verify = el("form", "sb-verify");
  verify.hidden = true;
  verify.dataset.sb = "verify";
  var verifyNote = el("span", "sb-verify-note", "Already a customer? Confirm your email:");
  var verifyInput = el("input", "sb-verify-input");
  verifyInput.dataset.sb = "verify-input";
  verifyInput.type = "email";
  verifyInput.placeholder = "you@example.com";
  var verifyButton = el("button", "sb-verify-button", "Send code");
  verifyButton.dataset.sb = "verify-button";
  verifyButton.type = "submit";
  verify.appendChild(verifyNote);
  verify.appendChild(verifyInput);
  verify.appendChild(verifyButton);
  panel.appendChild(header);
  panel.appendChild(verify);
  panel.appendChild(list);
  panel.appendChild(typing);
  panel.appendChild(form);
  var launcher = el("button", "sb-launcher", "Chat");
  launcher.dataset.sb = "launcher";
  launcher.addEventListener("click", function () { panel.classList.toggle("sb-open"); input.focus(); });
  root.appendChild(launcher);
  root.appendChild(panel);
  if (script && script.dataset.open !== undefined) panel.classList.add("sb-open");

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  var shown = {};  // seq -> <li> in the current conversation
  function clearMessages() { list.textContent = ""; shown = {}; }
  function render(message) {
    if (shown[message.seq]) return;
    var item = el("li", "sb-msg sb-" + message.author_kind);
    item.dataset.author = message.author_kind;
    item.dataset.seq = message.seq;
    if (message.text) item.appendChild(el("div", "sb-text", message.text));
    (message.attachments || []).forEach(function (file) {
      var link = el("button", "sb-file", file.filename + " (" + Math.max(1, Math.round(file.size / 1024)) + " KB)");
      link.type = "button";
      link.dataset.sb = "file";
      link.addEventListener("click", function () { download(message.id, file); });
      item.appendChild(link);
    });
    var before = null;  // keep seq order even if a frame arrives early
    Object.keys(shown).forEach(function (s) {
      if (+s > message.seq && (!before || +s < +before.dataset.seq)) before = shown[s];
    });
    list.insertBefore(item, before);
    shown[message.seq] = item;
    var pending = list.querySelector('[data-client-id="' + message.client_id + '"]');
    if (message.client_id && pending) pending.remove();
    list.scrollTop = list.scrollHeight;
  }
  // Files need the visitor's token, sent as a header (a URL would leak it to logs), so the
  // widget fetches the file and hands the browser a local copy to save.
  function download(messageId, file) {
    fetch(base + "/api/webchat/messages/" + messageId + "/attachments/" + file.n, {
      headers: { authorization: "Bearer " + state.token }
    }).then(function (r) {
      if (!r.ok) throw new Error("download refused: " + r.status);
      return r.blob();
    }).then(function (blob) {
      var a = document.createElement("a");
      a.href = URL.createObjectURL(blob);
      a.download = file.filename;
      root.appendChild(a);
      a.click();
      a.remove();
      setTimeout(function () { URL.revokeObjectURL(a.href); }, 60000);
    }).catch(function () { status.textContent = "could not download " + file.filename; });
  }
  function renderPending(entry) {
    var item = el("li", "sb-msg sb-customer sb-pending");
    item.dataset.clientId = entry.client_id;
    item.appendChild(el("div", "sb-text", entry.text));
    list.appendChild(item);
  }
  state.outbox.forEach(renderPending);

  // ---- connection ----
  var ws = null, backoff = 500, pingTimer = null, typingSent = 0, typingStop = null;

  function newClientId() {
    return (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random()).replace(/[^A-Za-z0-9_-]/g, "");
  }
  function frame(obj) { if (ws && ws.readyState === 1) ws.send(JSON.stringify(obj)); }

  function startSession() {
    var body = { inbox: inbox, token: state.token || null };
    Object.keys(who).forEach(function (k) { body[k] = who[k]; });
    return fetch(base + "/api/webchat/sessions", {
      method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().then(function (d) {
        if (!r.ok) throw new Error(d.error || "session refused: " + r.status);
        return d;
      });
    }).then(function (s) {
      if (state.visitor_id && s.visitor_id !== state.visitor_id) {
        // Another visitor (the user signed out, or another signed in): nothing of the last
        // one's is shown or sent.
        state.conversation_id = null;
        state.outbox = [];
        clearMessages();
      }
      state.token = s.token;
      state.visitor_id = s.visitor_id;
      save();
      verify.hidden = s.verified || !!who.identifier;
      return s;
    });
  }

  function connect() {
    status.textContent = "connecting…";
    ws = new WebSocket(base.replace(/^http/, "ws") + "/ws/webchat");
    ws.onopen = function () {
      backoff = 500;
      frame({ type: "hello", token: state.token, conversation_id: state.conversation_id || null,
              last_seq: state.last_seq || 0 });
    };
    ws.onmessage = function (ev) {
      var f = JSON.parse(ev.data);
      if (f.type === "welcome") {
        status.textContent = "online";
        if (f.conversation_id !== state.conversation_id) clearMessages();
        state.conversation_id = f.conversation_id;
        state.last_seq = f.resume_after;
        save();
        // Anything never acknowledged is sent again; the server stores each client id once.
        state.outbox.forEach(function (m) { frame({ type: "message", client_id: m.client_id, text: m.text }); });
        clearInterval(pingTimer);
        pingTimer = setInterval(function () { frame({ type: "ping" }); }, 25000);
      } else if (f.type === "message") {
        var m = f.message;
        if (m.conversation_id !== state.conversation_id) {
          clearMessages();
          state.conversation_id = m.conversation_id;
          state.last_seq = 0;
        }
        render(m);
        if (m.author_kind === "agent") typing.textContent = "";  // the message ends the typing
        if (m.seq > state.last_seq) state.last_seq = m.seq;
        save();
      } else if (f.type === "ack") {
        state.outbox = state.outbox.filter(function (e) { return e.client_id !== f.client_id; });
        save();
      } else if (f.type === "error" && (f.code === "unavailable" || f.code === "busy")) {
        // Not stored, so still in the outbox: offer it again shortly (when the server is
        // busy, after the time it asks for).
        var wait = f.code === "busy" ? Math.max(1, f.retry_after || 1) * 1000 : 3000;
        setTimeout(function () {
          state.outbox.filter(function (e) { return e.client_id === f.client_id; }).forEach(function (m) {
            frame({ type: "message", client_id: m.client_id, text: m.text });
          });
        }, wait);
      } else if (f.type === "typing") {
        typing.textContent = f.active ? "Agent is typing…" : "";
      }
    };
    ws.onclose = function (ev) {
      clearInterval(pingTimer);
      status.textContent = "reconnecting…";
      var again = function () { setTimeout(connect, backoff); backoff = Math.min(backoff * 2, 15000); };
      if (ev.code === 4401) { state.token = null; state.conversation_id = null; state.last_seq = 0; save(); startSession().then(again, again); }
      else again();
    };
  }

  // A file is a message of its own, sent over HTTP (the socket carries text only); its echo
  // comes back on the socket like any message. The client id makes a resend harmless.
  function sendFile(file) {
    var entry = { client_id: newClientId(), text: "Sending " + file.name + "…" };
    renderPending(entry);
    var query = "?client_id=" + entry.client_id + "&filename=" + encodeURIComponent(file.name);
    fetch(base + "/api/webchat/files" + query, {
      method: "POST",
      headers: { authorization: "Bearer " + state.token, "content-type": file.type || "application/octet-stream" },
      body: file
    }).then(function (r) {
      return r.json().then(function (d) { if (!r.ok) throw new Error(d.error || r.statusText); });
    }).catch(function (e) {
      var pending = list.querySelector('[data-client-id="' + entry.client_id + '"] .sb-text');
      if (pending) pending.textContent = file.name + " was not sent: " + e.message;
    });
  }
  picker.addEventListener("change", function () {
    Array.prototype.forEach.call(picker.files, sendFile);
    picker.value = "";
  });

  // Two steps in one small form: the address, then the code the mail carried.
  var codeSent = false;
  function api(path, body) {
    return fetch(base + "/api/webchat/" + path, {
      method: "POST",
      headers: { authorization: "Bearer " + state.token, "content-type": "application/json" },
      body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().then(function (d) { if (!r.ok) throw new Error(d.error || r.statusText); return d; });
    });
  }
  verify.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var value = verifyInput.value.trim();
    if (!value) return;
    if (!codeSent) {
      api("email-code", { email: value }).then(function () {
        codeSent = true;
        verifyNote.textContent = "Type the 6-digit code we mailed to " + value + ":";
        verifyInput.type = "text";
        verifyInput.inputMode = "numeric";
        verifyInput.value = "";
        verifyInput.placeholder = "123456";
        verifyButton.textContent = "Confirm";
      }, function (e) { verifyNote.textContent = e.message; });
    } else {
      api("email-code/confirm", { code: value }).then(function () {
        verify.hidden = true;
        // The visitor is now that customer: reconnect to see their conversation.
        if (ws) ws.close();
      }, function (e) { verifyNote.textContent = e.message; });
    }
  });

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    var entry = { client_id: newClientId(), text: text };
    state.outbox.push(entry);
    save();
    renderPending(entry);
    frame({ type: "message", client_id: entry.client_id, text: text });
    input.value = "";
    frame({ type: "typing", active: false });
    typingSent = 0;
  });
  input.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter" && !ev.shiftKey) { ev.preventDefault(); form.requestSubmit(); }
  });
  input.addEventListener("input", function () {
    var now = Date.now();
    if (now - typingSent > 2000) { frame({ type: "typing", active: true }); typingSent = now; }
    clearTimeout(typingStop);
    typingStop = setTimeout(function () { frame({ type: "typing", active: false }); typingSent = 0; }, 3000);
  });

  startSession().then(connect, function (e) {
    // A refused identity is the embedding page's to fix: say so, never chat as someone else.
    status.textContent = "unavailable";
    status.title = e.message;
    setTimeout(function () { startSession().then(connect); }, 5000);
  });
})();
