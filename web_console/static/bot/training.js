// The Bot area's "Train and test" section (issue 19): validate the project files (the checks
// `switchboard nlu train` makes, with file and line), train with the steps shown as they
// happen, try a sentence on both engines side by side, and evaluate per intent with one click
// from a confused example to its intent. Progress is announced politely (aria-live); every
// value is rendered as text.
import * as store from "./training_store.js";
import * as bot from "./store.js";
import { html, useEffect } from "../panel/ui.js";

// This section's styles, in a file of its own beside bot.css.
if (!document.querySelector('link[data-bot-training]')) {
  const link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = "/console/static/bot/training.css";
  link.dataset.botTraining = "";
  document.head.append(link);
}

const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
// A button busy with its own job is aria-disabled, not disabled: a disabled button drops the
// keyboard's focus to the page's body the moment it is pressed, and the designer who pressed
// Evaluate had to find their place again. Its handler ignores a press while busy.
const busy = (yes) => (yes ? "true" : undefined);
// An intent's name may break after an underscore (mood_ / unhappy in a phone's table) before
// it breaks anywhere, as the card's overflow-wrap lets a longer word.
const breakable = (name) => name.split(/(?<=_)/).map((part, n) => (n ? [html`<wbr />`, part] : part));
// The out-of-scope label as a designer reads it.
const named = (intent) => (intent === "nlu_fallback" ? "not understood" : intent);

function Problems({ items, label, id }) {
  return html`<ul class="bt-problems" id=${id} aria-label=${label}>
    ${items.map((p, n) => html`<li key=${n}><code class="bot-where">${store.where(p.path, p.line) || "project"}</code> ${p.message}</li>`)}
  </ul>`;
}

