"""`make bench`'s NLU part: the embedded engine beside a real Rasa 3.6.21 in one run.

Accuracy: stratified k-fold cross-validation over the shipped project's examples, for both
engines (Rasa's own `rasa test nlu --cross-validation`, so its DIET is trained k times; its
folds are drawn by Rasa, ours by scikit-learn, both stratified by intent). Latency: parse
time for every example, then for every message of the shipped out-of-scope sets (which make
the embedded engine ask its sentence encoder, its dearest parse); the embedded engine
in-process (how Switchboard calls it), Rasa over HTTP with a kept-alive connection (how
Switchboard calls it), the engines taking turns a block of messages at a time, so that both
are timed under the same load on a shared machine.

Run alone with `python -m bench.nlu`; BENCH_NLU_FOLDS sets k (default 3). Rasa comes from
the virtualenv and the model `make rasa-model` leaves under .cache; a smoke run (bench/sizes.py)
scores that cached model on the project's own examples instead of training Rasa k times.
"""

from __future__ import annotations

import contextlib
import statistics
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.processes import free_port, started
from bench.report import machine, percentile, publish
from bench.sizes import FOLDS, PARSES, SMOKE
from nlu.base import OUT_OF_SCOPE_INTENTS
from nlu.embedded import Model, load_or_train
from nlu.evaluation import (
    CROSS_VALIDATION,
    Report,
    cross_validate,
    out_of_scope_sets,
    predict,
    report,
    summarise,
)
from nlu.markup import Example
from nlu.project import load_project
from server.cli.nlu_commands import (
    DEFAULT_RASA_BIN,
    DEFAULT_RASA_OUT,
    rasa_evaluation,
    rasa_model_path,
)
from server.settings import DEFAULT_NLU_PROJECT

ROOT = Path(__file__).resolve().parent.parent
RASA_BIN = ROOT / DEFAULT_RASA_BIN
START, END = "<!-- nlu:start -->", "<!-- nlu:end -->"
# Texts each engine parses before the other takes its turn (``paired_parses``).
PARSE_BLOCK = 25
# Other Rasa 3 projects the out-of-scope detector is measured on with the same configuration:
# Rasa's own starter bot and the dialogue tests' bots (a handful of examples per intent).
OTHER_PROJECTS = {
    "moodbot (rasa init)": ROOT / "tests/nlu/data/moodbot",
    "bank (tests)": ROOT / "tests/nlu/projects/bank",
    "faq (tests)": ROOT / "tests/nlu/projects/faq",
    "helpdesk (tests)": ROOT / "tests/nlu/projects/helpdesk",
    "pizza (tests)": ROOT / "tests/nlu/projects/pizza",
}


def rasa_model() -> Path:
    """The model `make rasa-model` trained for the project's current files."""
    model = rasa_model_path(DEFAULT_NLU_PROJECT, ROOT / DEFAULT_RASA_OUT)
    if not RASA_BIN.exists() or not model.exists():
        raise RuntimeError(
            f"no Rasa virtualenv or model for the current project files ({model}):"
            " `make rasa-model` installs Rasa and trains it"
        )
    return model


@contextlib.contextmanager
def rasa_server(tmp: Path) -> Iterator[str]:
    """`rasa run --enable-api` with the cached model on a free port; yields its URL. Parsing
    needs no action server, so the endpoint it is given is never called."""
    port = free_port()
    endpoints = tmp / "endpoints.yml"
    endpoints.write_text('action_endpoint:\n  url: "http://127.0.0.1:9/webhook"\n')
    args = [str(RASA_BIN), "run", "--enable-api", "--model", str(rasa_model())]
    args += ["--endpoints", str(endpoints), "--credentials", "credentials.yml"]
    args += ["--interface", "127.0.0.1", "--port", str(port)]
    env = {"TF_CPP_MIN_LOG_LEVEL": "2"}
    with started(args, env, grace=15, cwd=DEFAULT_NLU_PROJECT) as rasa:
        url = f"http://127.0.0.1:{port}"
        rasa.until_http(f"{url}/status")
        yield url


