// A suggestion list under a text field (canned responses in the reply box, colleagues in a
// note): the field keeps the focus and points at the active option with
// aria-activedescendant, as the ARIA "combobox with listbox popup" pattern does.
import { html } from "./ui.js";

export function optionId(listId, index) {
  return `${listId}-${index}`;
}

// Arrow keys move, Enter or Tab picks, Escape closes. True when the key was the list's.
export function listKey(event, { count, active, move, pick, close }) {
  if (event.key === "ArrowDown" || event.key === "ArrowUp") {
    if (count) move((active + (event.key === "ArrowDown" ? 1 : count - 1)) % count);
  } else if ((event.key === "Enter" && !event.shiftKey) || event.key === "Tab") {
    if (!count) return false;
    pick(active);
  } else if (event.key === "Escape") {
    close();
  } else {
    return false;
  }
  event.preventDefault();
  event.stopPropagation();
  return true;
}

// options: [{key, label, detail}]; a mouse pick keeps the focus in the field.
export function Listbox({ id, label, options, active, onPick }) {
  return html`<ul class="suggest" role="listbox" id=${id} aria-label=${label}>
    ${options.map((option, i) => html`<li
        key=${option.key} id=${optionId(id, i)} role="option" aria-selected=${i === active ? "true" : "false"}
        class=${i === active ? "active" : ""}
        onMouseDown=${(event) => { event.preventDefault(); onPick(i); }}>
      <span class="suggest-label">${option.label}</span>
      ${option.detail ? html`<span class="suggest-detail">${option.detail}</span>` : null}
    </li>`)}
  </ul>`;
}
