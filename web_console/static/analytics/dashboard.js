// The Analytics area: the pickers (brand, days, bucket, filter), the "now" figures, the
// headline figures, then volume, speed, bot, quality, SLA, agents and a breakdown, each a
// chart with its table under it (and a CSV of it), and the conversations behind a bar.
// Definitions: docs/metrics.md, served at DEFINITIONS.
import { reasonText } from "../panel/format.js";
import { html, useEffect, useRef } from "../panel/ui.js";
import { Chart } from "./chart.js";
import { bucketLabel, cell, columnName, duration, figureMap, rate, rating, shortDuration } from "./format.js";
import { Scroller } from "./scroller.js";
import * as store from "./store.js";
import { ReportTable } from "./table.js";

export const DEFINITIONS = "/console/api/analytics/definitions";
const DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

function Definition({ anchor, children }) {
  return html`<a class="definition" href=${`${DEFINITIONS}#${anchor}`} target="_blank" rel="noopener">${children || "How it is counted"}<span class="visually-hidden"> (opens the definitions)</span></a>`;
}

function Pickers() {
  const c = store.choice.value;
  const brands = store.brands.value;
  const [kind, key] = c.filter ? [c.filter.split(":")[0], c.filter.slice(c.filter.indexOf(":") + 1)] : ["", ""];
  return html`
    <form class="analytics-pickers" onSubmit=${(e) => e.preventDefault()} aria-label="Report choices">
      ${brands.length > 1 && html`
        <label>Brand
          <select id="analytics-brand" value=${c.brand} onChange=${(e) => store.choose({ brand: e.target.value })}>
            ${brands.map((b) => html`<option value=${b.slug}>${b.name}</option>`)}
          </select>
        </label>`}
      <label>From <input id="analytics-from" type="date" value=${c.from} max=${c.to}
        onChange=${(e) => e.target.value && store.choose({ from: e.target.value })} /></label>
      <label>To <input id="analytics-to" type="date" value=${c.to} min=${c.from}
        onChange=${(e) => e.target.value && store.choose({ to: e.target.value })} /></label>
      <label>Per
        <select id="analytics-bucket" value=${c.bucket} onChange=${(e) => store.choose({ bucket: e.target.value })}>
          <option value="hour" disabled=${store.rangeDays(c) > store.MAX_HOURLY_DAYS}>hour</option><option value="day">day</option><option value="week">week</option>
        </select>
      </label>
      <label>Only
        <select id="analytics-filter-kind" value=${kind} onChange=${(e) => store.filterKind(e.target.value)}>
          <option value="">every conversation</option>
          ${store.BREAKDOWNS.map((b) => html`<option value=${b}>one ${b === "band" ? "priority band" : b}</option>`)}
        </select>
      </label>
      ${kind && html`
        <label>${kind === "band" ? "Priority band" : kind[0].toUpperCase() + kind.slice(1)}
          <select id="analytics-filter-value" value=${key} onChange=${(e) => store.choose({ filter: `${kind}:${e.target.value}` })}>
            ${store.filterValues.value.map((v) => html`<option value=${v.key}>${v.label}</option>`)}
          </select>
        </label>`}
      <span class="analytics-tz">Times in ${c.tz}</span>
      <a class="definition" href=${DEFINITIONS} target="_blank" rel="noopener">Definitions<span class="visually-hidden"> of every figure (opens a new tab)</span></a>
    </form>`;
}

function Tile({ label, value, anchor }) {
  return html`<div class="analytics-tile"><dt>${label}</dt><dd>${value}
    ${anchor && html` <${Definition} anchor=${anchor}>?<//>`}</dd></div>`;
}

