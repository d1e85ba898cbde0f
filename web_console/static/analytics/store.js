// The Analytics area's store: the brands whose reports the agent reads, the choices (brand,
// days, bucket, filter, breakdown), the tables read for them (every report is a table:
// {columns, units, rows}, server/http/analytics_tables.py), the "now" figures kept fresh from
// the console socket's events, and the conversations behind a bar. Components read these
// signals and call the functions below; nothing here touches the DOM.
import { api } from "../panel/api.js";
import { batch, signal } from "../panel/ui.js";

export const BREAKDOWNS = ["team", "agent", "channel", "intent", "language", "band"];
const REPORTERS = ["supervisor", "analyst"];

export const brands = signal([]); // [{id, slug, name, teams, agents}]
export const choice = signal({
  brand: "",
  from: "",
  to: "",
  bucket: "day",
  filter: "", // "channel:email", or "" for every conversation
  by: "team",
  split: "channel", // the volume chart's split: a breakdown
  tz: "UTC",
});
// Each report: {state: "idle" | "loading" | "ready" | "error", table, error}
const EMPTY = { state: "idle", table: null, error: "" };
export const summary = signal(EMPTY);
export const series = signal(EMPTY);
export const volume = signal(EMPTY); // conversations per bucket and key of choice.split
export const breakdown = signal(EMPTY);
export const bands = signal(EMPTY);
export const agents = signal(EMPTY);
export const agentTime = signal(EMPTY);
export const agentLoad = signal(EMPTY);
export const heatMap = signal(EMPTY);
export const reasons = signal(EMPTY);
export const ratings = signal(EMPTY);
export const comments = signal(EMPTY); // the newest CSAT comments (COMMENTS), with total
export const now = signal(EMPTY);
export const atRisk = signal(EMPTY); // the conversations "now" counts as at risk
// The filter's values for the chosen breakdown kind: [{key, label}]
export const filterValues = signal([]);
// The conversations behind a bar or a row: {title, params, state, table, total, offset}
export const drill = signal(null);
export const PAGE = 25;
export const COMMENTS = 25;

let shown = false;

export function mayUse(agent) {
  return Boolean(agent && (agent.admin
    || Object.values(agent.roles || {}).some((held) => held.some((r) => REPORTERS.includes(r)))));
}

function isoDay(date) {
  return date.toISOString().slice(0, 10);
}

