// The Bot area's "Train and test" store (issue 19): the last validation of the project files,
// the training and evaluation jobs (their steps arrive as server-sent events from
// GET /console/api/bot/jobs/{id}/events), and the last sentence tried on both engines.
// Components read these signals and call the functions below; nothing here touches the DOM.
import { api } from "../panel/api.js";
import { signal } from "../panel/ui.js";
import * as bot from "./store.js";

export const validation = signal({ state: "idle", data: null, error: "" });
// The job of each kind this page follows: {id, kind, engine, state, steps, reason, path, line, result}.
export const train = signal(null);
export const evaluation = signal(null);
export const trial = signal({ state: "idle", data: null, error: "" });
export const startError = signal({ train: "", evaluate: "" });
// The form's choices, kept while the designer moves between the Bot area's sections.
export const engine = signal("embedded");
export const sentence = signal("");
export const folds = signal("5");

const TARGET = { train, evaluate: evaluation };
const sources = new Map(); // job id -> EventSource

export async function validate() {
  validation.value = { ...validation.value, state: "loading", error: "" };
  try {
    validation.value = { state: "ready", data: await api("POST", "/console/api/bot/validate", {}), error: "" };
  } catch (e) {
    validation.value = { state: "error", data: null, error: e.message };
  }
}

export async function start(kind, body) {
  startError.value = { ...startError.value, [kind]: "" };
  try {
    const job = await api("POST", `/console/api/bot/${kind}`, body);
    TARGET[kind].value = job;
    follow(job);
  } catch (e) {
    startError.value = { ...startError.value, [kind]: e.message };
  }
}

// Follow a running job's steps; the end event carries the whole job. EventSource reconnects by
// itself after a dropped connection (resuming after the last step id); a job this server no
// longer knows ends the stream with an error, and the job is read once more.
function follow(job) {
  if (job.state !== "running" || sources.has(job.id)) return;
  const target = TARGET[job.kind];
  const source = new EventSource(`/console/api/bot/jobs/${job.id}/events`);
  sources.set(job.id, source);
  const mine = () => target.value && target.value.id === job.id;
  let seen = job.steps.length;
  source.addEventListener("step", (event) => {
    const index = Number(event.lastEventId);
    if (!mine() || index < seen) return; // already shown (the job's first answer had it)
    seen = index + 1;
    target.value = { ...target.value, steps: [...target.value.steps, JSON.parse(event.data)] };
  });
  source.addEventListener("end", (event) => {
    source.close();
    sources.delete(job.id);
    const done = JSON.parse(event.data);
    if (mine()) target.value = done;
    if (done.kind === "train") bot.enter(); // the serving model, its intents, its refusal
  });
  source.addEventListener("error", () => {
    if (source.readyState !== EventSource.CLOSED) return; // reconnecting
    sources.delete(job.id);
    api("GET", `/console/api/bot/jobs/${job.id}`)
      .then((now) => { if (mine()) target.value = now; })
      .catch((e) => { if (mine()) target.value = { ...target.value, state: "failed", reason: e.message }; });
  });
}

// On entering the section: the newest training and evaluation this server ran (followed if
// still running), so a reloaded page finds its job again.
export async function enter() {
  try {
    const { jobs } = await api("GET", "/console/api/bot/jobs");
    for (const job of jobs) {
      const target = TARGET[job.kind];
      if (target && (!target.value || target.value.started <= job.started)) {
        // A report found again (after a reload): the folds' choice says what it used.
        if (job.kind === "evaluate" && target.value?.id !== job.id) showFolds(job);
        target.value = job;
        follow(job);
      }
    }
  } catch {
    // the buttons still work; their own errors are shown where they are pressed
  }
}

export async function tryText(text) {
  trial.value = { ...trial.value, state: "loading", error: "" };
  try {
    trial.value = { state: "ready", data: await api("POST", "/console/api/bot/test", { text }), error: "" };
  } catch (e) {
    trial.value = { state: "error", data: trial.value.data, error: e.message };
  }
}

// One click from a confused example to its intent (the Intents section opens it), with the way
// back to this report: "Back to evaluation" and the browser's Back; the focus then returns to
// the control matched by `focus`.
export function openIntent(name, focus) {
  bot.openIntentFrom(name, { section: "training", label: "evaluation", focus });
}

// The folds an evaluation used: the total its "cross-validating: k of N folds" steps count to.
export function foldsOf(job) {
  const counted = job && job.kind === "evaluate" ? job.steps.find((s) => s.total) : null;
  return counted ? counted.total : null;
}

function showFolds(job) {
  const n = foldsOf(job);
  if (n) folds.value = String(n);
}

// The folds offered: 3, 5 and 10, and the number chosen if another (the API takes 2 to 10).
export function foldChoices() {
  return [...new Set(["3", "5", "10", folds.value])].sort((a, b) => Number(a) - Number(b));
}

export const percent = (x) => `${Math.round((x || 0) * 100)}%`;
export const where = (path, line) => (path ? `${path}${line ? `:${line}` : ""}` : "");