function Now() {
  const report = store.now.value;
  const t = report.table;
  const waiting = t ? t.rows.reduce((n, r) => n + r[1], 0) + t.unrouted : null;
  // The conversations waiting with no team wait too: in the count and the longest wait.
  const longest = t ? Math.max(t.unrouted_wait_seconds || 0, ...t.rows.map((r) => r[3] || 0)) : null;
  return html`
    <section class="analytics-section" aria-labelledby="analytics-now-title">
      <h3 id="analytics-now-title">Now <span class="live">live</span> <${Definition} anchor="now" /></h3>
      <dl class="analytics-tiles" aria-live="polite">
        <${Tile} label="Waiting" value=${waiting === null ? "…" : waiting} />
        <${Tile} label="Longest wait" value=${longest === null ? "…" : duration(longest)} />
        <${Tile} label="Agents online" value=${t ? t.agents_online : "…"} />
        <${Tile} label="Away" value=${t ? t.agents_away : "…"} />
        <${Tile} label="At risk (SLA)" value=${t ? t.at_risk : "…"} />
      </dl>
      <${ReportTable} caption="Queues per team" report=${report} csv=${store.csvHref("now")} />
      ${t && t.unrouted > 0 && html`<p class="analytics-note">Waiting with no team yet: ${t.unrouted},
        the longest for ${duration(t.unrouted_wait_seconds || 0)}.</p>`}
      <${AtRisk} />
    </section>`;
}

// The conversations the "At risk" tile counts, the most overdue first; each opens.
function AtRisk() {
  const report = overdueWords(store.atRisk.value);
  const count = store.now.value.table ? store.now.value.table.at_risk : 0;
  const caption = count > store.AT_RISK_SHOWN
    ? `At risk now: the ${store.AT_RISK_SHOWN} most overdue of ${count}` : "At risk now";
  return html`
    <${ReportTable} caption=${caption} report=${report} empty="No conversation is at risk."
      columns=${["first_response_due", "overdue_seconds", "contact", "team", "agent", "channel", "band"]}
      headers=${{ first_response_due: "First response due", overdue_seconds: "Deadline" }}
      csv=${`${store.base()}/at-risk?format=csv`} action="Open the conversation"
      rowLabel=${(row) => cell(row[1], "time")}
      onRow=${(row) => document.dispatchEvent(new CustomEvent("console:show", { detail: row[0] }))} />`;
}

// The at-risk table's overdue seconds as words: "2 min 0 s overdue", "due in 3 min 0 s".
function overdueWords(report) {
  const t = report.table;
  if (!t) return report;
  const at = t.columns.indexOf("overdue_seconds");
  const words = (v) => (v >= 0 ? `${duration(v)} overdue` : `due in ${duration(-v)}`);
  return { ...report, table: { ...t,
    units: t.units.map((u, i) => (i === at ? "text" : u)),
    rows: t.rows.map((r) => r.map((v, i) => (i === at ? words(v) : v))) } };
}

function Headline() {
  const f = figureMap(store.summary.value.table);
  const v = (name) => (f[name] ? cell(f[name].value, f[name].unit) : "…");
  return html`
    <dl class="analytics-tiles headline">
      <${Tile} label="Conversations" value=${v("conversations")} />
      <${Tile} label="First response (human), median" value=${v("frt_human_p50")} anchor="speed" />
      <${Tile} label="First reply (any), median" value=${v("frt_any_p50")} anchor="speed" />
      <${Tile} label="Resolution, median" value=${v("resolution_p50")} anchor="speed" />
      <${Tile} label="Contained by the bot" value=${v("containment_rate")} anchor="bot" />
      <${Tile} label="Handoff rate" value=${v("handoff_rate")} anchor="bot" />
      <${Tile} label="CSAT" value=${v("csat_average")} anchor="quality" />
      <${Tile} label="First response SLA met" value=${v("frt_attainment")} anchor="sla" />
      <${Tile} label="Reopen rate" value=${v("reopen_rate")} anchor="a-reopened-conversation" />
    </dl>`;
}

// The series' columns as uPlot data: x the buckets' indexes, then each column.
function seriesData(table, columns) {
  if (!table || !table.rows.length) return null;
  const xs = table.rows.map((_r, i) => i);
  return [xs, ...columns.map((c) => table.rows.map((r) => r[table.columns.indexOf(c)]))];
}

