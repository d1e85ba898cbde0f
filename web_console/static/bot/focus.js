// Where the keyboard's focus goes when the control pressed goes away: an editor that opens in
// the place of its button, or closes (Cancel, Save, Delete), or a row that is deleted. Left
// alone, the focus fell to the page's body and a keyboard user had to Tab again from the top
// of the page, through the header, the tabs and the Bot area's ten sections.
//
// focusWhen(find) calls find() on each animation frame, for up to three seconds, until it
// returns an element (a save's list is read again after its answer: the row to focus may
// appear a few frames later); that element gets the focus. A newer wish replaces an older one.
let wish = 0;

// Past the three seconds (a save refused, a list not read again), `fallback` (a selector) gets it.
export function focusWhen(find, fallback = null, timeout = 3000) {
  const mine = ++wish;
  const until = performance.now() + timeout;
  const look = () => {
    if (mine !== wish) return;
    const target = find();
    if (target) {
      target.focus();
      return;
    }
    if (performance.now() < until) requestAnimationFrame(look);
    else if (fallback) document.querySelector(fallback)?.focus();
  };
  requestAnimationFrame(look);
}

// focusWhen for a selector: its first match in the document.
export function focusOn(selector, fallback = null) {
  focusWhen(() => document.querySelector(selector), fallback);
}

// After pressing a control that may take itself away (a step's or a variation's Remove, the
// last one): if the focus fell to the body, `selector`'s element takes it.
export function focusIfLost(selector) {
  focusWhen(() => {
    const lost = !document.activeElement || document.activeElement === document.body;
    return lost ? document.querySelector(selector) : document.activeElement;
  }, null, 500);
}

// A button by its aria-label, as a selector.
export const labelled = (tag, label) => `${tag}[aria-label="${CSS.escape(label)}"]`;
