"""`make bench` runs: each part starts, finishes and prints its figures at smoke size
(BENCH_SIZE=smoke: a few messages, under a second per step). Behaviour only: the figures of a
smoke run mean nothing and no timing is asserted."""

from __future__ import annotations

import ast
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench import nlu
from bench.processes import process

ROOT = Path(__file__).resolve().parents[2]
# What each part prints as its figures' first lines (the report's command and machine line).
PARTS = {
    "ws": "Command: `make bench` (BENCH_IDLE=40,",
    "routing": "Command: `make bench` (or `python -m bench.routing`). Machine: ",
    "mail": "Command: `make bench` (or `python -m bench.mail`). Machine: ",
    "webhooks": "Command: `make bench` (or `python -m bench.webhooks`). Machine: ",
    "startup": "Command: `make bench` (or `python -m bench.startup`). Machine: ",
    "nlu": "Command: `make bench` (or `python -m bench.nlu`), BENCH_NLU_FOLDS=2. Machine: ",
    "embeddings": "Command: `make bench` (or `python -m bench.embeddings`). Machine: ",
    "suggestions": "Command: `make bench` (or `python -m bench.suggestions`). Machine: ",
    "fanout": "Command: `make bench` (or `python -m bench.fanout`). Machine: ",
    "search": "Command: `make bench` (or `python -m bench.search`). Machine: ",
    "paint": "Command: `make bench` (or `python -m bench.first_paint`). Machine: ",
    "kb": "Command: `make bench` (or `python -m bench.kb_search`). Machine: ",
    "analytics": "Command: `make bench` (or `python -m bench.analytics`). Machine: ",
    "bot": "Command: `make bench` (or `python -m bench.bot_training`). Machine: ",
}
# Other lines a part must print, by their start: the NLU part's parse latency beside Rasa's
# for the shipped out-of-scope sets (issue 17's 10x target for the engine's dearest parse).
LINES = {
    "nlu": ["Parse wall time, the shipped out-of-scope sets ("],
}


def _rasa_missing() -> str | None:
    try:
        nlu.rasa_model()
    except RuntimeError as exc:
        return str(exc)
    return None


@pytest.mark.parametrize("part", PARTS)
def test_each_part_runs_at_smoke_size_and_prints_its_figures(part: str) -> None:
    if part == "nlu" and (missing := _rasa_missing()):
        pytest.skip(f"the NLU part needs Rasa's cached model: {missing}")
    if part == "webhooks" and shutil.which("wrk") is None:
        pytest.skip("the webhook part needs wrk: `make bench-deps` installs it")
    env = {k: v for k, v in os.environ.items() if not k.startswith("BENCH_")}
    env |= {"BENCH_SIZE": "smoke", "BENCH_ONLY": part, "PYTHONUNBUFFERED": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "bench"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    figures = [line for line in done.stdout.splitlines() if line.startswith(PARTS[part])]
    assert figures, done.stdout[-3000:]
    for start in LINES.get(part, []):
        found = [line for line in done.stdout.splitlines() if line.startswith(start)]
        assert found, f"no line starting {start!r}: {done.stdout[-3000:]}"
        assert "embedded p50" in found[0]
        assert "Rasa over HTTP p50" in found[0]
        assert "p50 latency Rasa/embedded:" in found[0]
        assert "(target ≥ 10x)" in found[0]
    assert "| " in done.stdout  # its table
    assert "BENCH_SIZE=smoke: bench/RESULTS.md left as it is" in done.stdout


def test_a_child_that_exits_before_it_is_ready_is_named_with_its_stderr() -> None:
    script = "import sys; sys.stderr.write('OSError: address already in use\\n'); sys.exit(3)"
    command = [sys.executable, "-c", script]
    with pytest.raises(RuntimeError) as raised, process(command, {}, "ready"):
        pass
    message = str(raised.value)
    assert shlex.join(command) in message
    assert "exit status 3" in message
    assert "OSError: address already in use" in message


def test_bench_imports_nothing_from_the_tests() -> None:
    imported = []
    for path in sorted((ROOT / "bench").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported += [(path.name, alias.name) for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported.append((path.name, node.module))
    assert [(f, m) for f, m in imported if m == "tests" or m.startswith("tests.")] == []