function SeriesSection({ id, title, anchor, columns, bars, format, axisFormat, tableColumns, drill, lead }) {
  const report = store.series.value;
  const c = store.choice.value;
  const table = report.table;
  const data = seriesData(table, columns);
  // A volume bar lists the conversations started in it; a breaches bar (drill "breached"),
  // those breached in it.
  const pick = drill && table ? (i) => {
    const at = table.rows[i][0];
    const breached = drill === "breached";
    store.openDrill(`${breached ? "breached" : "started"} ${bucketLabel(at, c.bucket)}`,
      breached ? { bucket: c.bucket, at, breached: 1 } : { bucket: c.bucket, at });
  } : null;
  return html`
    <section class="analytics-section" id=${id} aria-labelledby=${`${id}-title`}>
      <h3 id=${`${id}-title`}>${title} <${Definition} anchor=${anchor} /></h3>
      ${lead}
      <figure>
        <${Chart} data=${data} bars=${bars} format=${format} axisFormat=${axisFormat} counts=${!format} xName="Period"
          xLabels=${table ? table.rows.map((r) => bucketLabel(r[0], c.bucket)) : null}
          series=${columns.map((col) => ({ label: columnName(col) }))} onPick=${pick} />
        <figcaption class="visually-hidden">${title} per ${c.bucket}; the table below holds the same figures.</figcaption>
        ${!data && report.state === "ready" && html`<p class="analytics-note">Nothing in this range.</p>`}
      </figure>
      <${ReportTable} caption=${`${title} per ${c.bucket}`} report=${report}
        columns=${["at", ...tableColumns]} csv=${store.csvHref("series", { bucket: c.bucket })}
        rowLabel=${(row) => bucketLabel(row[0], c.bucket)}
        onRow=${drill ? (_row, i) => pick(i) : null} />
    </section>`;
}

// The volume table's rows (at, key, label, conversations) as one line per key over the
// buckets, in the server's order (most conversations first, the rest last).
export function volumeData(table) {
  if (!table || !table.rows.length) return null;
  const ats = [...new Set(table.rows.map((r) => r[0]))].sort();
  const keys = [];
  const names = new Map();
  for (const [, key, label] of table.rows) if (!names.has(key)) { keys.push(key); names.set(key, label); }
  const at = new Map(ats.map((a, i) => [a, i]));
  const lines = keys.map((key) => {
    const line = ats.map(() => 0);
    for (const r of table.rows) if (r[1] === key) line[at.get(r[0])] = r[3];
    return line;
  });
  return { ats, names: keys.map((k) => names.get(k)), data: [ats.map((_a, i) => i), ...lines] };
}

const OTHER = "(other)";

// Conversations over time per channel (intent, team, …): a line per key; a bar of it, or a
// row of its table, opens the conversations started in that bucket (a row: with that key).
// A bucket has a row per key, so each row's button names its key too: a screen reader's
// list of buttons would otherwise read the same day four times.
function VolumeSplit() {
  const report = store.volume.value;
  const c = store.choice.value;
  const drawn = volumeData(report.table);
  const word = (b) => (b === "band" ? "priority band" : b);
  const open = (at, key, label) => store.openDrill(
    `started ${bucketLabel(at, c.bucket)}${key && key !== OTHER ? `, ${word(c.split)} ${label}` : ""}`,
    key && key !== OTHER ? { bucket: c.bucket, at, row: `${c.split}:${key}` } : { bucket: c.bucket, at });
  return html`
    <section class="analytics-section" id="analytics-volume-split" aria-labelledby="analytics-volume-split-title">
    <h3 id="analytics-volume-split-title">Volume per ${word(c.split)} <${Definition} anchor="breakdowns" /></h3>
    <label class="analytics-by">Split by
      <select id="analytics-split" value=${c.split} onChange=${(e) => store.choose({ split: e.target.value })}>
        ${store.BREAKDOWNS.map((b) => html`<option value=${b}>${word(b)}</option>`)}
      </select>
    </label>
    <figure>
      <${Chart} data=${drawn && drawn.data} counts=${true} xName="Period"
        xLabels=${drawn ? drawn.ats.map((at) => bucketLabel(at, c.bucket)) : null}
        series=${drawn ? drawn.names.map((label) => ({ label })) : []}
        onPick=${drawn ? (i) => open(drawn.ats[i]) : null} />
      <figcaption class="visually-hidden">Conversations per ${word(c.split)} per ${c.bucket}; the table below holds the same figures.</figcaption>
      ${!drawn && report.state === "ready" && html`<p class="analytics-note">Nothing in this range.</p>`}
    </figure>
    <${ReportTable} caption=${`Conversations per ${word(c.split)} per ${c.bucket}`} report=${report}
      columns=${["at", "label", "conversations"]} headers=${{ label: columnName(c.split) }}
      csv=${store.csvHref("volume", { bucket: c.bucket, by: c.split })}
      rowLabel=${(row) => html`${bucketLabel(row[0], c.bucket)}<span class="visually-hidden">, ${row[2]}</span>`}
      onRow=${(row) => open(row[0], row[1], row[2])} />
    </section>`;
}

