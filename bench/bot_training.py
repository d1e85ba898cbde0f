"""From "save" to the new model serving, on the embedded engine (issue 19): how long after a
bot designer's edit reaches the project files the bot answers with a model trained on them.

A project is generated at each size from the shipped one (nlu/rasa_project): its domain,
rules and stories unchanged, its intents' examples cut or extended in proportion to reach the
size (extended with the same sentences behind a greeting or before a closing word, entity
annotations kept). An EmbeddedInterpreter serves a model of it; then, each run, one example
is appended to data/nlu.yml (the save) and the clock runs until the interpreter serves a model
of exactly those files:

- **watcher**: the running server's path: the engine's watcher (every WATCH_SECONDS) notices
  the change, retrains in a thread and swaps the model in;
- **train**: the console's Train button pressed right after the save (``reload`` at once,
  which the watcher's training shares: server/services/bot_training.py).

Every save is new files, so every run trains (nothing comes from the model cache). Sizes with
BENCH_BOT_EXAMPLES (default 850,10000), runs with BENCH_BOT_RUNS (default 3). A part of
`make bench` (BENCH_ONLY=bot), which writes its section of bench/RESULTS.md; run alone with
`python -m bench.bot_training` (prints only).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import tempfile
import time
from itertools import cycle
from pathlib import Path
from typing import Any

import yaml

from bench.report import machine, publish
from bench.sizes import SMOKE
from nlu.embedded import WATCH_SECONDS, EmbeddedInterpreter, load_or_train
from nlu.project import SHIPPED_PROJECT, fingerprint

SIZES = [
    int(n) for n in os.environ.get("BENCH_BOT_EXAMPLES", "120" if SMOKE else "850,10000").split(",")
]
RUNS = int(os.environ.get("BENCH_BOT_RUNS", "1" if SMOKE else "3"))
MARK_START, MARK_END = "<!-- bot-training:start -->", "<!-- bot-training:end -->"
PREFIXES = ("hi,", "hello,", "hey", "please,", "so", "excuse me,", "good morning,", "um,", "ok")
SUFFIXES = ("please", "thanks", "thank you", "asap", "now", "today", "!", "?", "cheers")
POLL = 0.02


class _BlockDumper(yaml.SafeDumper):
    """Examples written as Rasa writes them: a literal block of "- " lines."""


def _text(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    return dumper.represent_scalar(
        "tag:yaml.org,2002:str", data, style="|" if "\n" in data else None
    )


_BlockDumper.add_representer(str, _text)


def generate(target: Path, examples: int) -> int:
    """A copy of the shipped project whose intents hold ``examples`` examples in all; the
    number written."""
    shutil.copytree(SHIPPED_PROJECT, target, ignore=shutil.ignore_patterns("actions", "models"))
    path = target / "data" / "nlu.yml"
    document: dict[str, Any] = yaml.safe_load(path.read_text())
    items = [i for i in document["nlu"] if isinstance(i, dict) and "intent" in i]
    lines = {id(i): [x[2:] for x in i["examples"].splitlines() if x.strip()] for i in items}
    total = sum(len(v) for v in lines.values())
    written = 0
    for item in items:
        own = lines[id(item)]
        want = max(2, round(len(own) * examples / total))
        shown = own[:want]
        variants = ((p, s) for p in cycle(PREFIXES) for s in SUFFIXES)
        seen = set(shown)
        source = cycle(own)
        while len(shown) < want:
            prefix, suffix = next(variants)
            text = f"{prefix} {next(source)} {suffix}"
            if text not in seen:
                seen.add(text)
                shown.append(text)
        item["examples"] = "".join(f"- {x}\n" for x in shown)
        written += len(shown)
    path.write_text(
        yaml.dump(document, Dumper=_BlockDumper, allow_unicode=True, sort_keys=False, width=1000)
    )
    return written


def save(root: Path, n: int) -> str:
    """A designer's edit: one more example under the first intent; the files' fingerprint."""
    path = root / "data" / "nlu.yml"
    text = path.read_text()
    marker = "examples: |\n"
    at = text.index(marker) + len(marker)
    path.write_text(f"{text[:at]}    - a new way to say it number {n}\n{text[at:]}")
    return fingerprint(root)


async def serving(engine: EmbeddedInterpreter, wanted: str, limit: float = 3600.0) -> None:
    deadline = time.monotonic() + limit
    while engine.model.project.fingerprint != wanted:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the model of {wanted[:12]} did not serve in {limit:g} s")
        await asyncio.sleep(POLL)


async def measure(examples: int, runs: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-bot-") as tmp:
        root = Path(tmp) / "project"
        count = generate(root, examples)
        cache = Path(tmp) / "cache"
        started = time.perf_counter()
        model = await asyncio.to_thread(load_or_train, root, cache)
        first = time.perf_counter() - started
        engine = EmbeddedInterpreter(root, cache, model)
        watcher: list[float] = []
        button: list[float] = []
        # CPU seconds of this process per save: what a save costs whatever else shares the
        # cores (the wall-clock figures grow with the machine's load).
        cpu: list[float] = []
        try:
            engine.start_watching()
            for n in range(runs):
                wanted = save(root, n)
                began, spent = time.perf_counter(), time.process_time()
                await serving(engine, wanted)
                watcher.append(time.perf_counter() - began)
                cpu.append(time.process_time() - spent)
                print(f"  {count} examples: watcher run {n + 1}: {watcher[-1]:.2f} s", flush=True)
        finally:
            await engine.close()
        engine = EmbeddedInterpreter(root, cache, engine.model)
        try:
            for n in range(runs):
                wanted = save(root, 1000 + n)
                began, spent = time.perf_counter(), time.process_time()
                await engine.reload()
                await serving(engine, wanted)
                button.append(time.perf_counter() - began)
                cpu.append(time.process_time() - spent)
                print(f"  {count} examples: train run {n + 1}: {button[-1]:.2f} s", flush=True)
        finally:
            await engine.close()
    return {
        "examples": count,
        "intents": len(model.project.intents),
        "first": first,
        "watcher": watcher,
        "button": button,
        "cpu": cpu,
    }


def _figures(values: list[float]) -> str:
    return f"{statistics.median(values):.1f} s (min {min(values):.1f}, max {max(values):.1f})"


def main(write: bool = False) -> None:
    rows = []
    for size in SIZES:
        print(f"bot training: {size} examples", flush=True)
        rows.append(asyncio.run(measure(size, RUNS)))
    lines = [
        "## Bot: from save to the new model serving (embedded)",
        "",
        f"Command: `make bench` (or `python -m bench.bot_training`). Machine: {machine()}",
        "",
        f"Projects generated from the shipped one; {RUNS} save{'s' if RUNS != 1 else ''} each"
        " (one example appended to"
        f" data/nlu.yml), every save trained afresh. Watcher: the engine notices the change"
        f" (it looks every {WATCH_SECONDS:g} s), trains in a thread and swaps the model in;"
        " train: the console's Train pressed right after the save. Load average when done:"
        f" {os.getloadavg()[0]:.1f} (trainings share the cores with whatever else runs).",
        "",
        "| examples | intents | first training | save → serving (watcher) | save → serving"
        " (Train) | CPU per save |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['examples']:,} | {row['intents']} | {row['first']:.1f} s"
            f" | {_figures(row['watcher'])} | {_figures(row['button'])}"
            f" | {statistics.median(row['cpu']):.1f} s |"
        )
    section = "\n".join(lines)
    if write:
        publish(section, MARK_START, MARK_END)
    else:
        print(section, flush=True)


if __name__ == "__main__":
    main()
