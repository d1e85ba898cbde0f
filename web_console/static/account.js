// The Account panel: your sessions (sign one out, or all but this one), your password,
// two-factor sign-in (TOTP) and your personal API tokens. An ES module of its own, opened
// from the header's Account button; console.js tells it when the console starts
// ("console:start", with the signed-in agent). Text is only ever set as text.

const area = document.getElementById("account-area");
const button = document.getElementById("account-button");
let me = null;
// What the main area showed before the panel opened, shown again when it closes.
let covered = [];

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "text") node.textContent = value;
    else if (key in node) node[key] = value;
    else node.setAttribute(key, value);
  }
  node.append(...children);
  return node;
}

async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    credentials: "same-origin",
    headers: body ? { "content-type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const data = response.status === 204 ? {} : await response.json().catch(() => ({}));
  if (!response.ok) throw Object.assign(new Error(data.error || `${response.status}`), { status: response.status });
  return data;
}

const when = (iso) => (iso ? new Date(iso).toLocaleString() : "never");

function open() {
  covered = [...area.parentElement.children].filter(
    (n) => n !== area && !["HEADER", "NAV"].includes(n.tagName) && !n.hidden);
  covered.forEach((n) => { n.hidden = true; });
  area.hidden = false;
  render();
}

function close() {
  area.hidden = true;
  covered.forEach((n) => { n.hidden = false; });
  covered = [];
}

async function render() {
  const [sessions, totp, tokens] = await Promise.all([
    api("GET", "/console/api/me/sessions"),
    api("GET", "/console/api/me/totp"),
    api("GET", "/console/api/me/tokens"),
  ]).catch(() => [null, null, null]);
  if (!sessions) { area.replaceChildren(el("p", { text: "Could not load your account." })); return; }
  area.replaceChildren(
    el("div", { className: "account-head" },
      el("h2", { text: `Account — ${me.name} (${me.email})` }),
      el("button", { type: "button", className: "quiet", text: "Close", onclick: close })),
    sessionsSection(sessions.sessions),
    passwordSection(),
    totpSection(totp),
    tokensSection(tokens.tokens),
  );
}

function sessionsSection(sessions) {
  const body = el("tbody");
  for (const s of sessions) {
    const action = s.current
      ? el("strong", { text: "this one" })
      : el("button", {
        type: "button", className: "quiet", text: "Sign out",
        onclick: async () => { await api("DELETE", `/console/api/me/sessions/${s.id}`); render(); },
      });
    body.append(el("tr", {},
      el("td", { text: s.user_agent || "unknown device" }),
      el("td", { text: s.address || "" }),
      el("td", { text: when(s.created_at) }),
      el("td", { text: when(s.last_seen_at) }),
      el("td", {}, action)));
  }
  const others = el("button", {
    type: "button", text: "Sign out everywhere else", disabled: sessions.length < 2,
    onclick: async () => { await api("POST", "/console/api/me/sessions/sign-out-others"); render(); },
  });
  return el("section", { id: "account-sessions" },
    el("h3", { text: "Where you are signed in" }),
    el("table", {},
      el("thead", {}, el("tr", {}, ...["Device", "Address", "Signed in", "Last seen", ""].map((t) => el("th", { scope: "col", text: t })))),
      body),
    others);
}

function passwordSection() {
  const status = el("p", { role: "status" });
  const form = el("form", { id: "account-password", "aria-label": "Change your password" },
    el("input", { name: "username", type: "email", autocomplete: "username", value: me.email, hidden: true }),
    el("label", {}, "Current password", el("input", { name: "current", type: "password", autocomplete: "current-password", required: true })),
    el("label", {}, "New password", el("input", { name: "fresh", type: "password", autocomplete: "new-password", minLength: 12, required: true })),
    el("button", { type: "submit", text: "Change password" }));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const done = await api("POST", "/console/api/me/password", {
        current_password: form.current.value, new_password: form.fresh.value,
      });
      form.reset();
      status.className = "";
      status.textContent = `Password changed; ${done.sessions_ended} other session(s) signed out.`;
    } catch (e) {
      status.className = "error";
      status.textContent = e.message.replace(/^(new_password|current_password): /, "");
    }
  });
  return el("section", {},
    el("h3", { text: "Password" }),
    el("p", { className: "hint", text: "At least 12 characters, not your email, not a common password. Changing it signs you out everywhere else." }),
    form, status);
}