function Ratings() {
  const report = store.ratings.value;
  const t = report.table;
  const data = t && t.rows.some((r) => r[1]) ? [t.rows.map((r) => Number(r[0])), t.rows.map((r) => r[1])] : null;
  const f = figureMap(store.summary.value.table);
  // A bar (or row) lists the range's conversations rated that.
  const pick = (value) => store.openDrill(`rated ${value}`, { rating: value });
  return html`
    <section class="analytics-section" id="analytics-quality" aria-labelledby="analytics-quality-title">
      <h3 id="analytics-quality-title">Quality: CSAT <${Definition} anchor="quality" /></h3>
      <p class="analytics-line">
        Average <span class="analytics-figure">${f.csat_average ? rating(f.csat_average.value) : "…"}</span> ·
        response rate <span class="analytics-figure">${f.csat_response_rate ? rate(f.csat_response_rate.value) : "…"}</span>${" · "}
        ${f.csat_comments ? plural(f.csat_comments.value, "comment") : "… comments"} ·
        reopen rate <span class="analytics-figure">${f.reopen_rate ? rate(f.reopen_rate.value) : "…"}</span>
      </p>
      <figure>
        <${Chart} data=${data} bars=${true} counts=${true} series=${[{ label: "Ratings" }]} xName="Rating" height=${180}
          xLabels=${["", "1", "2", "3", "4", "5"]} onPick=${data ? (i) => pick(t.rows[i][0]) : null} />
        <figcaption class="visually-hidden">Ratings from 1 to 5; the table below holds the counts.</figcaption>
      </figure>
      <${ReportTable} caption="CSAT ratings" report=${report} csv=${store.csvHref("csat")}
        onRow=${(row) => pick(row[0])} />
      <${Comments} />
    </section>`;
}

// The customers' comments with their ratings, newest first: the first COMMENTS here, every
// one in the CSV; each opens its conversation.
function Comments() {
  const report = store.comments.value;
  const total = report.table ? report.table.total : 0;
  const caption = total > store.COMMENTS
    ? `CSAT comments: the newest ${store.COMMENTS} of ${total}` : "CSAT comments";
  return html`
    <${ReportTable} caption=${caption} report=${report} kind="comments"
      columns=${["answered_at", "rating", "comment", "agent", "intent", "channel"]}
      headers=${{ answered_at: "Answered" }}
      csv=${store.csvHref("csat-comments")} action="Open the conversation"
      rowLabel=${(row) => cell(row[1], "time")}
      onRow=${(row) => document.dispatchEvent(new CustomEvent("console:show", { detail: row[0] }))} />`;
}

