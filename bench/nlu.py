"""`make bench`'s NLU part: the embedded engine beside a real Rasa 3.6.21 in one run.

Accuracy: stratified k-fold cross-validation over the shipped project's examples, for both
engines (Rasa's own `rasa test nlu --cross-validation`, so its DIET is trained k times; its
folds are drawn by Rasa, ours by scikit-learn, both stratified by intent). Latency: parse
time for every example, sequentially; the embedded engine in-process (how Switchboard calls
it), Rasa over HTTP with a kept-alive connection (how Switchboard calls it).

Run alone with `python -m bench.nlu`; BENCH_NLU_FOLDS sets k (default 3).
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from bench.report import machine, percentile, publish
from nlu.embedded import load_or_train
from nlu.evaluation import Report, cross_validate
from nlu.project import load_project
from server.cli.nlu_commands import rasa_evaluation
from server.settings import DEFAULT_NLU_PROJECT
from tests.rasa_stack import RASA_BIN, rasa_server

FOLDS = int(os.environ.get("BENCH_NLU_FOLDS", "3"))
ROOT = Path(__file__).resolve().parent.parent
START, END = "<!-- nlu:start -->", "<!-- nlu:end -->"


def embedded_latency(texts: list[str], cache: Path) -> list[float]:
    model = load_or_train(DEFAULT_NLU_PROJECT, cache)
    for text in texts[:50]:
        model.interpret(text)  # warm up
    timings = []
    for text in texts:
        started = time.perf_counter()
        model.interpret(text)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def rasa_latency(texts: list[str], tmp: Path) -> list[float]:
    # Parsing needs no action server; the endpoint is never called.
    with (
        rasa_server(tmp, "http://127.0.0.1:9/webhook") as (url, _process),
        httpx.Client(base_url=url, timeout=10) as client,
    ):
        for text in texts[:50]:
            client.post("/model/parse", json={"text": text})
        timings = []
        for text in texts:
            started = time.perf_counter()
            client.post("/model/parse", json={"text": text}).raise_for_status()
            timings.append((time.perf_counter() - started) * 1000)
    return timings


def row(name: str, report: Report, timings: list[float]) -> str:
    return (
        f"| {name} | {report.accuracy:.3f} | {report.macro_f1:.3f} | "
        f"{statistics.median(timings):.2f} | {percentile(timings, 0.99):.2f} | "
        f"{report.seconds:.0f} |"
    )


def run(say: object = print) -> str:
    emit = say if callable(say) else print
    project = load_project(DEFAULT_NLU_PROJECT)
    texts = [e.text for e in project.examples]
    with tempfile.TemporaryDirectory(prefix="sbnlu") as tmp:
        emit(f"nlu: embedded {FOLDS}-fold cross-validation")
        embedded = cross_validate(project, FOLDS)
        embedded_ms = embedded_latency(texts, Path(tmp) / "cache")
        emit(f"nlu: rasa {FOLDS}-fold cross-validation (trains DIET {FOLDS} times)")
        rasa = rasa_evaluation(DEFAULT_NLU_PROJECT, RASA_BIN, None, FOLDS)
        emit("nlu: rasa parse latency")
        rasa_ms = rasa_latency(texts, Path(tmp))
    p50_ratio = statistics.median(rasa_ms) / statistics.median(embedded_ms)
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
        f"Embedded first choice right before the fallback thresholds: {embedded.top1_accuracy}"
        " (Rasa's reports give only the prediction after its FallbackClassifier).",
        "A prediction of nlu_fallback (below the FallbackClassifier threshold) counts as wrong"
        " for both engines, as `rasa test nlu` counts it.",
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
