/* Switchboard web chat widget. Embed with:
 *   <script src="https://support.example.com/widget/widget.js" data-inbox="demo-web" async></script>
 * For a signed-in user, add data-identifier="<user id or email>" and
 * data-identifier-hash="<hex HMAC-SHA256 of it with the inbox's identity secret, made on your
 * server>" (docs/webchat-identity.md); data-name and data-email are shown to agents as typed
 * by the visitor, unverified. data-language="fr" picks the widget's language (otherwise the
 * browser's, then the page's; English and French).
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

  // ---- the widget's own words, in the visitor's language ----
  var WORDS = {
    en: {
      title: "Chat with us", chat: "Chat", close: "Close the chat", connecting: "connecting…",
      online: "online", reconnecting: "reconnecting…", unavailable: "unavailable",
      write: "Write a message…", message: "Your message", send: "Send", attach: "Attach a file (up to 10 MB)",
      you: "You", bot: "Assistant", support: "Support", agent: "Agent",
      typing: "{name} is typing…", someone: "An agent", sending: "Sending {file}…",
      notSent: "{file} was not sent: {why}", noDownload: "could not download {file}",
      verifyNote: "Already a customer? Confirm your email:", verifyEmail: "Your email address",
      sendCode: "Send code", codeNote: "Type the 6-digit code we mailed to {email}:",
      code: "The 6-digit code", confirm: "Confirm",
      rate: "Rate this conversation", stars: "{n} out of 5", comment: "A comment (optional)",
      sendRating: "Send rating", rated: "Thank you for your rating.", messages: "Messages",
      newMessage: "{who}: {text}",
      articles: "Suggested articles", newTab: "(opens in a new tab)", helped: "Did this answer your question?",
      yes: "Yes", no: "No", yesLabel: "Yes, this answered my question",
      noLabel: "No, this did not answer my question"
    },
    fr: {
      title: "Discutons", chat: "Discuter", close: "Fermer la discussion", connecting: "connexion…",
      online: "en ligne", reconnecting: "reconnexion…", unavailable: "indisponible",
      write: "Écrivez un message…", message: "Votre message", send: "Envoyer",
      attach: "Joindre un fichier (10 Mo au plus)",
      you: "Vous", bot: "Assistant", support: "Service client", agent: "Conseiller",
      typing: "{name} écrit…", someone: "Un conseiller", sending: "Envoi de {file}…",
      notSent: "{file} n'a pas été envoyé : {why}", noDownload: "{file} n'a pas pu être téléchargé",
      verifyNote: "Déjà client ? Confirmez votre adresse e-mail :", verifyEmail: "Votre adresse e-mail",
      sendCode: "Envoyer le code", codeNote: "Saisissez le code à 6 chiffres envoyé à {email} :",
      code: "Le code à 6 chiffres", confirm: "Confirmer",
      rate: "Notez cette conversation", stars: "{n} sur 5", comment: "Un commentaire (facultatif)",
      sendRating: "Envoyer la note", rated: "Merci pour votre note.", messages: "Messages",
      newMessage: "{who} : {text}",
      articles: "Articles suggérés", newTab: "(s'ouvre dans un nouvel onglet)",
      helped: "Cela répond-il à votre question ?", yes: "Oui", no: "Non",
      yesLabel: "Oui, cela répond à ma question", noLabel: "Non, cela ne répond pas à ma question"
    }
  };
  function pick(tag) { tag = (tag || "").toLowerCase().slice(0, 2); return WORDS[tag] ? tag : null; }
  var lang = pick(data.language) || pick(navigator.language) ||
    pick(document.documentElement.lang) || "en";
  function t(key, values) {
    return WORDS[lang][key].replace(/\{(\w+)\}/g, function (m, k) { return values[k]; });
  }

  function load() {
    try { return JSON.parse(localStorage.getItem(storeKey)) || {}; } catch (e) { return {}; }
  }
  var state = load();          // {token, conversation_id, last_seq, outbox: [{client_id, text}]}
  state.outbox = state.outbox || [];
  // A new page has shown nothing yet, so it asks for the whole conversation and the earlier
  // ones (history); within the page, reconnects resume from the last seq shown.
  state.last_seq = 0;
  var historyShown = false;
  // Set once the server has sent what was already there ("synced"): only messages after it
  // are read out by screen readers.
  var synced = false;
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
  panel.id = "sb-panel";
  panel.setAttribute("aria-label", t("title"));
  panel.lang = lang;
  var header = el("header", "sb-header");
  header.appendChild(el("h2", "sb-title", t("title")));
  var status = el("span", "sb-status", t("connecting"));
  status.dataset.sb = "status";
  header.appendChild(status);
  var list = el("ol", "sb-messages");
  list.dataset.sb = "messages";
  list.setAttribute("aria-label", t("messages"));
  list.tabIndex = 0;  // scrollable by keyboard
  // New messages only are announced (the history shown on load is not read out again).
  var announcer = el("div", "sb-sr-only");
  announcer.setAttribute("aria-live", "polite");
  announcer.dataset.sb = "announcer";
  var typing = el("div", "sb-typing", "");
  typing.dataset.sb = "typing";
  var form = el("form", "sb-form");
  var input = el("textarea", "sb-input");
  input.dataset.sb = "input";
  input.placeholder = t("write");
  input.setAttribute("aria-label", t("message"));
  input.rows = 2;
  input.maxLength = 10000;
  var send = el("button", "sb-send", t("send"));
  send.dataset.sb = "send";
  send.type = "submit";
  // An inline SVG paperclip: no emoji font needed, and the button says what it does.
  var attach = el("button", "sb-attach");
  attach.type = "button";
  attach.dataset.sb = "attach";
  attach.setAttribute("aria-label", t("attach"));
  attach.title = t("attach");
  attach.appendChild(paperclip());
  var picker = el("input", "sb-picker");
  picker.type = "file";
  picker.multiple = true;
  picker.hidden = true;
  picker.tabIndex = -1;
  picker.dataset.sb = "files";
  attach.addEventListener("click", function () { picker.click(); });
  form.appendChild(attach);
  form.appendChild(picker);
  form.appendChild(input);
  form.appendChild(send);
  // "Already a customer?": an unverified visitor proves an email address with a code mailed
  // to it, and then sees that customer's conversation (docs/webchat-identity.md).
  var verify = el("form", "sb-verify");
  verify.hidden = true;
  verify.dataset.sb = "verify";
  var verifyNote = el("label", "sb-verify-note", t("verifyNote"));
  verifyNote.htmlFor = "sb-verify-input";
  var verifyInput = el("input", "sb-verify-input");
  verifyInput.id = "sb-verify-input";
  verifyInput.dataset.sb = "verify-input";
  verifyInput.type = "email";
  verifyInput.autocomplete = "email";
  verifyInput.placeholder = "you@example.com";
  var verifyButton = el("button", "sb-verify-button", t("sendCode"));
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
  panel.appendChild(announcer);
  var launcher = el("button", "sb-launcher", t("chat"));
  launcher.dataset.sb = "launcher";
  launcher.type = "button";
  launcher.setAttribute("aria-controls", "sb-panel");
  function setOpen(open, focus) {
    panel.classList.toggle("sb-open", open);
    launcher.setAttribute("aria-expanded", String(open));
    launcher.textContent = open ? t("close") : t("chat");
    if (open && focus) input.focus();
  }
  launcher.addEventListener("click", function () { setOpen(!panel.classList.contains("sb-open"), true); });
  panel.addEventListener("keydown", function (ev) {
    if (ev.key === "Escape") { setOpen(false); launcher.focus(); }
  });
  root.appendChild(launcher);
  root.appendChild(panel);
  setOpen(!!(script && script.dataset.open !== undefined), false);

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function paperclip() {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", "20");
    svg.setAttribute("height", "20");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var path = document.createElementNS(ns, "path");
    path.setAttribute("d", "M16.5 6.5v10a4.5 4.5 0 0 1-9 0V5a3 3 0 0 1 6 0v10.5a1.5 1.5 0 0 1-3 0V6.5");
    path.setAttribute("fill", "none");
    path.setAttribute("stroke", "currentColor");
    path.setAttribute("stroke-width", "1.8");
    path.setAttribute("stroke-linecap", "round");
    svg.appendChild(path);
    return svg;
  }

  // ---- messages: every conversation of the visitor, in the order they were written ----
  var shown = {};    // message id -> <li>
  var surveys = {};  // conversation id -> the rating form still waiting for an answer
  var greeting = null;
  function clearMessages() {
    list.textContent = ""; shown = {}; surveys = {};
    if (greeting) list.appendChild(greeting);
  }
  function showGreeting(text) {
    if (!text) return;
    if (!greeting) {
      greeting = el("li", "sb-item sb-greeting");
      greeting.dataset.sb = "greeting";
      greeting.appendChild(el("p", "sb-meta", t("bot")));
      greeting.appendChild(el("div", "sb-text"));
      list.insertBefore(greeting, list.firstChild);
    }
    greeting.querySelector(".sb-text").textContent = text;
  }
  function authorOf(m) {
    if (m.author_kind === "customer") return t("you");
    if (m.author_kind === "bot") return t("bot");
    if (m.author_kind === "agent") return m.author_name || t("agent");
    return t("support");
  }
  function when(iso) {
    var d = new Date(iso);
    if (isNaN(d)) return null;
    var today = new Date().toDateString() === d.toDateString();
    var opts = today ? { hour: "numeric", minute: "2-digit" }
      : { day: "numeric", month: "short", hour: "numeric", minute: "2-digit" };
    return d.toLocaleString(lang, opts);
  }
  function render(message, live) {
    if (shown[message.id]) return;
    var item = el("li", "sb-item sb-" + message.author_kind);
    item.dataset.id = message.id;
    var meta = el("p", "sb-meta");
    meta.appendChild(el("span", "sb-author", authorOf(message)));
    var at = message.created_at && when(message.created_at);
    if (at) {
      var time = el("time", "sb-time", at);
      time.dateTime = message.created_at;
      meta.appendChild(document.createTextNode(" · "));
      meta.appendChild(time);
    }
    item.appendChild(meta);
    var bubble = el("div", "sb-msg sb-" + message.author_kind);
    bubble.dataset.author = message.author_kind;
    bubble.dataset.seq = message.seq;
    if (message.kb) bubble.appendChild(articleCards(message));
    else if (message.text) bubble.appendChild(el("div", "sb-text", message.text));
    (message.attachments || []).forEach(function (file) {
      var link = el("button", "sb-file", file.filename + " (" + Math.max(1, Math.round(file.size / 1024)) + " KB)");
      link.type = "button";
      link.dataset.sb = "file";
      link.addEventListener("click", function () { download(message.id, file); });
      bubble.appendChild(link);
    });
    item.appendChild(bubble);
    var before = null;  // keep the order they were written in even if a frame arrives early
    Object.keys(shown).forEach(function (id) {
      if (+id > message.id && (!before || +id < +before.dataset.id)) before = shown[id];
    });
    if (!before) before = list.querySelector(".sb-pending-item");  // unsent ones stay last
    list.insertBefore(item, before);
    shown[message.id] = item;
    var pending = message.client_id && list.querySelector('[data-client-id="' + message.client_id + '"]');
    if (pending) pending.remove();
    survey(message, item);
    // Anything said after the bot's articles answers or passes their question.
    if (kbAsk && message.id > kbAsk.messageId) { kbAsk.group.remove(); kbAsk = null; }
    list.scrollTop = list.scrollHeight;
    if (live && message.author_kind !== "customer") {
      // The bot's articles are read as their titles and the question, not as the links.
      var said = message.kb ? [message.kb.intro].concat((message.kb.articles || []).map(function (a) {
        return a.title;
      }), [t("helped")]).join(" ") : message.text;
      var note = el("p", "", t("newMessage", { who: authorOf(message), text: said }));
      announcer.appendChild(note);
      while (announcer.childNodes.length > 3) announcer.removeChild(announcer.firstChild);
    }
  }

  // ---- the bot's knowledge-base answer: article cards (title linked to the help center,
  // a short excerpt) and "Did this answer your question?" with yes and no, sent as the word a
  // typed answer would be, so every channel's answer takes the same path. Every text is set
  // with textContent; a link is kept only if it is http(s). ----
  var kbAsk = null;  // {messageId, group}: the yes/no of the latest answer, still unanswered
  function articleCards(message) {
    var kb = message.kb;
    var box = el("div", "sb-text sb-kb");
    box.dataset.sb = "kb";
    box.appendChild(el("p", "sb-kb-intro", kb.intro || ""));
    var cards = el("ul", "sb-articles");
    cards.setAttribute("aria-label", t("articles"));
    (kb.articles || []).forEach(function (a) {
      var card = el("li", "sb-article");
      card.dataset.sb = "article";
      var title = el(/^https?:\/\//i.test(a.url || "") ? "a" : "span", "sb-article-title", a.title);
      if (title.tagName === "A") {
        title.href = a.url;
        title.target = "_blank";
        title.rel = "noopener noreferrer";
        title.appendChild(el("span", "sb-sr-only", " " + t("newTab")));
      }
      card.appendChild(title);
      if (a.excerpt) card.appendChild(el("p", "sb-excerpt", a.excerpt));
      cards.appendChild(card);
    });
    box.appendChild(cards);
    var latest = !Object.keys(shown).some(function (id) { return +id > message.id; });
    if (latest && message.conversation_id === state.conversation_id) {
      var group = el("div", "sb-kb-ask");
      group.setAttribute("role", "group");
      group.dataset.sb = "kb-ask";
      var question = el("p", "sb-kb-question", t("helped"));
      question.id = "sb-kb-q-" + message.id;
      group.setAttribute("aria-labelledby", question.id);
      group.appendChild(question);
      ["yes", "no"].forEach(function (answer) {
        var b = el("button", "sb-kb-" + answer, t(answer));
        b.type = "button";
        b.dataset.sb = "kb-" + answer;
        b.setAttribute("aria-label", t(answer + "Label"));
        b.addEventListener("click", function () {
          sendText(t(answer));
          group.remove();
          kbAsk = null;
          input.focus();
        });
        group.appendChild(b);
      });
      box.appendChild(group);
      kbAsk = { messageId: message.id, group: group };
    }
    return box;
  }

  // ---- the rating question: buttons 1-5 and an optional comment, sent as the number a
  // reply would carry ("4/5 - comment"), so every channel's answer takes the same path ----
  var ANSWER_WITHIN_MS = 24 * 3600 * 1000;  // as server/store/csat.py's ANSWER_WITHIN_HOURS
  function survey(message, item) {
    var conv = message.conversation_id;
    if (message.csat === "asked") {
      var age = Date.now() - new Date(message.created_at).getTime();
      if (age < ANSWER_WITHIN_MS && conv === state.conversation_id) {
        surveys[conv] = ratingForm(conv);
        item.appendChild(surveys[conv]);
      }
    } else if (message.csat !== undefined && surveys[conv]) {
      surveys[conv].remove();  // answered (and thanked)
      delete surveys[conv];
    }
  }
  function ratingForm(conv) {
    var box = el("form", "sb-rating");
    box.dataset.sb = "rating";
    var group = el("fieldset", "sb-stars");
    group.appendChild(el("legend", "", t("rate")));
    var chosen = 0;
    var buttons = [1, 2, 3, 4, 5].map(function (n) {
      var b = el("button", "sb-star", String(n));
      b.type = "button";
      b.dataset.rating = n;
      b.setAttribute("aria-label", t("stars", { n: n }));
      b.setAttribute("aria-pressed", "false");
      b.addEventListener("click", function () {
        chosen = n;
        buttons.forEach(function (o) { o.setAttribute("aria-pressed", String(+o.dataset.rating === n)); });
        submit.disabled = false;
      });
      group.appendChild(b);
      return b;
    });
    var label = el("label", "sb-comment-label", t("comment"));
    var comment = el("textarea", "sb-comment");
    comment.rows = 2;
    comment.maxLength = 2000;
    comment.dataset.sb = "rating-comment";
    label.appendChild(comment);
    var submit = el("button", "sb-send sb-rate", t("sendRating"));
    submit.type = "submit";
    submit.disabled = true;
    submit.dataset.sb = "rating-send";
    box.appendChild(group);
    box.appendChild(label);
    box.appendChild(submit);
    box.addEventListener("submit", function (ev) {
      ev.preventDefault();
      if (!chosen) return;
      var words = comment.value.trim();
      sendText(chosen + "/5" + (words ? " - " + words : ""));
      // The buttons go; the focus goes back to the message box rather than to nowhere.
      box.replaceWith(el("p", "sb-rated", t("rated")));
      delete surveys[conv];
      input.focus();
    });
    return box;
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
    }).catch(function () { status.textContent = t("noDownload", { file: file.filename }); });
  }
  function renderPending(entry) {
    var item = el("li", "sb-item sb-customer sb-pending-item");
    item.dataset.clientId = entry.client_id;
    item.appendChild(el("p", "sb-meta", t("you")));
    var bubble = el("div", "sb-msg sb-customer sb-pending");
    bubble.dataset.author = "customer";
    bubble.appendChild(el("div", "sb-text", entry.text));
    item.appendChild(bubble);
    list.appendChild(item);
    list.scrollTop = list.scrollHeight;
  }
  state.outbox.forEach(renderPending);

  // ---- connection ----
  var ws = null, backoff = 500, pingTimer = null, typingSent = 0, typingStop = null;
  // A message the server refused as busy is offered again after its hint (retry_after, at
  // least 1 s) and a random half of it more, so a crowd told "busy" together comes back
  // spread out, at the pace the server asks for. The server knows its backlog; a back-off
  // growing here (to 15 s, 3e5a0f6) saved no measurable work under the chaos traffic and
  // left one customer 84 s between two acknowledgements, losing its turn to others.
  // One it could not store ("unavailable": the database away) is offered again 3 s later,
  // so the widgets resume within seconds of its return.
  var retryTimer = null;

  function newClientId() {
    return (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random()).replace(/[^A-Za-z0-9_-]/g, "");
  }
  function frame(obj) { if (ws && ws.readyState === 1) ws.send(JSON.stringify(obj)); }

  // A session's key: 128 random bits, the same for every retry of one session's request, so
  // a retry whose first try did reach a node (its answer lost with the node) gets that same
  // visitor back rather than a second one.
  function newKey() {
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join("");
  }
  // Refusals that asking again cannot change (the page's identity, an unknown inbox, a bad
  // field): the session is not asked for again.
  var FINAL = { 400: true, 401: true, 403: true, 404: true, 422: true };

  function askSession(key) {
    var body = { inbox: inbox, token: state.token || null, language: lang, key: key };
    Object.keys(who).forEach(function (k) { body[k] = who[k]; });
    return fetch(base + "/api/webchat/sessions", {
      method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify(body)
    }).then(function (r) {
      // A proxy's own 502/503 page is not JSON: the status says enough.
      return r.json().catch(function () { return {}; }).then(function (d) {
        if (r.ok) return d;
        var e = new Error(d.error || "session refused: " + r.status);
        e.status = r.status;
        e.retryAfter = Number(r.headers.get("retry-after")) || 0;
        throw e;
      });
    });
  }

  // Asked for until given: while the database or a node is away the server answers 503 (or
  // the proxy 502), and the widget asks again after a random part of a back-off doubling to
  // 15 s (full jitter: a crowd of widgets does not come back in one wave), never sooner than
  // the Retry-After it was given. Rejects only on a FINAL refusal.
  function startSession() {
    var key = newKey(), wait = 500;
    return new Promise(function (resolve, reject) {
      function attempt() {
        askSession(key).then(resolve, function (e) {
          if (FINAL[e.status]) { reject(e); return; }
          // 409: the key is spent (its visitor was made long ago): a new one, a new visitor.
          if (e.status === 409) key = newKey();
          status.textContent = t("reconnecting");
          setTimeout(attempt, Math.max((e.retryAfter || 0) * 1000, Math.random() * wait));
          wait = Math.min(wait * 2, 15000);
        });
      }
      attempt();
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
      showGreeting(s.greeting);
      verify.hidden = s.verified || !!who.identifier;
      return s;
    });
  }

  function connect() {
    status.textContent = t("connecting");
    ws = new WebSocket(base.replace(/^http/, "ws") + "/ws/webchat");
    ws.onopen = function () {
      frame({ type: "hello", token: state.token, conversation_id: state.conversation_id || null,
              last_seq: state.last_seq || 0, history: !historyShown });
    };
    ws.onmessage = function (ev) {
      var f = JSON.parse(ev.data);
      if (f.type === "welcome") {
        // The back-off starts again once a node has taken us (not at the socket's open: a
        // node that opens and closes at once with 1013 "try again" must not be hammered).
        backoff = 500;
        status.textContent = t("online");
        if (f.conversation_id !== state.conversation_id) state.last_seq = 0;
        state.conversation_id = f.conversation_id;
        state.last_seq = f.resume_after;
        save();
        // Anything never acknowledged is sent again; the server stores each client id once
        // (a retry waiting for its time is this one).
        clearTimeout(retryTimer);
        retryTimer = null;
        state.outbox.forEach(function (m) { frame({ type: "message", client_id: m.client_id, text: m.text }); });
        clearInterval(pingTimer);
        pingTimer = setInterval(function () { frame({ type: "ping" }); }, 25000);
      } else if (f.type === "history") {
        historyShown = true;
        f.messages.forEach(function (m) { render(m, false); });
      } else if (f.type === "message") {
        var m = f.message;
        if (m.conversation_id !== state.conversation_id) {
          // A new conversation (the last one was resolved): what came before stays shown,
          // and the last one's rating buttons go (a message now opens the new one).
          Object.keys(surveys).forEach(function (c) { surveys[c].remove(); delete surveys[c]; });
          state.conversation_id = m.conversation_id;
          state.last_seq = 0;
        }
        render(m, synced);
        if (m.author_kind === "agent") typing.textContent = "";  // the message ends the typing
        if (m.seq > state.last_seq) state.last_seq = m.seq;
        save();
      } else if (f.type === "synced") {
        synced = true;
      } else if (f.type === "ack") {
        state.outbox = state.outbox.filter(function (e) { return e.client_id !== f.client_id; });
        save();
      } else if (f.type === "error" && (f.code === "unavailable" || f.code === "busy")) {
        // Not stored, so still in the outbox: offered again (all that is waiting, once); busy,
        // after its retry_after (at least 1 s) and up to half of it more; unavailable, 3 s.
        var wait = 3000;
        if (f.code === "busy") wait = Math.max(1, f.retry_after || 1) * 1000 * (1 + Math.random() / 2);
        if (retryTimer === null) {
          retryTimer = setTimeout(function () {
            retryTimer = null;
            state.outbox.forEach(function (m) { frame({ type: "message", client_id: m.client_id, text: m.text }); });
          }, wait);
        }
      } else if (f.type === "typing") {
        typing.textContent = f.active ? t("typing", { name: t("someone") }) : "";
      }
    };
    ws.onclose = function (ev) {
      clearInterval(pingTimer);
      status.textContent = t("reconnecting");
      // Full jitter: a node that drops thousands of widgets at once (a restart, a crash) sees
      // them come back spread over the back-off, not all in the same instant.
      var again = function () { setTimeout(connect, Math.random() * backoff); backoff = Math.min(backoff * 2, 15000); };
      if (ev.code === 4401) { state.token = null; state.conversation_id = null; state.last_seq = 0; save(); startSession().then(again, again); }
      else again();
    };
  }

  // A file is a message of its own, sent over HTTP (the socket carries text only); its echo
  // comes back on the socket like any message. The client id makes a resend harmless.
  function sendFile(file) {
    var entry = { client_id: newClientId(), text: t("sending", { file: file.name }) };
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
      if (pending) pending.textContent = t("notSent", { file: file.name, why: e.message });
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
        verifyNote.textContent = t("codeNote", { email: value });
        verifyInput.type = "text";
        verifyInput.inputMode = "numeric";
        verifyInput.autocomplete = "one-time-code";
        verifyInput.value = "";
        verifyInput.placeholder = "123456";
        verifyButton.textContent = t("confirm");
      }, function (e) { verifyNote.textContent = e.message; });
    } else {
      api("email-code/confirm", { code: value }).then(function () {
        verify.hidden = true;
        // The visitor is now that customer: reconnect to see their conversation.
        if (ws) ws.close();
      }, function (e) { verifyNote.textContent = e.message; });
    }
  });

  function sendText(text) {
    var entry = { client_id: newClientId(), text: text };
    state.outbox.push(entry);
    save();
    renderPending(entry);
    if (retryTimer !== null) {
      // Earlier messages wait for their retry: they go now, before this one, so the agent
      // reads them in the order they were written (the server reads a socket's frames in
      // order and stores each client id once).
      clearTimeout(retryTimer);
      retryTimer = null;
      state.outbox.forEach(function (m) { frame({ type: "message", client_id: m.client_id, text: m.text }); });
    } else {
      frame({ type: "message", client_id: entry.client_id, text: text });
    }
  }
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    sendText(text);
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
    // A refused identity is the embedding page's to fix: say so, never chat as someone else
    // (every passing trouble is retried inside startSession).
    status.textContent = t("unavailable");
    status.title = e.message;
  });
})();
