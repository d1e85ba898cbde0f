// Alerts (issue 16): a conversation assigned to me by someone else (or the router), a note
// that mentions me, a first-response deadline of one of mine about to pass or passed, and a
// breach my team is told of. While the tab is shown, the page's toasts say it (console.js's
// and panel/notes.js's; the deadline warning is this module's own); while it is hidden, and
// only once the agent turned them on here (the permission asked from that click), a browser
// notification does, whose click brings the tab back with the conversation open. A short
// tone (WebAudio, no file) can go with each; it is off until turned on.
//
// The choices live in localStorage: they belong to this browser, as its permission does.
import { api, el } from "./dom.js";
import { showShortcuts } from "./shortcuts.js";

const PREFS = "switchboard.alerts";   // localStorage: {"notify": bool, "sound": bool}
// console.js colours a deadline amber under 5 minutes; the warning comes at the same point.
const WARN_BEFORE_MS = 5 * 60_000;
const WARNING_TOAST_MS = 15_000;
const supported = "Notification" in window;

function prefs() {
  try {
    const saved = JSON.parse(localStorage.getItem(PREFS) || "{}");
    return { notify: saved.notify === true, sound: saved.sound === true };
  } catch {
    return { notify: false, sound: false };
  }
}
function savePrefs(change) {
  localStorage.setItem(PREFS, JSON.stringify({ ...prefs(), ...change }));
}

let me = null;

// ---- the header's "Alerts" button and its panel ----

const toggle = el("button", { type: "button", id: "alerts-button", text: "Alerts", "aria-expanded": "false",
  "aria-controls": "alerts-panel" });
const notifyBox = el("input", { type: "checkbox", id: "alerts-notify" });
const soundBox = el("input", { type: "checkbox", id: "alerts-sound" });
const state = el("p", { className: "hint", id: "alerts-state", role: "status" });
const keysButton = el("button", { type: "button", className: "quiet", text: "Keyboard shortcuts (?)" });
const panel = el("section", { id: "alerts-panel", hidden: true, "aria-label": "Alerts" },
  el("label", { className: "check" }, notifyBox, " Desktop notifications while this tab is hidden"),
  el("label", { className: "check" }, soundBox, " Sound"),
  state,
  keysButton);
document.getElementById("account-button").before(toggle);
document.querySelector("#app header").after(panel);

function showState() {
  const p = prefs();
  const permission = supported ? Notification.permission : "unsupported";
  notifyBox.checked = p.notify && permission === "granted";
  notifyBox.disabled = permission === "unsupported";
  soundBox.checked = p.sound;
  state.textContent = permission === "unsupported" ? "This browser has no desktop notifications."
    : permission === "denied" ? "The browser blocks notifications for this site: allow them in its site settings."
    : notifyBox.checked ? "You are told of assignments, mentions and deadlines while the tab is hidden."
    : "";
}

toggle.addEventListener("click", () => {
  panel.hidden = !panel.hidden;
  toggle.setAttribute("aria-expanded", String(!panel.hidden));
  if (panel.hidden) return;
  // Under the button, wherever the header's wrapping put it.
  panel.style.top = `${Math.round(toggle.getBoundingClientRect().bottom + 6)}px`;
  showState();
  notifyBox.focus();
});
panel.addEventListener("keydown", (event) => {
  if (event.key === "Escape") { event.stopPropagation(); panel.hidden = true; toggle.setAttribute("aria-expanded", "false"); toggle.focus(); }
});
keysButton.addEventListener("click", showShortcuts);

// The permission is asked from this click: browsers ignore a request made without a gesture.
notifyBox.addEventListener("change", async () => {
  if (!notifyBox.checked) { savePrefs({ notify: false }); showState(); return; }
  const answer = Notification.permission === "granted" ? "granted" : await Notification.requestPermission();
  savePrefs({ notify: answer === "granted" });
  showState();
});
soundBox.addEventListener("change", () => {
  savePrefs({ sound: soundBox.checked });
  if (soundBox.checked) beep();   // a sample, and it unlocks audio from this gesture
});

// ---- the sound: two short sine notes, quiet ----

let audio = null;
function beep() {
  try {
    audio = audio || new AudioContext();
    if (audio.state === "suspended") audio.resume();
    const gain = audio.createGain();
    gain.connect(audio.destination);
    const now = audio.currentTime;
    gain.gain.setValueAtTime(0.0001, now);
    gain.gain.exponentialRampToValueAtTime(0.15, now + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, now + 0.35);
    [880, 1320].forEach((hz, i) => {
      const tone = audio.createOscillator();
      tone.frequency.value = hz;
      tone.connect(gain);
      tone.start(now + i * 0.12);
      tone.stop(now + 0.12 + i * 0.12);
    });
  } catch {
    // No audio device, or the browser refused: the toast or notification still says it.
  }
}

