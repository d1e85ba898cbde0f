"""`make bench`'s start-up part: how long a user waits for the command line and the server,
each figure the median, minimum and maximum of repeated runs, with the command that ran.

- ``switchboard --help``, BENCH_CLI_RUNS times (default 10).
- ``switchboard nlu parse "where is my order"`` on a trained project: the shipped project,
  its embedded model cached under var/nlu by ``switchboard nlu train --no-rasa`` first
  (untimed; it trains nothing when the model is there), then BENCH_CLI_RUNS timed runs. The
  time includes the language detector and sentiment model a real sentence loads.
- ``switchboard serve --demo`` on ports of its own (``--port 0 --smtp-port 0``), from the
  process starting to its "Switchboard is listening on" line, then stopped (SIGTERM). Cold:
  BENCH_COLD_STARTS runs (default 3), each on a fresh data directory (PostgreSQL initialised,
  the schema migrated, the demo seeded, the bot's model trained): the first `make run`.
  Warm: BENCH_WARM_STARTS runs (default 5) on the data directory of the first cold run: a
  `make run` on a machine where it ran before.

Every command runs from the repository root with this environment and the `switchboard`
executable beside this Python (.venv/bin). Run alone with ``python -m bench.startup`` or
BENCH_ONLY=startup make bench.
"""

from __future__ import annotations

import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import orjson

from bench.processes import LISTENING, ROOT, started
from bench.report import machine, publish
from bench.sizes import CLI_RUNS, COLD_STARTS, SMOKE, WARM_STARTS

START, END = "<!-- startup:start -->", "<!-- startup:end -->"
SWITCHBOARD = str(Path(sys.executable).parent / "switchboard")
SENTENCE = "where is my order"
DEFAULT_CACHE = "var/nlu"  # where `switchboard nlu train` and `nlu parse` keep the model
SERVE = ["serve", "--demo", "--port", "0", "--smtp-port", "0"]
CLI_TIMEOUT = 300.0
# The server stops its embedded PostgreSQL on the way out; give it time to do so cleanly,
# so the next start finds the data directory as a user's next `make run` would.
STOP_GRACE = 60.0


@dataclass(frozen=True)
class Timing:
    """One figure: what was timed, how it was run, and the seconds of each run in order."""

    what: str
    command: str
    target: float | None  # seconds, from issue 14
    seconds: list[float]

    def row(self) -> str:
        s = self.seconds
        verdict = (
            "" if self.target is None else ("yes" if statistics.median(s) <= self.target else "no")
        )
        target = "" if self.target is None else f"{self.target:g} s"
        return (
            f"| {self.what} | `{self.command}` | {len(s)} | {statistics.median(s):.2f} s |"
            f" {min(s):.2f} s | {max(s):.2f} s | {s[0]:.2f} s | {target} | {verdict} |"
        )


def run_cli(args: list[str]) -> tuple[float, str]:
    """Run a command to its end; its wall-clock seconds and stdout. A failure names it."""
    began = time.perf_counter()
    done = subprocess.run(
        args,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    elapsed = time.perf_counter() - began
    if done.returncode != 0:
        raise RuntimeError(
            f"`{shlex.join(args)}` failed (exit status {done.returncode})\n{done.stderr[-3000:]}"
        )
    return elapsed, done.stdout


def cli_help() -> Timing:
    seconds = []
    for _ in range(CLI_RUNS):
        elapsed, out = run_cli([SWITCHBOARD, "--help"])
        if "serve" not in out:
            raise RuntimeError(f"`switchboard --help` does not list serve:\n{out}")
        seconds.append(elapsed)
    return Timing("CLI help", "switchboard --help", 2.0, seconds)


def nlu_parse() -> Timing:
    run_cli([SWITCHBOARD, "nlu", "train", "--no-rasa"])
    seconds = []
    for _ in range(CLI_RUNS):
        elapsed, out = run_cli([SWITCHBOARD, "nlu", "parse", SENTENCE])
        if "intent" not in orjson.loads(out):
            raise RuntimeError(f"`switchboard nlu parse` printed no intent:\n{out}")
        seconds.append(elapsed)
    return Timing(
        "NLU parse, trained project",
        f'switchboard nlu parse "{SENTENCE}"',
        2.0,
        seconds,
    )


def serve_until_listening(data_dir: Path) -> float:
    """Start the server on ``data_dir``; seconds until it says it is listening. It is
    stopped before this returns."""
    env = {"SWITCHBOARD_DATA_DIR": str(data_dir)}
    if SMOKE:
        # A smoke run only shows that the part works: its cold starts take the bot's model
        # from var/nlu (trained by nlu_parse) instead of training it, a minute saved per run.
        env["SWITCHBOARD_NLU_CACHE_DIR"] = str(ROOT / DEFAULT_CACHE)
    began = time.perf_counter()
    with started([SWITCHBOARD, *SERVE], env, STOP_GRACE) as child:
        child.line(LISTENING)
        return time.perf_counter() - began


def serve_starts(tmp: Path) -> tuple[Timing, Timing]:
    cold = []
    for n in range(COLD_STARTS):
        cold.append(serve_until_listening(tmp / f"data{n}"))
        print(f"  cold start {n + 1}/{COLD_STARTS}: {cold[-1]:.1f} s", flush=True)
    warm = []
    for n in range(WARM_STARTS):
        warm.append(serve_until_listening(tmp / "data0"))
        print(f"  warm start {n + 1}/{WARM_STARTS}: {warm[-1]:.1f} s", flush=True)
    serve = shlex.join(["switchboard", *SERVE])
    return (
        Timing(
            "server start, cold: a fresh data directory",
            f"SWITCHBOARD_DATA_DIR=<new folder> {serve}",
            None,
            cold,
        ),
        Timing(
            "server start, warm: the data directory of the first cold start",
            f"SWITCHBOARD_DATA_DIR=<that folder> {serve}",
            10.0,
            warm,
        ),
    )


def run() -> str:
    print("start-up: timing the CLI and the server's start", flush=True)
    timings = [cli_help(), nlu_parse()]
    with tempfile.TemporaryDirectory(prefix="sbstart") as tmp:
        timings += serve_starts(Path(tmp))
    return "\n".join(
        [
            f"## Start-up and CLI latency — {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
            "",
            f"Command: `make bench` (or `python -m bench.startup`). Machine: {machine()}. Each"
            f" command run from the repository root with the `switchboard` of .venv/bin, one"
            f" run after the other, wall-clock time; the server's from its process starting to"
            f' its "{LISTENING.strip()}" line (then stopped with SIGTERM before the next run).'
            f" NLU: the embedded engine's model cached under var/nlu (`switchboard nlu train"
            f" --no-rasa` first, untimed).",
            "",
            "| what | command | runs | median | min | max | first run | target (issue 14) |"
            " median within it |",
            "|---|---|---:|---:|---:|---:|---:|---:|---|",
            *(t.row() for t in timings),
        ]
    )


def main() -> None:
    publish(run(), START, END)


if __name__ == "__main__":
    main()
