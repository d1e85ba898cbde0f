// Keyboard shortcuts (issue 16): move through the list, reply, note, resolve, claim and
// search without the mouse; "?" lists them in a dialog. They act through the page's own
// controls (#claim, #resolve, #reply, the note field, the search box) and open conversations
// with "console:show", so a shortcut does exactly what the click it stands for does.
//
// Single keys are ignored while a text field has the focus (only Escape leaves it), and
// with Ctrl, Meta or Alt held, so browser and screen-reader keys pass through. WCAG 2.1.4
// asks that single-character shortcuts can be turned off: the dialog has that switch, and
// Alt+↓/↑ and the header's "Alerts" panel still reach the list and the dialog when they are.
import { el } from "./dom.js";

const SINGLE_KEYS = "switchboard.shortcuts.single";   // localStorage: "off" turns letters off

export const SHORTCUTS = [
  { keys: ["j", "Alt+↓"], does: "Next conversation in the list" },
  { keys: ["k", "Alt+↑"], does: "Previous conversation in the list" },
  { keys: ["r"], does: "Write a reply (focus the reply box)" },
  { keys: ["n"], does: "Write an internal note" },
  { keys: ["e"], does: "Resolve the conversation (asks first if a reply or note is unsent)" },
  { keys: ["a"], does: "Assign it to me (claim)" },
  { keys: ["/"], does: "Search messages and customers" },
  { keys: ["?"], does: "Show these shortcuts" },
  { keys: ["Esc"], does: "Leave a text field, close a dialog" },
];

const $ = (id) => document.getElementById(id);
const singleKeysOn = () => localStorage.getItem(SINGLE_KEYS) !== "off";
const shown = (node) => node !== null && node.getClientRects().length > 0;

// A polite line for screen readers (and the eye) when a key has nothing to act on.
const said = el("p", { id: "shortcut-status", className: "visually-hidden", role: "status" });
document.body.append(said);
function say(text) {
  said.textContent = "";
  // A fresh text node each time, so the same words are announced again.
  requestAnimationFrame(() => { said.textContent = text; });
}

// ---- a modal dialog: focus trapped inside, Escape closes, focus goes back where it was ----

function modal(dialog) {
  let before = null;
  const focusable = () => [...dialog.querySelectorAll("button, input, [tabindex='0']")]
    .filter((n) => !n.disabled && shown(n));
  dialog.addEventListener("keydown", (event) => {
    if (event.key !== "Tab") return;
    const items = focusable();
    if (!items.length) return;
    const first = items[0], last = items[items.length - 1];
    if (event.shiftKey && document.activeElement === first) { event.preventDefault(); last.focus(); }
    else if (!event.shiftKey && document.activeElement === last) { event.preventDefault(); first.focus(); }
  });
  // The browser closes a modal <dialog> on Escape (its "cancel"); both ways end here.
  dialog.addEventListener("close", () => {
    if (before && before.isConnected) before.focus();
    before = null;
  });
  return {
    open(focus) {
      if (dialog.open) return;
      before = document.activeElement;
      dialog.showModal();
      (focus || focusable()[0])?.focus();
    },
    close() { if (dialog.open) dialog.close(); },
  };
}

// ---- "?": the list of shortcuts ----

const help = el("dialog", { id: "shortcuts-dialog", className: "sb-dialog", "aria-labelledby": "shortcuts-title" });
const singleSwitch = el("input", { type: "checkbox", id: "shortcuts-single", checked: singleKeysOn() });
singleSwitch.addEventListener("change", () => {
  localStorage.setItem(SINGLE_KEYS, singleSwitch.checked ? "on" : "off");
});
const closeHelp = el("button", { type: "button", text: "Close" });
help.append(
  el("h2", { id: "shortcuts-title", text: "Keyboard shortcuts" }),
  el("table", {},
    el("caption", { className: "visually-hidden", text: "Keys and what they do" }),
    el("thead", {}, el("tr", {}, el("th", { scope: "col", text: "Keys" }), el("th", { scope: "col", text: "What it does" }))),
    el("tbody", {}, ...SHORTCUTS.map((s) => el("tr", {},
      el("td", {}, ...s.keys.flatMap((k, i) => (i ? [" or ", el("kbd", { text: k })] : [el("kbd", { text: k })]))),
      el("td", { text: s.does }))))),
  el("p", { className: "hint", text: "Letters do nothing while you type in a field; press Esc to leave it first." }),
  el("label", { className: "check" }, singleSwitch, " Single-key shortcuts (j, k, r, n, e, a, /, ?)"),
  el("div", { className: "sb-dialog-actions" }, closeHelp),
);
document.body.append(help);
const helpDialog = modal(help);
closeHelp.addEventListener("click", () => helpDialog.close());
export function showShortcuts() { helpDialog.open(closeHelp); }

// ---- "e" with an unsent draft: ask first ----

