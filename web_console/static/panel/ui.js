// The one door to the vendored libraries (../vendor/, see docs/console-frontend.md): the
// console's modules take Preact, htm and signals from here. `html` is htm bound to Preact: a
// tagged template, parsed without eval, whose ${values} are rendered as text unless they are
// components or elements.
import { Component, h, render } from "../vendor/preact/preact.js";
import htm from "../vendor/htm/htm.js";

export { Component, h, render };
export { useEffect, useRef } from "../vendor/preact/hooks.js";
export { batch, computed, effect, signal } from "../vendor/signals/signals.js";
export const html = htm.bind(h);
