"""The processes a benchmark starts (Switchboard, a bare baseline, an echo server): each runs
from the repository root, says it is ready with a line on stdout, and is stopped on the way
out."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

from tests.harness import stop_process

ROOT = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def process(
    args: list[str], env: dict[str, str], ready_prefix: str, grace: float = 20
) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """Start ``args`` and yield it with its first stdout line starting ``ready_prefix``; stop
    it (SIGTERM, then SIGKILL after ``grace`` seconds) when done."""
    proc = subprocess.Popen(
        args,
        cwd=ROOT,
        env={**os.environ, **env},
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.PIPE,
    )
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            if line.startswith(ready_prefix):
                yield proc, line.strip()
                break
        else:
            raise RuntimeError(f"{args} exited before it was ready")
    finally:
        stop_process(proc, grace=grace)