function plural(n, word) {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

// The bot's figures over the whole range, beside its chart per bucket.
function BotTotals() {
  const f = figureMap(store.summary.value.table);
  // Each figure whole on its line: a phone's width broke "60.0 %" between number and sign.
  const v = (name) => html`<span class="analytics-figure">${f[name] ? rate(f[name].value) : "…"}</span>`;
  return html`
    <p class="analytics-line">
      Over the range: contained ${v("containment_rate")} · handed off ${v("handoff_rate")} ·
      fell back ${v("fallback_rate")} · answered from the knowledge base ${v("kb_answer_rate")}${" · "}
      articles helpful ${v("kb_helpful_rate")}
    </p>`;
}

// "none": an agent took the conversation with no handoff recorded (docs/metrics.md).
const reasonWords = (reason) => (reason === "none" ? "no reason recorded" : reasonText(reason));

// Each reason's row opens the conversations handed off for it (its button: Enter or Space).
function Reasons() {
  return html`
    <${ReportTable} caption="Handoffs by reason" report=${store.reasons.value}
      csv=${store.csvHref("handoff-reasons")} rowLabel=${(row) => reasonWords(row[0])}
      headers=${{ rate: "Of conversations", share: "Of handoffs" }}
      onRow=${(row) => store.openDrill(`handed off: ${reasonWords(row[0])}`, { handoff_reason: row[0] })} />`;
}

function Bands() {
  return html`
    <section class="analytics-section" id="analytics-sla" aria-labelledby="analytics-sla-title">
      <h3 id="analytics-sla-title">SLA per priority band <${Definition} anchor="sla" /></h3>
      <${ReportTable} caption="SLA attainment per band" report=${store.bands.value}
        columns=${["label", "conversations", "with_sla", "frt_attainment", "resolution_attainment", "frt_human_p50"]}
        headers=${{ label: "Band" }}
        csv=${store.csvHref("breakdown", { by: "band" })}
        onRow=${(row) => store.openDrill(`Band ${row[0]}`, { row: `band:${row[0]}` })} rowLabel=${(row) => row[1]} />
    </section>`;
}

// The load table's rows (at, agent_id, agent, average, peak) as one line per agent over the
// buckets; the five busiest agents are drawn (the table holds them all).
export function loadData(table) {
  if (!table || !table.rows.length) return null;
  const ats = [...new Set(table.rows.map((r) => r[0]))].sort();
  const totals = new Map();
  for (const [, id, name, average] of table.rows) {
    const t = totals.get(id) || { name, sum: 0 };
    t.sum += average;
    totals.set(id, t);
  }
  const busiest = [...totals.entries()].sort((a, b) => b[1].sum - a[1].sum).slice(0, 5);
  const at = new Map(ats.map((a, i) => [a, i]));
  const lines = busiest.map(([id]) => {
    const line = ats.map(() => 0);
    for (const r of table.rows) if (r[1] === id) line[at.get(r[0])] = r[3];
    return line;
  });
  return { ats, names: busiest.map(([, t]) => t.name), data: [ats.map((_a, i) => i), ...lines] };
}

function AgentLoad() {
  const report = store.agentLoad.value;
  const c = store.choice.value;
  const drawn = loadData(report.table);
  return html`
    <figure>
      <${Chart} data=${drawn && drawn.data} format=${(v) => v.toFixed(2)} xName="Period"
        xLabels=${drawn ? drawn.ats.map((at) => bucketLabel(at, c.bucket)) : null}
        series=${drawn ? drawn.names.map((label) => ({ label })) : []} />
      <figcaption class="visually-hidden">Conversations held per agent per ${c.bucket}; the table below holds the same figures.</figcaption>
      ${!drawn && report.state === "ready" && html`<p class="analytics-note">No conversation was held in this range.</p>`}
    </figure>
    <${ReportTable} caption=${`Load per ${c.bucket}: conversations held`} report=${report}
      columns=${["at", "agent", "average_held", "peak_held"]}
      csv=${store.csvHref("agent-load", { bucket: c.bucket, filter: c.filter.startsWith("agent:") ? c.filter : "" })}
      rowLabel=${(row) => bucketLabel(row[0], c.bucket)} />`;
}

// The time online and away: most time online first; among equal times (every agent not
// online in the range), names as a person reads them: "Agent 9" before "Agent 10", "émile"
// beside "Emma", whatever the case. The server's table (and its CSV) comes in this order
// (name_order in server/http/analytics_tables.py); sorting here again keeps the page right
// whatever order an answer brings.
const NAMES = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });

