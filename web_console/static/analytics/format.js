// How the reports' numbers read: a duration in seconds as "4 min 10 s", a rate as "62.5 %",
// a rating as "4.2 / 5", a bucket's start as a day or an hour; null as "—" (nothing counted).
export const NOTHING = "—";

export function duration(seconds) {
  if (seconds === null || seconds === undefined) return NOTHING;
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

// A duration on a chart's axis: short, one unit.
export function shortDuration(seconds) {
  if (seconds === null || seconds === undefined) return "";
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  if (seconds < 86400 * 2) return `${(seconds / 3600).toFixed(1).replace(/\.0$/, "")} h`;
  return `${(seconds / 86400).toFixed(1).replace(/\.0$/, "")} d`;
}

export function rate(value) {
  if (value === null || value === undefined) return NOTHING;
  return `${(value * 100).toFixed(1)} %`;
}

export function rating(value) {
  return value === null || value === undefined ? NOTHING : `${value.toFixed(2)} / 5`;
}

// A bucket's start ("2026-03-02T09:00:00", the report's time zone) for a label.
export function bucketLabel(at, bucket) {
  const [day, time] = at.split("T");
  if (bucket === "hour") return `${day} ${time.slice(0, 5)}`;
  return bucket === "week" ? `week of ${day}` : day;
}

export function time(iso) {
  if (!iso) return NOTHING;
  const d = new Date(iso);
  return d.toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
}

const WORDS = {
  conversations: "Conversations", messages: "Messages", breaches: "SLA breaches",
  frt_human_p50: "First response (human), median", frt_human_p90: "First response (human), p90",
  frt_any_p50: "First reply (any), median", frt_any_p90: "First reply (any), p90",
  resolution_p50: "Resolution, median", resolution_p90: "Resolution, p90",
  handle_p50: "Handle time, median", handle_p90: "Handle time, p90",
  wait_p50: "Wait in queue, median", wait_p90: "Wait in queue, p90",
  contained: "Contained", containment_rate: "Containment rate", handed: "Handed off",
  handoff_rate: "Handoff rate", fallback_rate: "Fallback rate", kb_answer_rate: "KB answer rate",
  kb_helpful_rate: "KB helpful rate", resolved: "Resolved", reopened: "Reopened",
  reopen_rate: "Reopen rate", csat_average: "CSAT average", csat_answered: "CSAT ratings",
  csat_response_rate: "CSAT response rate", csat_comments: "CSAT comments",
  with_sla: "With an SLA", frt_attainment: "First response SLA met",
  resolution_attainment: "Resolution SLA met", at: "Period", key: "Key", label: "Name",
  reason: "Handoff reason", rating: "Rating", team: "Team", queued: "Waiting",
  oldest_queued_at: "Waiting since", longest_wait_seconds: "Longest wait",
  weekday: "Weekday", hour: "Hour", id: "Conversation", created_at: "Started",
  channel: "Channel", status: "Status", subject: "Subject", contact: "Customer",
  intent: "Intent", band: "Band", agent: "Agent", online_seconds: "Time online",
  away_seconds: "Time away", figure: "Figure", value: "Value", unit: "Unit",
  agent_id: "Agent's id", average_held: "Average held", peak_held: "Peak held",
  answered_at: "Answered", comment: "Comment", conversation_id: "Conversation",
};

export function columnName(column) {
  return WORDS[column] || column;
}

// A cell as text, by its column's unit (server/http/analytics_tables.py).
export function cell(value, unit) {
  if (value === null || value === undefined) return NOTHING;
  if (unit === "seconds") return duration(value);
  if (unit === "rate") return rate(value);
  if (unit === "rating") return rating(value);
  if (unit === "time") return time(value);
  if (unit === "value" && typeof value === "number") return value.toFixed(2);
  if (typeof value === "number") return value.toLocaleString();
  return String(value);
}

// The figures table (one row per figure) as a map, and each figure's unit.
export function figureMap(table) {
  const out = {};
  if (!table) return out;
  for (const [name, value, unit] of table.rows) out[name] = { value, unit };
  return out;
}
