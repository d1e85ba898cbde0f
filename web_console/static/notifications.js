// Alerts (issue 16): a conversation assigned to me by someone else (or the router), a note
// that mentions me, a first-response deadline of one of mine about to pass or passed, and a
// breach my team is told of. While the tab is shown, the page's toasts say it (console.js's
// and panel/notes.js's; the deadline warning is this module's own); while it is hidden, and
// only once the agent turned them on here (the permission asked from that click), a browser
// notification does, whose click brings the tab back with the conversation open. A short
// tone (WebAudio, no file) can go with each; it is off until turned on.
//
// What is news comes from the conversations store (conversations/store.js): its event table
// tells onNews listeners of assignments, mentions and breaches that concern this agent, and its
// myDeadlines holds the first replies they owe; nothing here reads the server or the frames.
//
// The choices live in localStorage: they belong to this browser, as its permission does.
import { customerName, conversations, me, myDeadlines, onNews } from "./conversations/store.js";
import { el } from "./dom.js";
import { effect } from "./panel/ui.js";
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

// ---- deadlines of my conversations: warned once each, 5 minutes before ----

// From the store's myDeadlines (the conversations I hold and have not answered, with their
// first-response time), kept by the store from its first reads and the events after: a
// timer per deadline, set again only when the deadline moved.
const timers = new Map();   // conversation id -> {due, timer}
function watchDeadlines(deadlines) {
  for (const [id, held] of timers) {
    if (deadlines.get(id) !== held.due) { clearTimeout(held.timer); timers.delete(id); }
  }
  const now = Date.now();
  for (const [id, due] of deadlines) {
    if (timers.has(id) || due <= now) continue;   // already passed: sla.breached says so
    const timer = setTimeout(() => {
      const c = conversations.peek().get(id);
      const minutes = Math.max(1, Math.round((due - Date.now()) / 60_000));
      if (c) alert("sla_warning", "First reply due soon", `${customerName(c)}: due in ${minutes} min`, id, true);
    }, Math.max(0, due - WARN_BEFORE_MS - now));
    timers.set(id, { due, timer });
  }
}

// ---- what the store's event table says is news for me ----

onNews((news) => {
  if (news.kind === "assigned") {
    alert("assigned", "New conversation for you", customerName(news.conversation), news.conversationId);
  } else if (news.kind === "mention") {
    alert("mention", `${news.author?.name || "A colleague"} mentioned you`, news.text, news.conversationId);
  } else if (news.kind === "sla_breached") {
    alert("sla_breached", `SLA breached (${news.deadline.replace("_", " ")})`, customerName(news.conversation),
      news.conversationId);
  }
});

effect(() => {
  if (me.value) showState();
});
effect(() => watchDeadlines(myDeadlines.value));