const confirmBox = el("dialog", { id: "resolve-confirm", className: "sb-dialog", "aria-labelledby": "resolve-confirm-title",
  "aria-describedby": "resolve-confirm-text" });
const resolveAnyway = el("button", { type: "button", text: "Resolve anyway" });
const keepEditing = el("button", { type: "button", className: "quiet", text: "Keep writing" });
confirmBox.append(
  el("h2", { id: "resolve-confirm-title", text: "Resolve with an unsent draft?" }),
  el("p", { id: "resolve-confirm-text" }),
  el("div", { className: "sb-dialog-actions" }, keepEditing, resolveAnyway),
);
document.body.append(confirmBox);
const confirmDialog = modal(confirmBox);
keepEditing.addEventListener("click", () => confirmDialog.close());
resolveAnyway.addEventListener("click", () => { confirmDialog.close(); $("resolve").click(); });

function unsent() {
  const parts = [];
  if ($("reply")?.value.trim() || $("reply-files")?.files.length) parts.push("reply");
  if ($("note-text")?.value.trim()) parts.push("note");
  return parts;
}

function resolve() {
  const button = $("resolve");
  if (!shown(button)) { say("Nothing to resolve here."); return; }
  const drafts = unsent();
  if (!drafts.length) { button.click(); return; }
  confirmBox.querySelector("#resolve-confirm-text").textContent =
    `Your ${drafts.join(" and ")} has not been sent; it stays in its box if you resolve.`;
  confirmDialog.open(keepEditing);
}

// ---- moving through the list ----

function listItems() {
  // The list may be out of sight on a phone (panes.js shows the conversation): j and k still
  // walk it. A list that is not shown at all (the supervisor view) has nothing to walk.
  const list = document.getElementById("conversations");
  return list.hidden ? [] : [...list.querySelectorAll("li[data-conversation-id]")];
}

function step(by) {
  const items = listItems();
  if (!items.length) { say("The list is empty."); return; }
  const focused = items.indexOf(document.activeElement);
  const open = items.findIndex((li) => li.classList.contains("active"));
  const from = focused >= 0 ? focused : open;
  const to = from < 0 ? (by > 0 ? 0 : items.length - 1) : from + by;
  if (to < 0 || to >= items.length) { say(by > 0 ? "Last conversation in the list." : "First conversation in the list."); return; }
  const id = items[to].dataset.conversationId;
  document.dispatchEvent(new CustomEvent("console:show", { detail: id }));
  // console.js rebuilds the list when a conversation opens: focus the new item for that id,
  // or, where the list is out of sight (a phone), the conversation's title.
  const item = document.querySelector(`#conversations li[data-conversation-id="${CSS.escape(id)}"]`);
  if (item && shown(item)) item.focus();
  else focusTitle();
}

function focusTitle() {
  const title = $("thread-title");
  if (!shown(title)) return;
  title.tabIndex = -1;
  title.focus();
}

function focusField(node, missing) {
  if (shown(node)) node.focus();
  else say(missing);
}

// ---- the keys ----

function typing(target) {
  return target instanceof HTMLElement
    && (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
}

// Escape in a field: out of it, to the conversation's title (in the thread or the panel) or
// to the list, so the letters work again.
function leaveField(target) {
  if (target.closest("#thread, #context-panel") && shown($("thread-title"))) {
    $("thread-title").tabIndex = -1;
    $("thread-title").focus();
  } else {
    const items = listItems();
    (items.find((li) => li.classList.contains("active")) || items[0] || document.body).focus?.();
    if (!items.length) target.blur();
  }
}

const LETTERS = {
  j: () => step(1),
  k: () => step(-1),
  r: () => focusField($("reply"), "Open a conversation to reply."),
  n: () => focusField($("note-text"), "Open a conversation to write a note."),
  e: resolve,
  a: () => (shown($("claim")) ? $("claim").click() : say("Nothing to claim here.")),
  "/": () => {
    // On a phone the search box sits with the list: go back to it first (panes.js).
    if (!shown($("search-box")) && shown($("pane-back"))) $("pane-back").click();
    focusField($("search-box"), "Search is not available here.");
  },
  "?": showShortcuts,
};

document.addEventListener("keydown", (event) => {
  if (event.defaultPrevented || event.isComposing || $("app").hidden) return;
  if (document.querySelector("dialog[open]")) return;   // the dialog has the keys
  if (typing(event.target)) {
    if (event.key === "Escape" && !event.altKey && !event.ctrlKey && !event.metaKey) leaveField(event.target);
    return;
  }
  if (event.altKey && !event.ctrlKey && !event.metaKey && (event.key === "ArrowDown" || event.key === "ArrowUp")) {
    event.preventDefault();
    step(event.key === "ArrowDown" ? 1 : -1);
    return;
  }
  if (event.altKey || event.ctrlKey || event.metaKey || !singleKeysOn()) return;
  const act = LETTERS[event.key];
  if (!act) return;
  event.preventDefault();   // "r" must not type an r into the box it focuses
  act();
});