export function byTimeOnline(report) {
  const t = report.table;
  if (!t) return report;
  const name = t.columns.indexOf("agent");
  const online = t.columns.indexOf("online_seconds");
  const rows = [...t.rows].sort((a, b) => (b[online] - a[online]) || NAMES.compare(a[name], b[name]));
  return { ...report, table: { ...t, rows } };
}

function Agents() {
  return html`
    <section class="analytics-section" id="analytics-agents" aria-labelledby="analytics-agents-title">
      <h3 id="analytics-agents-title">Agents <${Definition} anchor="agents" /></h3>
      <${ReportTable} caption="Per agent" report=${store.agents.value}
        columns=${["label", "conversations", "frt_human_p50", "resolution_p50", "handle_p50", "csat_average", "csat_answered", "reopen_rate"]}
        headers=${{ label: "Agent" }}
        csv=${store.csvHref("breakdown", { by: "agent" })}
        onRow=${(row) => store.openDrill(`Agent ${row[1]}`, { row: `agent:${row[0]}` })} rowLabel=${(row) => row[1]} />
      <${ReportTable} caption="Time online and away" report=${byTimeOnline(store.agentTime.value)}
        csv=${store.csvHref("agent-time")} />
      <h4 id="analytics-load-title">Load over time <${Definition} anchor="load" /></h4>
      <${AgentLoad} />
    </section>`;
}

function Breakdown() {
  const c = store.choice.value;
  return html`
    <section class="analytics-section" id="analytics-breakdown" aria-labelledby="analytics-breakdown-title">
      <h3 id="analytics-breakdown-title">Breakdown <${Definition} anchor="breakdowns" /></h3>
      <label class="analytics-by">Break down by
        <select id="analytics-by" value=${c.by} onChange=${(e) => store.choose({ by: e.target.value })}>
          ${store.BREAKDOWNS.map((b) => html`<option value=${b}>${b === "band" ? "priority band" : b}</option>`)}
        </select>
      </label>
      <${ReportTable} caption=${`Per ${c.by === "band" ? "priority band" : c.by}`} report=${store.breakdown.value}
        headers=${{ label: c.by === "band" ? "Band" : columnName(c.by) }}
        columns=${["label", "conversations", "frt_human_p50", "frt_any_p50", "resolution_p50", "containment_rate", "handoff_rate", "csat_average", "frt_attainment"]}
        csv=${store.csvHref("breakdown", { by: c.by })}
        onRow=${(row) => store.openDrill(`${columnName(c.by)} ${row[1]}`, { row: `${c.by}:${row[0]}` })}
        rowLabel=${(row) => row[1]} />
    </section>`;
}

function HeatMap() {
  const report = store.heatMap.value;
  const t = report.table;
  const counts = {};
  let top = 0;
  if (t) for (const [w, h, n] of t.rows) { counts[`${w}-${h}`] = n; top = Math.max(top, n); }
  const level = (n) => (n ? Math.min(5, Math.ceil((n / top) * 5)) : 0);
  const hours = Array.from({ length: 24 }, (_, h) => h);
  return html`
    <section class="analytics-section" id="analytics-heat" aria-labelledby="analytics-heat-title">
      <h3 id="analytics-heat-title">Conversations by weekday and hour <${Definition} anchor="which-conversations-a-report-holds" /></h3>
      <${Scroller} kind="heat" label="Conversations by weekday and hour">
        <table>
          <caption>Conversations started, by weekday and hour (${store.choice.value.tz})
            <a class="csv" href=${store.csvHref("heat-map")} download>Download CSV<span class="visually-hidden"> of the heat map</span></a></caption>
          <thead><tr><th scope="col"><span class="visually-hidden">Day</span></th>${hours.map((h) => html`<th scope="col">${h}</th>`)}</tr></thead>
          <tbody>${DAYS.map((d, i) => html`<tr><th scope="row">${d}</th>
            ${hours.map((h) => { const n = counts[`${i + 1}-${h}`] || 0; return html`<td class=${`heat-${level(n)}`}>${n || ""}<span class="visually-hidden">${n ? "" : "0"}</span></td>`; })}</tr>`)}
          </tbody>
        </table>
      <//>
    </section>`;
}

