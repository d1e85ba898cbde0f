// The Bot area's "Slots and forms" section (issue 19, read-only): the domain's slots with
// their type and mappings, the forms with their required slots, and the custom actions with
// what runs them (Switchboard itself, the project's action server, or nobody: the
// conversation goes to a person). From GET /console/api/bot/domain; edited in the YAML view.
import { api } from "../panel/api.js";
import { html, signal, useEffect } from "../panel/ui.js";

const domain = signal({ state: "idle", data: null, error: "" });

async function load() {
  domain.value = { ...domain.value, state: "loading", error: "" };
  try {
    domain.value = { state: "ready", data: await api("GET", "/console/api/bot/domain"), error: "" };
  } catch (e) {
    domain.value = { state: "error", data: domain.value.data, error: e.message };
  }
}

function mappingText(m) {
  const parts = [m.type];
  if (m.entity) parts.push(`entity ${m.entity}${m.role ? ` (role ${m.role})` : ""}${m.group ? ` (group ${m.group})` : ""}`);
  if (m.intents.length) parts.push(`intent ${m.intents.join(", ")}`);
  if (m.not_intents.length) parts.push(`not intent ${m.not_intents.join(", ")}`);
  if (m.value !== null && m.value !== undefined) parts.push(`value ${JSON.stringify(m.value)}`);
  for (const c of m.conditions) {
    parts.push(`when ${c.active_loop ? `form ${c.active_loop} is active` : "no form is active"}${c.requested_slot ? ` and asks for ${c.requested_slot}` : ""}`);
  }
  return parts.join(" · ");
}

const RUNS = {
  switchboard: "run by Switchboard",
  "action server": "on the action server",
  none: "no action server: the conversation goes to a person",
};

function Slots({ slots }) {
  if (!slots.length) return html`<p class="bot-muted">The domain has no slots.</p>`;
  return html`<ul class="bot-domain-list" id="bot-slots">
    ${slots.map((s) => html`<li key=${s.name} data-slot=${s.name}>
      <code>${s.name}</code> <span class="bot-badge">${s.type}</span>
      ${s.influence_conversation ? null : html`<span class="bot-muted">does not shape the dialogue</span>`}
      ${s.values.length ? html`<div class="bot-muted">values: ${s.values.join(", ")}</div>` : null}
      ${s.mappings.length
        ? html`<ul class="bot-mappings" aria-label=${`${s.name}: mappings`}>
            ${s.mappings.map((m, n) => html`<li key=${n}>${mappingText(m)}</li>`)}</ul>`
        : html`<div class="bot-muted">no mappings</div>`}
    </li>`)}
  </ul>`;
}

function Forms({ forms }) {
  if (!forms.length) return html`<p class="bot-muted">The domain has no forms.</p>`;
  return html`<ul class="bot-domain-list" id="bot-forms">
    ${forms.map((f) => html`<li key=${f.name} data-form=${f.name}>
      <code>${f.name}</code>
      <div>asks for: ${f.required_slots.length ? f.required_slots.map((s, n) => html`${n ? ", " : ""}<code key=${s}>${s}</code>`) : "nothing"}</div>
      ${f.ignored_intents.length ? html`<div class="bot-muted">ignores: ${f.ignored_intents.join(", ")}</div>` : null}
    </li>`)}
  </ul>`;
}

function Actions({ actions, server }) {
  return html`<div>
    <p id="bot-action-server" class="bot-muted">${server
      ? "An action server is configured (SWITCHBOARD_ACTION_SERVER_URL): custom actions run there."
      : "No action server is configured (SWITCHBOARD_ACTION_SERVER_URL): a conversation that reaches a custom action Switchboard does not run itself goes to a person."}</p>
    ${actions.length
      ? html`<ul class="bot-domain-list" id="bot-actions">
          ${actions.map((a) => html`<li key=${a.name} data-action=${a.name}><code>${a.name}</code> <span class="bot-muted">${RUNS[a.runs] || a.runs}</span></li>`)}</ul>`
      : html`<p class="bot-muted">The domain lists no custom actions.</p>`}
  </div>`;
}

export function Domain() {
  useEffect(() => { load(); }, []);
  const { state, data, error } = domain.value;
  return html`<div id="bot-domain">
    <p class="bot-muted">Read-only here; the YAML view edits domain.yml.</p>
    ${state === "loading" && !data ? html`<p class="bot-muted" role="status">Loading…</p>` : null}
    ${error ? html`<p class="bot-error" role="alert">${error}</p>` : null}
    ${data ? html`
      <section aria-labelledby="bot-slots-heading"><h3 id="bot-slots-heading">Slots (${data.slots.length})</h3><${Slots} slots=${data.slots} /></section>
      <section aria-labelledby="bot-forms-heading"><h3 id="bot-forms-heading">Forms (${data.forms.length})</h3><${Forms} forms=${data.forms} /></section>
      <section aria-labelledby="bot-actions-heading"><h3 id="bot-actions-heading">Custom actions (${data.actions.length})</h3><${Actions} actions=${data.actions} server=${data.action_server} /></section>` : null}
  </div>`;
}
