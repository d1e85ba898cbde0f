// The Bot area's "Health" section (issue 19): the bot over time in one brand. Per week:
// containment, fallback rate and handoff rate (the Analytics figures, from the same queries)
// and the accuracy on reviewed messages (confirmed predictions / reviewed); handoffs by
// reason; the same per intent; and each retrain from the review inbox with the reviewed
// set's accuracy before and after. Charts are uPlot (the Analytics area's Chart); each has a
// table with the same figures under it, for screen readers and keyboards.
import { Chart } from "../analytics/chart.js";
import { api } from "../panel/api.js";
import { html, signal, useEffect } from "../panel/ui.js";

const health = signal({ state: "idle", data: null, error: "" });
const brands = signal([]);
const chosen = signal({ brand: "", from: "", to: "" });
const rate = (v) => (v === null || v === undefined ? "—" : `${Math.round(v * 1000) / 10} %`);

async function load() {
  if (!brands.value.length) {
    try {
      brands.value = (await api("GET", "/console/api/bot/review/brands")).brands;
    } catch (e) {
      health.value = { state: "error", data: null, error: e.message };
      return;
    }
  }
  const c = chosen.value;
  const brand = c.brand || brands.value[0]?.slug;
  if (!brand) {
    health.value = { state: "error", data: null, error: "You review no brand." };
    return;
  }
  const params = new URLSearchParams({ brand, tz: Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC" });
  if (c.from) params.set("from", c.from);
  if (c.to) params.set("to", c.to);
  health.value = { ...health.value, state: "loading", error: "" };
  try {
    health.value = { state: "ready", data: await api("GET", `/console/api/bot/review/health?${params}`), error: "" };
  } catch (e) {
    health.value = { state: "error", data: health.value.data, error: e.message };
  }
}

function choose(name, value) {
  chosen.value = { ...chosen.value, [name]: value };
  load();
}

function Weeks({ weeks }) {
  const xs = weeks.map((_w, n) => n);
  const series = [
    ["containment_rate", "Containment"],
    ["fallback_rate", "Fallback rate"],
    ["handoff_rate", "Handoff rate"],
    ["accuracy", "Accuracy (reviewed)"],
  ];
  const data = weeks.length ? [xs, ...series.map(([key]) => weeks.map((w) => w[key]))] : null;
  return html`<section class="health-block" aria-labelledby="health-weeks-heading">
    <h3 id="health-weeks-heading">Per week</h3>
    <figure class="health-chart">
      <${Chart} data=${data} series=${series.map(([, label]) => ({ label }))} format=${rate} xName="Week"
        xLabels=${weeks.map((w) => w.week)} />
      <figcaption class="visually-hidden">Rates per week; the table below holds the same figures.</figcaption>
    </figure>
    ${weeks.length ? null : html`<p class="bot-muted">Nothing in this range.</p>`}
    <div class="bot-table-wrap" tabindex="0" role="region" aria-label="The bot per week (scrolls sideways)"><table class="bot-table" id="health-weeks">
      <caption class="visually-hidden">The bot per week</caption>
      <thead><tr><th scope="col">Week of</th><th scope="col" class="bot-num">Conversations</th>
        <th scope="col" class="bot-num">Containment</th><th scope="col" class="bot-num">Fallback</th>
        <th scope="col" class="bot-num">Handoff</th><th scope="col" class="bot-num">Reviewed</th>
        <th scope="col" class="bot-num">Accuracy</th></tr></thead>
      <tbody>${weeks.map((w) => html`<tr key=${w.week}><th scope="row">${w.week}</th>
        <td class="bot-num">${w.conversations}</td><td class="bot-num">${rate(w.containment_rate)}</td>
        <td class="bot-num">${rate(w.fallback_rate)}</td><td class="bot-num">${rate(w.handoff_rate)}</td>
        <td class="bot-num">${w.reviewed}</td><td class="bot-num">${rate(w.accuracy)}</td></tr>`)}</tbody>
    </table></div>
  </section>`;
}

function Reasons({ reasons }) {
  const data = reasons.length ? [reasons.map((_r, n) => n), reasons.map((r) => r.conversations)] : null;
  return html`<section class="health-block" aria-labelledby="health-reasons-heading">
    <h3 id="health-reasons-heading">Handoffs by reason</h3>
    ${reasons.length ? null : html`<p class="bot-muted">No conversation was handed to a person in this range.</p>`}
    <figure class="health-chart" hidden=${!reasons.length}>
      <${Chart} data=${data} bars=${true} counts=${true} series=${[{ label: "Conversations" }]} xName="Reason"
        xLabels=${reasons.map((r) => r.reason.replace(/_/g, " "))} height=${180} />
      <figcaption class="visually-hidden">Conversations handed to a person, by reason; the table below holds the counts.</figcaption>
    </figure>
    <div class="bot-table-wrap" tabindex="0" role="region" aria-label="Handoffs by reason (scrolls sideways)"><table class="bot-table" id="health-reasons">
      <caption class="visually-hidden">Handoffs by reason</caption>
      <thead><tr><th scope="col">Reason</th><th scope="col" class="bot-num">Conversations</th></tr></thead>
      <tbody>${reasons.map((r) => html`<tr key=${r.reason}><th scope="row">${r.reason.replace(/_/g, " ")}</th>
        <td class="bot-num">${r.conversations}</td></tr>`)}</tbody>
    </table></div>
  </section>`;
}

function Intents({ intents }) {
  return html`<section class="health-block" aria-labelledby="health-intents-heading">
    <h3 id="health-intents-heading">Per intent</h3>
    <div class="bot-table-wrap" tabindex="0" role="region" aria-label="The bot per intent (scrolls sideways)"><table class="bot-table" id="health-intents">
      <caption class="visually-hidden">The bot per intent</caption>
      <thead><tr><th scope="col">Intent</th><th scope="col" class="bot-num">Conversations</th>
        <th scope="col" class="bot-num">Containment</th><th scope="col" class="bot-num">Fallback</th>
        <th scope="col" class="bot-num">Reviewed</th><th scope="col" class="bot-num">Confirmed</th>
        <th scope="col" class="bot-num">Accuracy</th></tr></thead>
      <tbody>${intents.map((i) => html`<tr key=${i.intent}><th scope="row">${i.intent === "none" ? "(no intent recorded)" : i.intent}</th>
        <td class="bot-num">${i.conversations}</td><td class="bot-num">${rate(i.containment_rate)}</td>
        <td class="bot-num">${rate(i.fallback_rate)}</td><td class="bot-num">${i.reviewed}</td>
        <td class="bot-num">${i.confirmed}</td><td class="bot-num">${rate(i.accuracy)}</td></tr>`)}</tbody>
    </table></div>
  </section>`;
}

function Trainings({ trainings }) {
  return html`<section class="health-block" aria-labelledby="health-trainings-heading">
    <h3 id="health-trainings-heading">Each retrain's effect on the reviewed messages</h3>
    ${trainings.length ? html`<div class="bot-table-wrap" tabindex="0" role="region" aria-label="Retrains (scrolls sideways)"><table class="bot-table" id="health-trainings">
      <caption class="visually-hidden">Retrains from the review inbox, with the accuracy before and after</caption>
      <thead><tr><th scope="col">When</th><th scope="col">By</th><th scope="col">Model</th><th scope="col">Version</th>
        <th scope="col" class="bot-num">Reviewed</th><th scope="col" class="bot-num">Before</th>
        <th scope="col" class="bot-num">After</th></tr></thead>
      <tbody>${trainings.map((t, n) => html`<tr key=${n}><th scope="row">${new Date(t.at).toLocaleString()}</th>
        <td>${t.agent}</td><td><code>${t.fingerprint_before}</code> → <code>${t.fingerprint_after}</code>${t.error ? html` <span class="bot-error">refused: ${t.error}</span>` : null}</td>
        <td>${t.version || "—"}</td><td class="bot-num">${t.reviewed}</td>
        <td class="bot-num">${rate(t.accuracy_before)}</td><td class="bot-num">${rate(t.accuracy_after)}</td></tr>`)}</tbody>
    </table></div>` : html`<p class="bot-muted">No retrain from the review inbox in this range.</p>`}
  </section>`;
}

export function Health() {
  useEffect(() => { load(); }, []);
  const { state, data, error } = health.value;
  const c = chosen.value;
  return html`<div class="health" id="bot-health">
    <form class="review-filters" aria-label="Which brand and days" onSubmit=${(e) => e.preventDefault()}>
      ${brands.value.length > 1 ? html`<label>Brand <select id="health-brand" value=${c.brand || brands.value[0]?.slug}
        onChange=${(e) => choose("brand", e.target.value)}>
        ${brands.value.map((b) => html`<option key=${b.slug} value=${b.slug}>${b.name}</option>`)}</select></label>` : null}
      <label>From <input type="date" id="health-from" value=${c.from} onChange=${(e) => choose("from", e.target.value)} /></label>
      <label>To <input type="date" id="health-to" value=${c.to} onChange=${(e) => choose("to", e.target.value)} /></label>
    </form>
    <p class="bot-muted" role="status">${state === "loading" ? "Loading…" : data ? `${data.brand.name}, ${data.start} to ${data.end}` : ""}</p>
    ${error ? html`<p class="bot-error" role="alert">${error}</p>` : null}
    ${data ? html`
      <${Weeks} weeks=${data.weeks} />
      <${Reasons} reasons=${data.handoff_reasons} />
      <${Intents} intents=${data.intents} />
      <${Trainings} trainings=${data.trainings} />` : null}
  </div>`;
}