function codeForm(label, submit) {
  const status = el("p", { role: "status", className: "error" });
  const form = el("form", {},
    el("label", {}, label, el("input", { name: "code", inputMode: "numeric", autocomplete: "one-time-code", required: true })),
    el("button", { type: "submit", text: "Confirm" }));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try { await submit(form.code.value.trim()); } catch (e) { status.textContent = e.message.replace(/^code: /, ""); }
  });
  return el("div", {}, form, status);
}

function totpSection(state) {
  const section = el("section", { id: "account-totp" }, el("h3", { text: "Two-factor sign-in" }));
  if (state.enabled) {
    section.append(
      el("p", { text: `On. ${state.recovery_codes_left} recovery code(s) left.` }),
      codeForm("To turn it off, a code from your app (or a recovery code)", async (code) => {
        await api("POST", "/console/api/me/totp/disable", { code });
        render();
      }));
    return section;
  }
  const start = el("button", { type: "button", text: "Set up with an authenticator app" });
  start.addEventListener("click", async () => {
    const enrolment = await api("POST", "/console/api/me/totp");
    const qr = el("img", {
      alt: "QR code for your authenticator app", width: 180, height: 180,
      src: "data:image/svg+xml;charset=utf-8," + encodeURIComponent(enrolment.qr_svg),
    });
    start.replaceWith(el("div", {},
      el("p", { text: "Scan this with your authenticator app, or type the key into it:" }),
      qr,
      el("p", { className: "secret", text: enrolment.secret }),
      codeForm("Then enter the 6 digits it shows", async (code) => {
        const done = await api("POST", "/console/api/me/totp/confirm", { code });
        section.replaceChildren(
          el("h3", { text: "Two-factor sign-in is on" }),
          el("p", { text: "Keep these recovery codes somewhere safe: each signs you in once without your phone. They are shown only now." }),
          el("ul", { className: "codes" }, ...done.recovery_codes.map((c) => el("li", { text: c }))),
          el("button", { type: "button", text: "Done", onclick: render }));
      })));
  });
  section.append(el("p", { text: "Off. With it on, signing in also asks for a code from your phone." }), start);
  return section;
}

function tokensSection(tokens) {
  const body = el("tbody");
  for (const t of tokens) {
    body.append(el("tr", {},
      el("td", { text: t.name }),
      el("td", { text: `${t.hint}…` }),
      el("td", { text: t.scopes.join(", ") }),
      el("td", { text: when(t.expires_at) }),
      el("td", { text: when(t.last_used_at) }),
      el("td", {}, el("button", {
        type: "button", className: "quiet", text: "Revoke",
        onclick: async () => { await api("DELETE", `/console/api/me/tokens/${t.id}`); render(); },
      }))));
  }
  const scopes = [["conversations:read", "read conversations"], ["conversations:write", "act on conversations"]];
  if (me.admin) scopes.push(["admin", "the admin API"]);
  const shown = el("div", { role: "status" });
  const form = el("form", { id: "account-new-token", "aria-label": "New API token" },
    el("label", {}, "Name", el("input", { name: "name", required: true, maxLength: 100 })),
    ...scopes.map(([value, text]) => el("label", { className: "check" }, el("input", { type: "checkbox", name: "scope", value }), ` ${text}`)),
    el("label", {}, "Days", el("input", { name: "days", type: "number", min: 1, max: 366, value: 90 })),
    el("button", { type: "submit", text: "Make token" }));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const chosen = [...form.querySelectorAll("input[name=scope]:checked")].map((i) => i.value);
    try {
      const made = await api("POST", "/console/api/me/tokens", {
        name: form.name.value, scopes: chosen, expires_in_days: Number(form.days.value),
      });
      await render();
      document.getElementById("account-tokens").append(
        el("p", { text: "Your new token; copy it now, it is not shown again:" }),
        el("p", { className: "secret", text: made.secret }));
    } catch (e) {
      shown.className = "error";
      shown.textContent = e.message;
    }
  });
  return el("section", { id: "account-tokens" },
    el("h3", { text: "Personal API tokens" }),
    el("p", { className: "hint", text: "Send one as Authorization: Bearer <token>. Scopes: the console API as you (read, act) and, for admins, the admin API." }),
    tokens.length
      ? el("table", {},
        el("thead", {}, el("tr", {}, ...["Name", "Token", "Scopes", "Expires", "Last used", ""].map((t) => el("th", { scope: "col", text: t })))),
        body)
      : el("p", { text: "None yet." }),
    form, shown);
}

button.addEventListener("click", () => (area.hidden ? open() : close()));
document.addEventListener("console:start", (event) => {
  me = event.detail;
  if (!area.hidden) close();
});
document.addEventListener("console:view", () => { if (!area.hidden) close(); });
