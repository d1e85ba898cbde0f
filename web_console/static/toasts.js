// Where the toasts (#toasts: console.js's, the mention toasts, notifications.js's) sit: never
// over the reply box. They start at the top right, under the header; when the reply box is
// up there (a phone scrolled down to it), they go to the bottom instead, and the stack is
// never taller than the room left on that side (it scrolls past that), so a pile of toasts
// cannot grow down onto the box either. Re-placed when a toast comes or goes, and on scroll
// and resize; the sizes are set through the CSSOM, which the console's CSP allows.
const box = document.getElementById("toasts");
const GAP = 8;      // px kept between the toasts and the reply box or the window's edge
const TOP = 64;     // under the header at 1280 px (console.css's #toasts top)

function place() {
  const form = document.getElementById("reply-form");
  const reply = form && form.getClientRects().length ? form.getBoundingClientRect() : null;
  const height = window.innerHeight;
  // Outside the window the box cannot be covered: the usual place, the whole height.
  if (!reply || reply.bottom <= 0 || reply.top >= height) {
    setPlace("top", height - TOP - GAP);
    return;
  }
  const above = reply.top - GAP - TOP;
  const below = height - reply.bottom - 2 * GAP;
  if (above >= below) setPlace("top", above);
  else setPlace("bottom", below);
}

function setPlace(side, room) {
  box.classList.toggle("toasts-bottom", side === "bottom");
  box.style.maxHeight = `${Math.max(0, Math.floor(room))}px`;
}

let asked = false;
function soon() {
  if (asked) return;
  asked = true;
  requestAnimationFrame(() => { asked = false; place(); });
}

new MutationObserver(soon).observe(box, { childList: true, subtree: true });
window.addEventListener("scroll", soon, { passive: true, capture: true });
window.addEventListener("resize", soon);
document.addEventListener("console:open", soon);
document.addEventListener("console:view", soon);
place();
