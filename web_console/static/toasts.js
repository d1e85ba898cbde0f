// Where the toasts (#toasts: console.js's, the mention toasts, notifications.js's) sit: never
// over what an agent needs on screen — the header's controls, the tabs, the reply box, the
// supervisor view's tables and forms (CLEAR). The stack keeps its column (top right under the header at
// 1280 px, the window's width on a phone) and takes the tallest stretch of that column that
// none of those things is in, at most that tall (past it, it scrolls): under the header, or
// above the reply box, or at the bottom under a short table. When no stretch can hold a toast
// (a long agent table fills the column), room is made instead: beside the supervisor view, a
// gutter the stack's width on its right (its tables get narrower for as long as toasts are
// shown); on a phone, where the stack spans the width, the stack joins the page's flow at its
// top, where it pushes content down rather than cover it. Re-placed when a toast comes or
// goes, on scroll and resize, and when the view changes; the sizes are set through the CSSOM,
// which the console's CSP allows.
const box = document.getElementById("toasts");
const GAP = 8;          // px kept between the toasts and what they spare, or the window's edge
const MIN_ROOM = 48;    // px: a stretch lower than this (or than a toast) holds no toast
const CLEAR = ["#app > header", "#tabs", "#reply-form", "#supervisor > *"];
// Narrower than this beside a gutter, the supervisor's tables would lose columns: the stack
// goes into the flow instead.
const MIN_TABLES = 480;

// "gutter" or "inline" while room is made for the toasts shown; null otherwise.
let made = null;

function onScreen(node) {
  return node.getClientRects().length > 0;
}

// The part of the node one can see: its box, cut by every ancestor that clips (a scrolled
// table is hidden past its pane's edge) and by the window. [top, bottom, left, right].
function visible(node) {
  const r = node.getBoundingClientRect();
  let [top, bottom, left, right] = [r.top, r.bottom, r.left, r.right];
  for (let up = node.parentElement; up && up !== document.body; up = up.parentElement) {
    const style = getComputedStyle(up);
    if (style.overflowX === "visible" && style.overflowY === "visible") continue;
    const c = up.getBoundingClientRect();
    [top, bottom, left, right] = [Math.max(top, c.top), Math.min(bottom, c.bottom),
      Math.max(left, c.left), Math.min(right, c.right)];
  }
  return [Math.max(top, 0), Math.min(bottom, window.innerHeight), left, right];
}

// The stretches [top, bottom] of the column [left, right] that nothing in CLEAR is in.
function stretches(left, right) {
  const taken = [];
  for (const node of document.querySelectorAll(CLEAR.join(","))) {
    if (!onScreen(node)) continue;
    const [top, bottom, l, r] = visible(node);
    if (bottom <= top || r <= left - GAP || l >= right + GAP) continue;
    taken.push([top - GAP, bottom + GAP]);
  }
  taken.sort((a, b) => a[0] - b[0]);
  const free = [];
  let from = GAP;
  for (const [top, bottom] of taken) {
    if (top > from) free.push([from, top]);
    from = Math.max(from, bottom);
  }
  const end = window.innerHeight - GAP;
  if (end > from) free.push([from, end]);
  return free;
}

function place() {
  const toasts = box.querySelectorAll(".toast");
  if (!toasts.length) {
    release();
    return;
  }
  if (made === "inline") return;  // in the page's flow, it covers nothing
  const supervisor = document.getElementById("supervisor");
  if (made === "gutter") gutter(supervisor);
  const stack = box.getBoundingClientRect();
  const free = stretches(stack.left, stack.right);
  const best = free.reduce((a, b) => (b[1] - b[0] > a[1] - a[0] ? b : a), [0, 0]);
  const need = Math.max(MIN_ROOM, ...Array.from(toasts, (t) => t.offsetHeight));
  if (best[1] - best[0] >= need) {
    setPlace(best);
    return;
  }
  // No stretch of the column can hold a toast: make room rather than cover.
  const wide = supervisor && onScreen(supervisor)
    && supervisor.getBoundingClientRect().width - stack.width - GAP >= MIN_TABLES;
  if (made === null && wide) {
    made = "gutter";
    place();
  } else {
    made = "inline";
    box.classList.add("toasts-inline");
    box.classList.remove("toasts-bottom");
    box.style.top = "";
    box.style.maxHeight = "";
  }
}

// The supervisor view's content ends a gap short of the stack (which stays where it is).
function gutter(supervisor) {
  const stack = box.getBoundingClientRect();
  const pane = supervisor.getBoundingClientRect();
  supervisor.style.paddingRight = `${Math.ceil(pane.right - stack.left + GAP)}px`;
}

function release() {
  made = null;
  box.classList.remove("toasts-inline");
  const supervisor = document.getElementById("supervisor");
  if (supervisor) supervisor.style.paddingRight = "";
}

// At the stretch's top when that is the header's bottom (or the window's top); otherwise,
// when the stretch reaches the window's bottom, at the bottom: under a reply box or a short
// table the stack sits in the corner rather than hang under them.
function setPlace([top, bottom]) {
  const header = document.querySelector("#app > header");
  const under = header && onScreen(header) ? Math.max(0, visible(header)[1]) + GAP : GAP;
  const low = bottom >= window.innerHeight - GAP - 1 && top > under + 1;
  box.classList.toggle("toasts-bottom", low);
  box.style.top = low ? "" : `${Math.round(top)}px`;
  box.style.maxHeight = `${Math.max(0, Math.floor(bottom - top))}px`;
}

let asked = false;
function soon() {
  if (asked) return;
  asked = true;
  requestAnimationFrame(() => { asked = false; place(); });
}

// Another view, another size: whatever room was made is looked at afresh.
function anew() {
  release();
  soon();
}

new MutationObserver(soon).observe(box, { childList: true, subtree: true });
window.addEventListener("scroll", soon, { passive: true, capture: true });
window.addEventListener("resize", anew);
document.addEventListener("console:open", anew);
document.addEventListener("console:view", anew);
place();
