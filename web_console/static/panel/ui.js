// The one door to the vendored libraries (../vendor/, see docs/console-frontend.md): the
// panel's modules take Preact, htm and signals from here. `html` is htm bound to Preact: a
// tagged template, parsed without eval, whose ${values} are rendered as text unless they are
// components or elements.
import { h, render } from "../vendor/preact/preact.js";
import htm from "../vendor/htm/htm.js";

export { h, render };
export { batch, computed, effect, signal } from "../vendor/signals/signals.js";
export const html = htm.bind(h);