export function start() {
  const today = new Date();
  const weekAgo = new Date(today.getTime() - 6 * 86400000);
  let tz = "UTC";
  try { tz = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC"; } catch (_) { /* UTC */ }
  choice.value = { ...choice.value, from: isoDay(weekAgo), to: isoDay(today), tz };
}

export function base() {
  return `/console/api/analytics/brands/${encodeURIComponent(choice.value.brand)}`;
}

// The query string of the current choices (and ``more``), for a report or its CSV.
export function query(more = {}) {
  const c = choice.value;
  const params = new URLSearchParams({ from: c.from, to: c.to, tz: c.tz });
  if (c.filter) params.set("filter", c.filter);
  for (const [k, v] of Object.entries(more)) params.set(k, String(v));
  return params.toString();
}

export function csvHref(path, more = {}) {
  return `${base()}/${path}?${query({ ...more, format: "csv" })}`;
}

// Each report's (and the drill-down's) latest read: an answer to an older one is dropped.
// Counted per report, not for the whole area: a new breakdown read while the area's first
// reads were on their way dropped them all, and those reports said "Loading…" until the
// next change of range.
const reading = new Map();

function nextRead(target) {
  const mine = (reading.get(target) || 0) + 1;
  reading.set(target, mine);
  return mine;
}

async function read(target, path, more = {}) {
  const mine = nextRead(target);
  target.value = { ...target.value, state: "loading", error: "" };
  try {
    const table = await api("GET", `${base()}/${path}?${query(more)}`);
    if (reading.get(target) === mine) target.value = { state: "ready", table, error: "" };
  } catch (error) {
    if (reading.get(target) === mine) target.value = { state: "error", table: null, error: error.message };
  }
}

// Shown: read the brands once, then every report.
export async function enter() {
  shown = true;
  if (!clockTimer) clockTimer = setInterval(() => { if (shown) readNow(); }, CLOCK);
  if (!brands.value.length) {
    try {
      const found = await api("GET", "/console/api/analytics/brands");
      batch(() => {
        brands.value = found.brands;
        if (!choice.value.brand && found.brands.length) {
          choice.value = { ...choice.value, brand: found.brands[0].slug };
        }
      });
    } catch (error) {
      summary.value = { state: "error", table: null, error: error.message };
      return;
    }
  }
  load();
}

export function leave() {
  shown = false;
  if (clockTimer) { clearInterval(clockTimer); clockTimer = null; }
}

// The server draws hourly buckets for ranges of at most this many days (MAX_HOURLY_DAYS
// in server/http/analytics_query.py) and refuses longer ones.
export const MAX_HOURLY_DAYS = 31;

export function rangeDays(c) {
  return Math.round((Date.parse(c.to) - Date.parse(c.from)) / 86400000) + 1;
}

export function choose(changes) {
  const next = { ...choice.value, ...changes };
  if (changes.brand !== undefined && changes.brand !== choice.value.brand) next.filter = "";
  // A range widened past a month while per hour: per day, rather than every chart refused.
  if (next.bucket === "hour" && rangeDays(next) > MAX_HOURLY_DAYS) next.bucket = "day";
  choice.value = next;
  if (changes.by !== undefined && Object.keys(changes).length === 1) {
    read(breakdown, "breakdown", { by: next.by });
    return;
  }
  if (changes.split !== undefined && Object.keys(changes).length === 1) {
    read(volume, "volume", { bucket: next.bucket, by: next.split });
    return;
  }
  load();
}

export function load() {
  if (!choice.value.brand) return;
  nextRead(drill); // a drill-down on its way belongs to the old range
  drill.value = null;
  const c = choice.value;
  read(summary, "summary");
  read(series, "series", { bucket: c.bucket });
  read(volume, "volume", { bucket: c.bucket, by: c.split });
  read(breakdown, "breakdown", { by: c.by });
  read(bands, "breakdown", { by: "band" });
  read(agents, "breakdown", { by: "agent" });
  read(agentTime, "agent-time");
  // The load applies an agent filter only (the server refuses the others).
  read(agentLoad, "agent-load", { bucket: c.bucket, filter: c.filter.startsWith("agent:") ? c.filter : "" });
  read(heatMap, "heat-map");
  read(reasons, "handoff-reasons");
  read(ratings, "csat");
  read(comments, "csat-comments", { limit: COMMENTS });
  readNow();
  readFilterValues();
}

async function readFilterValues() {
  const kind = choice.value.filter.split(":")[0];
  if (!kind) { filterValues.value = []; return; }
  try {
    const c = choice.value;
    const params = new URLSearchParams({ from: c.from, to: c.to, tz: c.tz, by: kind });
    const table = await api("GET", `${base()}/breakdown?${params}`);
    filterValues.value = table.rows.map((r) => ({ key: r[0], label: r[1] }));
  } catch (_) {
    filterValues.value = [];
  }
}

// Picking a filter kind lists its values (from the breakdown of the unfiltered range).
export async function filterKind(kind) {
  if (!kind) { choose({ filter: "" }); return; }
  const c = choice.value;
  const params = new URLSearchParams({ from: c.from, to: c.to, tz: c.tz, by: kind });
  try {
    const table = await api("GET", `${base()}/breakdown?${params}`);
    filterValues.value = table.rows.map((r) => ({ key: r[0], label: r[1] }));
  } catch (_) {
    filterValues.value = [];
  }
  if (filterValues.value.length) choose({ filter: `${kind}:${filterValues.value[0].key}` });
}

export async function readNow() {
  if (!choice.value.brand) return;
  const path = base();
  try {
    const [table, risky] = await Promise.all([
      api("GET", `${path}/now`), api("GET", `${path}/at-risk?limit=${AT_RISK_SHOWN}`)]);
    now.value = { state: "ready", table, error: "" };
    atRisk.value = { state: "ready", table: risky, error: "" };
  } catch (error) {
    now.value = { state: "error", table: null, error: error.message };
    atRisk.value = { state: "error", table: null, error: error.message };
  }
}
export const AT_RISK_SHOWN = 25;

// The socket's events that move a queue or an agent: the "now" figures are read again, at
// most once a second, while the area is shown. Time moves them too with no event (a wait
// grows, a deadline comes within 5 minutes): read again every CLOCK ms while shown.
const LIVE = ["queue.changed", "agent.updated", "conversation.created", "conversation.updated",
  "sla.breached"];
const CLOCK = 30000;
let liveTimer = null;
let clockTimer = null;
export function onEvent(frame) {
  if (!shown || !frame || LIVE.indexOf(frame.name) < 0 || liveTimer) return;
  liveTimer = setTimeout(() => { liveTimer = null; readNow(); }, 1000);
}

// The conversations behind a bar (``more``: bucket and at) or a breakdown's row (``row``:
// its key, applied within the report's filter, as the row was counted).
export async function openDrill(title, more, offset = 0) {
  const mine = nextRead(drill);
  drill.value = { title, more, state: "loading", table: null, total: 0, offset, error: "" };
  try {
    const table = await api(
      "GET", `${base()}/conversations?${query({ ...more, limit: PAGE, offset })}`);
    if (reading.get(drill) === mine) {
      drill.value = { title, more, state: "ready", table, total: table.total, offset, error: "" };
    }
  } catch (error) {
    if (reading.get(drill) === mine) {
      drill.value = { title, more, state: "error", table: null, total: 0, offset, error: error.message };
    }
  }
}

export function closeDrill() {
  nextRead(drill);
  drill.value = null;
}
