// The customer's profile in the context panel (issue 16): phone, notes, labels, language and
// local time shown on the card; an Edit form for those who take conversations (PATCH
// …/contact, one field per input, "" clears); and the brand's other contacts that share the
// email or phone, each with a Link button (POST …/merge-contact). A saved change comes back
// as conversation.updated events, on which the store re-reads the context.
import { api } from "./api.js";
import { me, openId } from "./store.js";
import { html, signal } from "./ui.js";

const FIELDS = [
  ["name", "Name", "text", 200], ["email", "Email", "email", 320], ["phone", "Phone", "tel", 32],
  ["time_zone", "Time zone", "text", 64], ["labels", "Labels (comma-separated)", "text", 800],
  ["notes", "Notes about the customer", "textarea", 5000],
];

// Whose profile is being edited (a contact id), what the form says, why a save failed.
const editing = signal(null);
const draft = signal({});
const failure = signal("");
const linking = signal("");

export function mayEdit() {
  const agent = me.value;
  const held = agent ? Object.values(agent.roles || {}).flat() : [];
  return Boolean(agent && (agent.admin || held.includes("agent") || held.includes("supervisor")));
}

function localTime(zone) {
  try {
    return new Date().toLocaleTimeString([], { timeZone: zone, hour: "2-digit", minute: "2-digit" });
  } catch {
    return "";
  }
}

export function ProfileDetails({ customer }) {
  const time = customer.time_zone ? localTime(customer.time_zone) : "";
  return html`
    ${customer.phone ? html`<p class="cp-facts">Phone ${customer.phone}</p>` : null}
    ${customer.language || customer.time_zone ? html`<p class="cp-facts">
      ${customer.language ? `Language ${customer.language}` : ""}${customer.language && customer.time_zone ? " · " : ""}
      ${customer.time_zone ? `${customer.time_zone}${time ? ` (${time} there now)` : ""}` : ""}
    </p>` : null}
    ${customer.labels.length ? html`<ul class="label-chips cp-labels" aria-label="Customer labels">
      ${customer.labels.map((l) => html`<li key=${l} class="label">${l}</li>`)}
    </ul>` : null}
    ${customer.notes ? html`<p class="cp-customer-notes">${customer.notes}</p>` : null}`;
}

function start(customer) {
  failure.value = "";
  draft.value = Object.fromEntries(FIELDS.map(([key]) => [
    key, key === "labels" ? customer.labels.join(", ") : customer[key] || "",
  ]));
  editing.value = customer.id;
}

async function save(event, customer) {
  event.preventDefault();
  const body = {};
  for (const [key] of FIELDS) {
    const was = key === "labels" ? customer.labels.join(", ") : customer[key] || "";
    const now = draft.value[key].trim();
    if (now === was) continue;
    body[key] = key === "labels" ? now.split(",").map((l) => l.trim()).filter(Boolean) : now;
  }
  if (!Object.keys(body).length) { editing.value = null; return; }
  try {
    await api("PATCH", `/console/api/conversations/${openId.value}/contact`, body);
    editing.value = null;
  } catch (e) {
    failure.value = e.message;
  }
}

export function ProfileEditor({ customer }) {
  if (!mayEdit()) return null;
  if (editing.value !== customer.id) {
    return html`<button type="button" class="cp-edit" onClick=${() => start(customer)}>Edit customer</button>`;
  }
  const field = ([key, label, type, max]) => {
    const id = `cp-edit-${key}`;
    const input = (e) => { draft.value = { ...draft.value, [key]: e.currentTarget.value }; };
    return html`<label key=${key} for=${id}>${label}
      ${type === "textarea"
        ? html`<textarea id=${id} rows="3" maxlength=${max} value=${draft.value[key]} onInput=${input} />`
        : html`<input id=${id} type=${type} maxlength=${max} value=${draft.value[key]} onInput=${input}
            placeholder=${key === "time_zone" ? "e.g. Europe/Paris" : ""} />`}
    </label>`;
  };
  return html`<form class="cp-profile-form" aria-label="Edit customer" onSubmit=${(e) => save(e, customer)}
      onKeyDown=${(e) => { if (e.key === "Escape") editing.value = null; }}>
    ${FIELDS.map(field)}
    ${failure.value ? html`<p class="cp-error" role="alert">${failure.value}</p>` : null}
    <div class="cp-actions">
      <button type="submit">Save</button>
      <button type="button" class="secondary" onClick=${() => { editing.value = null; }}>Cancel</button>
    </div>
  </form>`;
}

async function link(contactId) {
  linking.value = "";
  try {
    await api("POST", `/console/api/conversations/${openId.value}/merge-contact`, { contact: contactId });
  } catch (e) {
    linking.value = e.message;
  }
}

export function LookAlikes({ customer }) {
  if (!customer.look_alikes.length) return null;
  return html`<div class="cp-look-alikes">
    <p class="cp-muted">Maybe the same person:</p>
    <ul class="cp-list">
      ${customer.look_alikes.map((a) => html`<li key=${a.contact_id}>
        ${a.why} seen on ${a.channels.join(", ") || "no channel"}${a.name ? ` (${a.name})` : ""}
        ${a.proven ? null : html`<span class="cp-warning"> (typed, not proved: link only if you know it is them; their histories join)</span>`}
        ${mayEdit() ? html` <button type="button" class="cp-link-contact" onClick=${() => link(a.contact_id)}
            aria-label=${`Link ${a.name || "this contact"} (${a.why}) to this customer`}>Link</button>` : null}
      </li>`)}
    </ul>
    ${linking.value ? html`<p class="cp-error" role="alert">${linking.value}</p>` : null}
  </div>`;
}