@dataclass
class Parses:
    """Each text's parse wall time (ms) by both engines, and the intent Rasa gave it."""

    embedded: list[float]
    rasa: list[float]
    rasa_intents: list[str]

    def line(self, what: str) -> str:
        embedded, rasa = statistics.median(self.embedded), statistics.median(self.rasa)
        return (
            f"{what} ({len(self.rasa)}): embedded p50 {embedded:.2f} ms, p99"
            f" {percentile(self.embedded, 0.99):.2f} ms; Rasa over HTTP p50 {rasa:.2f} ms, p99"
            f" {percentile(self.rasa, 0.99):.2f} ms; p50 latency Rasa/embedded:"
            f" {rasa / embedded:.1f}x (target ≥ 10x)."
        )


def paired_parses(model: Model, client: httpx.Client, texts: list[str]) -> Parses:
    """Each text parsed in-process by the embedded engine and by Rasa over HTTP, the engines
    taking turns a block of texts at a time: load from elsewhere on the machine weighs on
    both alike, and neither parses right after the other has filled the caches with its own
    weights (one text at a time, the embedded in-scope parse took 1.2 ms instead of 0.6)."""
    from nlu import encoder

    for text in texts[:50]:  # warm up
        model.interpret(text)
        client.post("/model/parse", json={"text": text})
    # The sentence encoder remembers the texts it has read, and keeps the pieces of the words
    # and the pieces' projections it has met: forget() drops them all, so every timed text is
    # read as by a fresh process (the warm-up's must not be free). A server that has run a
    # while knows most words and pieces of everyday text, and its encoder does less.
    found = encoder.shared() if model.scope is not None and model.scope.uses_encoder else None
    if found is not None:
        found.forget()
    result = Parses([], [], [])
    for start in range(0, len(texts), PARSE_BLOCK):
        block = texts[start : start + PARSE_BLOCK]
        for text in block:
            started = time.perf_counter()
            model.interpret(text)
            result.embedded.append((time.perf_counter() - started) * 1000)
        for text in block:
            started = time.perf_counter()
            response = client.post("/model/parse", json={"text": text}).raise_for_status()
            result.rasa.append((time.perf_counter() - started) * 1000)
            result.rasa_intents.append(str(response.json()["intent"]["name"]))
    return result


def encoder_use(texts: list[str], foreign: list[str], cache: Path) -> str:
    """The embedded parse's CPU time on in-scope and out-of-scope messages, and how many of
    each asked the sentence encoder (nlu/scope.py asks it only when the cheap evidence
    leaves the detector unsure)."""
    from bench.nlu_encoder import timed_parses

    model = load_or_train(DEFAULT_NLU_PROJECT, cache)
    inside, asked_inside = timed_parses(model, texts)
    outside, asked_outside = timed_parses(model, foreign)
    return (
        f"Embedded parse CPU time, the project's examples: p50 {statistics.median(inside):.2f} ms,"
        f" p99 {percentile(inside, 0.99):.2f} ms, {asked_inside:.0%} asked the sentence encoder;"
        f" the out-of-scope sets: p50 {statistics.median(outside):.2f} ms,"
        f" p99 {percentile(outside, 0.99):.2f} ms, {asked_outside:.0%} asked it."
    )


def embedded_refusals(texts: list[str], cache: Path) -> float:
    """The share of the out-of-scope sets the model trained on the whole project refuses."""
    model = load_or_train(DEFAULT_NLU_PROJECT, cache)
    judged = predict(model, [Example(t, "nlu_fallback") for t in texts], "out of scope")
    return sum(p.right for p in judged) / len(judged)