function Drill() {
  const d = store.drill.value;
  const heading = useRef(null);
  useEffect(() => { if (d && heading.current && d.state === "loading") heading.current.focus(); }, [d && d.title, d && d.offset]);
  if (!d) return null;
  const t = d.table;
  const last = Math.min(d.offset + store.PAGE, d.total);
  return html`
    <section class="analytics-drill" id="analytics-drill" aria-labelledby="analytics-drill-title">
      <h3 id="analytics-drill-title" tabIndex="-1" ref=${heading}>Conversations: ${d.title}</h3>
      <p role="status">${d.state === "loading" ? "Loading…" : d.state === "error" ? d.error : `${d.total ? d.offset + 1 : 0} to ${last} of ${d.total}`}</p>
      ${t && html`<ul class="analytics-conversations">
        ${t.rows.map((r) => html`<li key=${r[0]}>
          <button type="button" class="link" data-id=${r[0]}
            onClick=${() => document.dispatchEvent(new CustomEvent("console:show", { detail: r[0] }))}>
            ${r[5] || "Customer"} · ${r[4] || r[2]}</button>
          <span class="meta">${cell(r[1], "time")} · ${r[2]} · ${r[3]}${r[6] ? ` · ${r[6]}` : ""}${r[7] ? ` · ${r[7]}` : ""}</span>
        </li>`)}
      </ul>`}
      <div class="analytics-pages">
        <button type="button" disabled=${d.offset === 0} onClick=${() => store.openDrill(d.title, d.more, Math.max(0, d.offset - store.PAGE))}>Previous</button>
        <button type="button" disabled=${last >= d.total} onClick=${() => store.openDrill(d.title, d.more, d.offset + store.PAGE)}>Next</button>
        <a class="csv" href=${store.csvHref("conversations", d.more)} download>Download CSV<span class="visually-hidden"> of all ${d.total} conversations</span></a>
        <button type="button" onClick=${store.closeDrill}>Close</button>
      </div>
    </section>`;
}

export function Dashboard() {
  if (!store.brands.value.length) {
    const s = store.summary.value;
    return html`<h2>Analytics</h2>${s.state === "error" ? html`<p class="analytics-error" role="alert">${s.error}</p>` : html`<p role="status">Loading…</p>`}`;
  }
  const SPEED = ["frt_human_p50", "frt_human_p90", "frt_any_p50", "frt_any_p90", "resolution_p50", "resolution_p90", "handle_p50", "handle_p90", "wait_p50", "wait_p90"];
  return html`
    <h2>Analytics</h2>
    <${Pickers} />
    <${Drill} />
    <${Now} />
    <${Headline} />
    <${SeriesSection} id="analytics-volume" title="Volume" anchor="which-conversations-a-report-holds"
      columns=${["conversations"]} bars=${true} tableColumns=${["conversations", "messages"]} drill=${true} />
    <${VolumeSplit} />
    <${SeriesSection} id="analytics-speed" title="Speed" anchor="speed"
      columns=${["frt_human_p50", "frt_any_p50", "resolution_p50"]} format=${duration} axisFormat=${shortDuration} tableColumns=${SPEED} />
    <${SeriesSection} id="analytics-bot" title="Bot" anchor="bot" lead=${html`<${BotTotals} />`}
      columns=${["containment_rate", "handoff_rate"]} format=${rate}
      tableColumns=${["containment_rate", "handoff_rate", "fallback_rate", "kb_answer_rate", "kb_helpful_rate"]} />
    <section class="analytics-section"><${Reasons} /></section>
    <${Ratings} />
    <${SeriesSection} id="analytics-breaches" title="SLA breaches" anchor="sla" drill="breached"
      columns=${["breaches"]} bars=${true} tableColumns=${["breaches", "frt_attainment", "resolution_attainment"]} />
    <${Bands} />
    <${Agents} />
    <${Breakdown} />
    <${HeatMap} />`;
}