// ---- telling the agent ----

function toast(text, conversationId) {
  const close = el("button", { type: "button", text: "×", "aria-label": "Dismiss" });
  const go = el("button", { type: "button", text: "Open" });
  const node = el("div", { className: "toast warning", role: "status" },
    el("span", { text }), el("span", { className: "toast-actions" }, go, close));
  close.addEventListener("click", () => node.remove());
  go.addEventListener("click", () => {
    document.dispatchEvent(new CustomEvent("console:show", { detail: conversationId }));
    node.remove();
  });
  document.getElementById("toasts").append(node);
  setTimeout(() => node.remove(), WARNING_TOAST_MS);
}

// kind: assigned, mention, sla_warning, sla_breached. `ownToast`: this module shows the toast
// (the others' toasts come from console.js and panel/notes.js).
function alert(kind, title, body, conversationId, ownToast = false) {
  const p = prefs();
  const hidden = document.visibilityState === "hidden";
  if (hidden && p.notify && supported && Notification.permission === "granted") {
    // One per conversation and kind: a second tab of the same agent replaces, not adds.
    const shown = new Notification(title, { body, tag: `${kind}:${conversationId}` });
    shown.onclick = () => {
      window.focus();
      document.dispatchEvent(new CustomEvent("console:show", { detail: conversationId }));
      shown.close();
    };
  } else if (ownToast) {
    toast(`${title}: ${body}`, conversationId);
  }
  if (p.sound) beep();
}

const customer = (c) => c.contact.name || c.contact.email || "a visitor";

// ---- deadlines of my conversations: warned once each, 5 minutes before ----

const deadlines = new Map();   // conversation id -> timer
function watchDeadline(c) {
  clearTimeout(deadlines.get(c.id));
  deadlines.delete(c.id);
  const mine = me && c.assignee && c.assignee.id === me.id && c.status === "assigned";
  if (!mine || !c.first_response_due || c.first_response_at) return;
  const due = Date.parse(c.first_response_due);
  const wait = due - WARN_BEFORE_MS - Date.now();
  if (due <= Date.now()) return;   // already passed: sla.breached says so
  deadlines.set(c.id, setTimeout(() => {
    deadlines.delete(c.id);
    const minutes = Math.max(1, Math.round((due - Date.now()) / 60_000));
    alert("sla_warning", "First reply due soon", `${customer(c)}: due in ${minutes} min`, c.id, true);
  }, Math.max(0, wait)));
}

// ---- the events ----

function onConversation(f) {
  const c = f.data.conversation;
  watchDeadline(c);
  const a = f.data.activity;
  // Assigned to me by the router or a colleague; my own claim or reply is no news to me.
  if (a && a.kind === "assigned" && a.agent?.id === me.id && a.actor?.id !== me.id) {
    alert("assigned", "New conversation for you", customer(c), c.id);
  }
}

function onNote(f) {
  const note = f.data.note;
  if (note.mentions.includes(me.id) && note.author?.id !== me.id) {
    alert("mention", `${note.author?.name || "A colleague"} mentioned you`, note.text, note.conversation_id);
  }
}

function onBreach(f) {
  const c = f.data.conversation;
  watchDeadline(c);
  // The same people console.js toasts: the team the policy names, supervisors, the holder.
  const concerned = me.role !== "agent" || c.assignee?.id === me.id
    || (me.team_ids || []).includes(f.data.notify_team_id || c.team?.id);
  if (concerned) {
    alert("sla_breached", `SLA breached (${f.data.kind.replace("_", " ")})`, customer(c), c.id);
  }
}

const HANDLERS = {
  "conversation.created": onConversation,
  "conversation.updated": onConversation,
  "note.created": onNote,
  "sla.breached": onBreach,
};

document.addEventListener("console:event", (event) => {
  if (me) HANDLERS[event.detail.name]?.(event.detail);
});

function start(agent) {
  me = agent;
  showState();
  // The deadlines of what I hold now; events keep them current after this.
  api("GET", "/console/api/conversations").then((d) => d.conversations.forEach(watchDeadline), () => {});
}
document.addEventListener("console:start", (event) => start(event.detail));
// A module can run after console.js already started (its /me answer came first).
if (!document.getElementById("app").hidden && !me) {
  api("GET", "/console/api/me").then((d) => { if (!me) start(d.agent); }, () => {});
}