function Validate() {
  const { state, data, error } = store.validation.value;
  return html`<section class="bt-card" aria-labelledby="bt-validate-heading">
    <h3 id="bt-validate-heading">Validate</h3>
    <p class="bot-muted">The checks <code>switchboard nlu train</code> makes, on the files as they are now.</p>
    <button type="button" id="bt-validate" onClick=${() => { if (state !== "loading") store.validate(); }} aria-disabled=${busy(state === "loading")}>Validate the project files</button>
    <div role="status" aria-live="polite" class="bt-status">
      ${state === "loading" ? "Checking the files…" : null}
      ${error ? html`<span class="bot-error">${error}</span>` : null}
      ${data && state === "ready" ? (data.ok
        ? html`<span class="bt-ok" id="bt-valid">Valid: ${plural(data.intents, "intent")}, ${plural(data.examples, "example")}.</span>`
        : html`<span class="bot-error" id="bt-invalid">The project does not load:</span>`) : null}
    </div>
    ${data && data.errors.length ? html`<${Problems} id="bt-errors" items=${data.errors} label="Errors" />` : null}
    ${data && data.unsupported.length ? html`<details class="bt-details"><summary>${plural(data.unsupported.length, "feature")} the embedded engine does not run</summary>
      <${Problems} id="bt-unsupported" items=${data.unsupported} label="Unsupported features" /></details>` : null}
    ${data ? html`<p class="bot-muted" id="bt-rasa-check">Rasa's <code>rasa data validate</code>: ${data.rasa.available ? `${data.rasa.ok ? "passed" : "failed"}${data.rasa.problems.length ? `, ${plural(data.rasa.problems.length, "problem")}` : ""}.` : `not available. ${data.rasa.reason}`}</p>` : null}
    ${data && data.rasa.problems.length ? html`<${Problems} id="bt-rasa-problems" label="What rasa data validate said"
      items=${data.rasa.problems.map((p) => ({ ...p, message: `${p.level}: ${p.message}` }))} />` : null}
  </section>`;
}

function Steps({ job, label }) {
  const last = job.steps[job.steps.length - 1];
  const counted = [...job.steps].reverse().find((s) => s.total);
  return html`<div class="bt-progress">
    ${job.state === "running" && counted ? html`<progress max=${counted.total} value=${counted.done} aria-label=${label}></progress>` : null}
    ${job.state === "running" && !counted ? html`<progress aria-label=${label}></progress>` : null}
    <ol class="bt-steps" aria-label=${`${label}: steps`}>
      ${job.steps.map((s, n) => html`<li key=${n}>${s.step}</li>`)}
    </ol>
    <p class="visually-hidden" aria-live="polite">${job.state === "running" && last ? last.step : finished(job)}</p>
  </div>`;
}

// Said once a job ends well where its steps were said. A training has its own status line; an
// evaluation's report is a table, inserted silently, so its headline figures are said here.
function finished(job) {
  const r = job.result;
  if (job.kind !== "evaluate" || job.state !== "done" || !r) return "";
  const notes = r.notes && r.notes.length ? ` ${plural(r.notes.length, "note")} about these figures.` : "";
  return `Evaluated: accuracy ${store.percent(r.accuracy)}, macro F1 ${r.macro_f1.toFixed(2)}.${notes}`;
}

function Outcome({ job }) {
  if (job.state === "running") return null;
  if (job.state === "refused" || job.state === "failed") {
    return html`<div class="bt-outcome refused" role="alert" id=${`bt-${job.kind}-refused`}>
      <strong>${job.state === "refused" ? "Refused" : "Failed"}${job.kind === "train" ? ": the last good model keeps serving" : ""}.</strong>
      ${job.path ? html` <code class="bot-where">${store.where(job.path, job.line)}</code>` : null}
      <span> ${job.reason}</span>
    </div>`;
  }
  if (job.kind !== "train") return null;
  const r = job.result || {};
  return html`<p class="bt-outcome done" role="status" id="bt-train-done">
    ${r.changed === false ? "Already serving these files" : "Trained: the new model serves"}${r.fingerprint ? html` (<code>${r.fingerprint}</code>, ${plural(r.intents, "intent")}, ${plural(r.examples, "example")})` : r.model ? html` (<code>${r.model}</code>)` : ""} in ${r.seconds} s.
  </p>`;
}

function Train() {
  const job = store.train.value;
  const rasa = bot.summary.value.data?.kind === "rasa";
  const engine = store.engine.value;
  const setEngine = (value) => { store.engine.value = value; };
  const running = job?.state === "running";
  return html`<section class="bt-card" aria-labelledby="bt-train-heading">
    <h3 id="bt-train-heading">Train</h3>
    <form class="bt-row" onSubmit=${(e) => { e.preventDefault(); if (!running) store.start("train", { engine }); }}>
      <fieldset class="bt-engines"><legend>Engine</legend>
        <label><input type="radio" name="bt-engine" value="embedded" checked=${engine === "embedded"} onChange=${() => setEngine("embedded")} /> Embedded</label>
        <label><input type="radio" name="bt-engine" value="rasa" checked=${engine === "rasa"} disabled=${!rasa} onChange=${() => setEngine("rasa")} /> Rasa${rasa ? "" : " (not configured)"}</label>
      </fieldset>
      <button type="submit" id="bt-train" aria-disabled=${busy(running)}>${running ? "Training…" : "Train"}</button>
    </form>
    ${store.startError.value.train ? html`<p class="bot-error" role="alert">${store.startError.value.train}</p>` : null}
    ${job ? html`<div id="bt-train-job" data-state=${job.state}>
      <p class="bot-muted">${job.engine} · started by ${job.author}</p>
      <${Steps} job=${job} label="Training progress" />
      <${Outcome} job=${job} />
    </div>` : null}
  </section>`;
}

function Ranking({ items }) {
  return html`<ol class="bt-ranking" aria-label="Intent ranking">
    ${items.map((s) => html`<li key=${s.intent}>
      <span class="bt-rank-name">${s.intent}</span>
      <meter min="0" max="1" value=${s.confidence} aria-label=${`${s.intent} confidence`}></meter>
      <span class="bt-rank-value">${store.percent(s.confidence)}</span>
    </li>`)}
  </ol>`;
}

function EngineResult({ e }) {
  return html`<section class="bt-engine" aria-labelledby=${`bt-engine-${e.engine}`} id=${`bt-result-${e.engine}`}>
    <h4 id=${`bt-engine-${e.engine}`}>${e.engine === "rasa" ? "Rasa" : "Embedded"}</h4>
    ${!e.available ? html`<p class="bot-muted">Not available: ${e.error}</p>` : html`
      <p class="bt-intent"><strong>${e.retrieval_intent || e.intent}</strong> ${store.percent(e.confidence)}
        ${e.fallback ? html` <span class="bot-badge handoff">fallback: not understood</span>` : null}</p>
      <${Ranking} items=${e.ranking} />
      ${e.entities.length ? html`<h5>Entities</h5><ul class="bt-entities">
        ${e.entities.map((x, n) => html`<li key=${n}><mark class="bot-entity">${x.value}</mark> ${x.entity}${x.role ? `#${x.role}` : ""}${x.group ? `@${x.group}` : ""}</li>`)}
      </ul>` : html`<p class="bot-muted">No entities.</p>`}
      <h5>What would follow</h5>
      ${e.next.length ? html`<ol class="bt-next">
        ${e.next.map((a, n) => html`<li key=${n}><code>${a.action}</code> <span class="bot-muted">(${a.by}${a.confidence !== null ? ` ${store.percent(a.confidence)}` : ""})</span>
          ${a.says ? html`<div class="bt-says">“${a.says}”</div>` : null}
          ${a.flows.length ? html`<div class="bot-muted">from ${a.flows.join(", ")}</div>` : null}</li>`)}
      </ol>` : html`<p class="bot-muted">Nothing: the bot waits for the customer.</p>`}
      ${e.note ? html`<p class="bot-muted">${e.note}</p>` : null}`}
  </section>`;
}

function Trial() {
  const { state, data, error } = store.trial.value;
  const text = store.sentence.value;
  const setText = (value) => { store.sentence.value = value; };
  return html`<section class="bt-card" aria-labelledby="bt-test-heading">
    <h3 id="bt-test-heading">Test a sentence</h3>
    <form class="bt-row" onSubmit=${(e) => { e.preventDefault(); if (text.trim() && state !== "loading") store.tryText(text.trim()); }}>
      <label class="bt-grow">Sentence <input type="text" id="bt-sentence" maxlength="1000" value=${text}
        onInput=${(e) => setText(e.target.value)} placeholder="Where is my order?" /></label>
      <button type="submit" id="bt-try" disabled=${!text.trim()} aria-disabled=${busy(state === "loading")}>Test</button>
    </form>
    <div role="status" aria-live="polite" class="bt-status">${state === "loading" ? "Asking the engines…" : ""}${error ? html`<span class="bot-error">${error}</span>` : null}</div>
    ${data ? html`<div class="bt-side" id="bt-trial" aria-label=${`Results for: ${data.text}`}>
      ${data.engines.map((e) => html`<${EngineResult} key=${e.engine} e=${e} />`)}
    </div>` : null}
  </section>`;
}

function Report({ r }) {
  return html`<div id="bt-report">
    <p class="bt-figures">${r.method}, ${plural(r.examples, "example")}: accuracy <strong>${store.percent(r.accuracy)}</strong>,
      macro F1 <strong>${r.macro_f1.toFixed(2)}</strong>, weighted F1 <strong>${r.weighted_f1.toFixed(2)}</strong>${r.in_scope_accuracy !== null ? html`, in-scope accuracy <strong>${store.percent(r.in_scope_accuracy)}</strong>` : null}${r.out_of_scope_recall !== null ? html`, out-of-scope recall <strong>${store.percent(r.out_of_scope_recall)}</strong>` : null} (${r.seconds} s)</p>
    ${r.notes && r.notes.length ? html`<ul class="bt-notes" aria-label="About these figures">${r.notes.map((n) => html`<li key=${n}>${n}</li>`)}</ul>` : null}
    <div class="bot-table-wrap">
      <table class="bot-table" id="bt-f1">
        <caption>Per intent, worst F1 first</caption>
        <thead><tr><th scope="col">Intent</th><th scope="col" class="bot-num">F1</th><th scope="col" class="bot-num">Precision</th><th scope="col" class="bot-num">Recall</th><th scope="col" class="bot-num">Examples</th></tr></thead>
        <tbody>${r.intents.map((i) => html`<tr key=${i.intent}>
          <th scope="row">${i.intent === "nlu_fallback" ? html`<span title="the out-of-scope sets">not understood (out of scope)</span>`
            : html`<button type="button" class="bot-link" data-intent=${i.intent}
                onClick=${() => store.openIntent(i.intent, `#bt-f1 button[data-intent="${CSS.escape(i.intent)}"]`)}>${breakable(i.intent)}</button>`}</th>
          <td class=${`bot-num${i.f1 < 0.8 ? " bt-low" : ""}`}>${i.f1.toFixed(2)}</td>
          <td class="bot-num">${i.precision.toFixed(2)}</td><td class="bot-num">${i.recall.toFixed(2)}</td><td class="bot-num">${i.support}</td>
        </tr>`)}</tbody>
      </table>
    </div>
    <h4>Most confused pairs</h4>
    ${r.confused.length ? html`<ul class="bt-pairs" id="bt-pairs">${r.confused.map((c, n) => html`<li key=${n}>${named(c.intent)} → ${named(c.predicted)}: ${plural(c.count, "example")}</li>`)}</ul>`
      : html`<p class="bot-muted">None: every held-out example was recognised.</p>`}
    ${r.examples_confused.length ? html`<h4>Most confused examples</h4>
      <ul class="bt-confused" id="bt-confused">${r.examples_confused.map((x, n) => html`<li key=${n}>
        <span class="bt-text">“${x.text}”</span>
        <span class="bot-muted">is ${x.intent}, read as ${named(x.predicted)} (${store.percent(x.confidence)})</span>
        <button type="button" class="secondary bt-fix" onClick=${() => store.openIntent(x.intent, `#bt-confused > li:nth-child(${n + 1}) .bt-fix`)}>Open ${x.intent}</button>
      </li>`)}</ul>` : null}
  </div>`;
}

function Evaluate() {
  const job = store.evaluation.value;
  const folds = store.folds.value;
  const setFolds = (value) => { store.folds.value = value; };
  const running = job?.state === "running";
  return html`<section class="bt-card" aria-labelledby="bt-evaluate-heading">
    <h3 id="bt-evaluate-heading">Evaluate</h3>
    <p class="bot-muted">Cross-validation of the embedded engine: each fold of the examples judged by a model trained without it.</p>
    <form class="bt-row" onSubmit=${(e) => { e.preventDefault(); if (!running) store.start("evaluate", { folds: Number(folds) }); }}>
      <label>Folds <select id="bt-folds" value=${folds} onChange=${(e) => setFolds(e.target.value)}>
        ${store.foldChoices().map((f) => html`<option key=${f} value=${f}>${f}</option>`)}
      </select></label>
      <button type="submit" id="bt-evaluate" aria-disabled=${busy(running)}>${running ? "Evaluating…" : "Evaluate"}</button>
    </form>
    ${store.startError.value.evaluate ? html`<p class="bot-error" role="alert">${store.startError.value.evaluate}</p>` : null}
    ${job ? html`<div id="bt-evaluate-job" data-state=${job.state}>
      <${Steps} job=${job} label="Evaluation progress" />
      <${Outcome} job=${job} />
      ${job.state === "done" && job.result ? html`<${Report} r=${job.result} />` : null}
    </div>` : null}
  </section>`;
}

export function Training() {
  useEffect(() => {
    store.enter();
    // Back from an intent the report opened: the focus goes to the control that opened it.
    const selector = bot.takeReturnFocus();
    const target = selector && document.querySelector(selector);
    if (target) {
      target.focus();
      target.scrollIntoView?.({ block: "center" });
    }
  }, []);
  return html`<div id="bot-training" class="bt-grid">
    <${Validate} />
    <${Train} />
    <${Trial} />
    <${Evaluate} />
  </div>`;
}