def scope_row(name: str, scores: Report) -> str:
    """A project's out-of-scope figures: in-scope accuracy beside the classifier's first
    choice (no fallback), then recall per out-of-scope source."""
    by = scores.recall_by_source

    def cell(source: str) -> str:
        return f"{by[source]:.2f}" if source in by else "-"

    return (
        f"| {name} | {scores.examples} | {scores.top1_accuracy or 0:.3f} |"
        f" {scores.in_scope_accuracy or 0:.3f} | {scores.out_of_scope_recall or 0:.3f} |"
        f" {cell('other_domains_en')} | {cell('other_domains_fr')} | {cell('gibberish')} |"
        f" {cell('left-out intents')} | {cell('cross-validation')} | {scores.accuracy:.3f} |"
        f" {scores.macro_f1:.3f} | {scores.training_seconds or 0:.1f} |"
    )


def both_parse(inside: list[str], outside: list[str], tmp: Path) -> tuple[Parses, Parses]:
    """``paired_parses`` of the in-scope texts, then of the out-of-scope ones, with the
    embedded model trained on the whole project."""
    model = load_or_train(DEFAULT_NLU_PROJECT, tmp / "cache")
    with rasa_server(tmp) as url, httpx.Client(base_url=url, timeout=10) as client:
        return paired_parses(model, client, inside), paired_parses(model, client, outside)


def row(name: str, scores: Report, timings: list[float]) -> str:
    return (
        f"| {name} | {scores.accuracy:.3f} | {scores.macro_f1:.3f} | "
        f"{statistics.median(timings):.2f} | {percentile(timings, 0.99):.2f} | "
        f"{scores.seconds:.0f} |"
    )


