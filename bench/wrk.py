"""Debian's `wrk` as the webhook part's load generator: a C program on its own threads, so the
figures measure the server and not the client (the Python client it replaces peaked at 339
requests/s against the bare endpoint).

Each request is built by bench/webhook_load.lua (a distinct update or a freshly signed event);
its ``done()`` prints one ``BENCH-WRK {json}`` line, read back here as a `Load`.
"""

from __future__ import annotations

import asyncio
import resource
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = Path(__file__).resolve().parent / "webhook_load.lua"
MARK = "BENCH-WRK "
# One wrk thread drives tens of thousands of requests a second; a second thread would only
# take CPU from the server on a 2-core machine.
THREADS = 1
# Slack's own deadline is 3 s; a longer timeout shows a slow ack as latency, not as an error.
TIMEOUT = "10s"


class WrkMissing(RuntimeError):
    """wrk is not installed (`make bench-deps` installs it)."""


@dataclass(frozen=True)
class Load:
    """What one wrk run measured."""

    command: str  # as a reader would type it from the repository root (bench-only secrets)
    requests: int  # responses received
    seconds: float
    non2xx: int
    socket_errors: int  # connect, read and write errors and timeouts
    generated: int  # requests built (some may still have been in flight at the end)
    p50_ms: float
    p99_ms: float
    first_failure: str  # the first non-2xx status and the start of its body
    cores: float  # wrk's own CPU seconds per second of the run

    @property
    def acknowledged(self) -> int:
        return self.requests - self.non2xx

    @property
    def rate(self) -> float:
        """2xx answers a second: a refusal (a 503 under back-pressure, a 401) is not ingest."""
        return self.acknowledged / self.seconds


def command(url: str, kind: str, secret: str, *, seconds: int, connections: int) -> list[str]:
    return [
        "wrk",
        f"--threads={THREADS}",
        f"--connections={connections}",
        f"--duration={seconds}s",
        f"--timeout={TIMEOUT}",
        "--latency",
        f"--script={SCRIPT.relative_to(ROOT)}",
        url,
        "--",
        kind,
        secret,
        str(THREADS),
    ]


async def run(url: str, kind: str, secret: str, *, seconds: int, connections: int) -> Load:
    """POST ``kind`` (telegram or slack) webhooks to ``url`` for ``seconds``."""
    if shutil.which("wrk") is None:
        raise WrkMissing("wrk is not installed: `make bench-deps` installs it from Debian")
    args = command(url, kind, secret, seconds=seconds, connections=connections)
    # wrk's CPU time: the children this process reaps while it runs are wrk alone.
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = await asyncio.create_subprocess_exec(
        *args,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    text = out.decode(errors="replace")
    found = [line for line in text.splitlines() if line.startswith(MARK)]
    if proc.returncode != 0 or not found:
        raise RuntimeError(
            f"`{shlex.join(args)}` failed (exit status {proc.returncode})\n{text}"
            f"{err.decode(errors='replace')}"
        )
    f = orjson.loads(found[-1].removeprefix(MARK))
    seconds_run = f["duration_us"] / 1e6
    return Load(
        command=shlex.join(args),
        requests=f["requests"],
        seconds=seconds_run,
        non2xx=f["non2xx"],
        socket_errors=f["connect_errors"] + f["read_errors"] + f["write_errors"] + f["timeouts"],
        generated=f["generated"],
        p50_ms=f["p50_us"] / 1000,
        p99_ms=f["p99_us"] / 1000,
        first_failure=f["first_failure"],
        cores=cpu / seconds_run if seconds_run else 0.0,
    )