def run(say: object = print) -> str:
    emit = say if callable(say) else print
    project = load_project(DEFAULT_NLU_PROJECT)
    texts = [e.text for e in project.examples]
    parsed = project.examples[:PARSES] if PARSES else project.examples
    outside = out_of_scope_sets()
    # Parsed for the latency: every out-of-scope message, as every example, unless PARSES
    # limits them (a smoke run; BENCH_NLU_PARSES=0 parses them all in a few seconds).
    every = [text for messages in outside.values() for text in messages]
    if SMOKE:  # a few of each set: the smoke run shows the part works, not its figures
        outside = {name: messages[:5] for name, messages in outside.items()}
    foreign = [text for messages in outside.values() for text in messages]
    timed_foreign = foreign if PARSES else every
    with tempfile.TemporaryDirectory(prefix="sbnlu") as tmp:
        emit(f"nlu: embedded {FOLDS}-fold cross-validation, out-of-scope sets, left-out intents")
        # A smoke run leaves intents out of the small projects only: it shows the part works.
        judged = cross_validate(project, FOLDS, out_of_scope=outside, leave_out=not SMOKE)
        # The accuracy table compares like with like: the project's own examples only, and
        # the time of the k trainings alone.
        embedded = summarise(
            judged.method,
            [p for p in judged.predictions if p.source == CROSS_VALIDATION],
            (judged.training_seconds or 0) * FOLDS,
            [],
        )
        others = {}
        for name, root in list(OTHER_PROJECTS.items())[: 1 if SMOKE else None]:
            if root.is_dir():
                emit(f"nlu: out-of-scope detection on {name}")
                others[name] = cross_validate(
                    load_project(root), min(FOLDS, 3), out_of_scope=outside, leave_out=True
                )
        embedded_refused = embedded_refusals(timed_foreign, Path(tmp) / "cache")
        encoder_line = encoder_use([e.text for e in parsed], foreign, Path(tmp) / "cache")
        if not SMOKE:
            emit(f"nlu: rasa {FOLDS}-fold cross-validation (trains DIET {FOLDS} times)")
            rasa = rasa_evaluation(DEFAULT_NLU_PROJECT, RASA_BIN, None, FOLDS)
        emit("nlu: parse latency, embedded and Rasa over HTTP, in scope and out of scope")
        inside, outside_parses = both_parse([e.text for e in parsed], timed_foreign, Path(tmp))
        embedded_ms, rasa_ms, intents = inside.embedded, inside.rasa, inside.rasa_intents
        foreign_intents = outside_parses.rasa_intents
        rasa_refused = sum(i in OUT_OF_SCOPE_INTENTS for i in foreign_intents) / len(timed_foreign)
        if SMOKE:
            # No training in a smoke run: the cached model scored on examples it learnt from.
            gold = [e.intent for e in parsed]
            rasa = report("rasa", "cached model, training examples", gold, intents)
    p50_ratio = statistics.median(rasa_ms) / statistics.median(embedded_ms)
    scope_rows = [scope_row(f"shipped ({FOLDS}-fold)", judged)]
    scope_rows += [scope_row(f"{name} ({min(FOLDS, 3)}-fold)", r) for name, r in others.items()]
    lines = [
        f"## NLU — {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        "",
        f"Command: `make bench` (or `python -m bench.nlu`), BENCH_NLU_FOLDS={FOLDS}. Machine:"
        f" {machine()}; Rasa 3.6.21 on Python 3.10. Project:"
        f" {len(texts)} examples, {len(project.intents)} intents (English and French).",
        "",
        "| engine | accuracy | macro F1 | parse p50 (ms) | parse p99 (ms) | CV time (s) |",
        "|---|---:|---:|---:|---:|---:|",
        row("embedded (scikit-learn, in-process)", embedded, embedded_ms),
        row("Rasa DIET (rasa run --enable-api, HTTP)", rasa, rasa_ms),
        "",
        f"Accuracy ratio embedded/Rasa: {embedded.accuracy / max(rasa.accuracy, 1e-9):.2f}x;"
        f" macro-F1 ratio: {embedded.macro_f1 / max(rasa.macro_f1, 1e-9):.2f}x;"
        f" p50 latency Rasa/embedded: {p50_ratio:.1f}x (target ≥ 10x).",
        outside_parses.line(
            "Parse wall time, the shipped out-of-scope sets (each parse of the embedded engine"
            " asking its sentence encoder when its cheap evidence leaves it unsure)"
        ),
        encoder_line,
        "Embedded first choice right on in-scope examples, before the out-of-scope detector:"
        f" {embedded.top1_accuracy} (Rasa's reports give only the prediction after its"
        " FallbackClassifier).",
        "For both engines a fallback (nlu_fallback) counts as wrong for an in-scope example and"
        " as right for one of the project's own out_of_scope examples.",
        "",
        "Out-of-scope detection, one configuration for every project (nlu/scope.py,"
        " IN_SCOPE_REJECTION): each cross-validation model also judges its share of the"
        f" shipped out-of-scope sets ({len(foreign)} messages: nlu/out_of_scope), and models"
        " trained without each fifth of the intents judge those intents' examples (left-out);"
        " 'own' is the project's own out_of_scope examples. Recall counts a message flagged"
        " (nlu_fallback) or given the project's out_of_scope intent; in-scope accuracy counts"
        " a flagged in-scope message as wrong. Target: recall ≥ 0.85 with in-scope accuracy"
        " within 1 point of the no-fallback first choice.",
        "",
        "| project | examples judged | no-fallback acc. | in-scope acc. | OOS recall |"
        " other domains en | other domains fr | gibberish | left-out intents | own |"
        " overall acc. | macro F1 | one training (s) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        *scope_rows,
        "",
        f"The same out-of-scope sets parsed by the models trained on the whole shipped project:"
        f" embedded refuses {embedded_refused:.2f}, Rasa DIET with its FallbackClassifier"
        f" {rasa_refused:.2f}.",
        "",
        "Most confused (embedded): "
        + ", ".join(f"{g} → {p} ({n})" for g, p, n in embedded.confused[:5]),
        "",
        "Most confused (Rasa): " + ", ".join(f"{g} → {p} ({n})" for g, p, n in rasa.confused[:5]),
    ]
    return "\n".join(lines)


def main() -> None:
    publish(run(), START, END)


if __name__ == "__main__":
    main()
