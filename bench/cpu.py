"""The CPU a run took from each process that shares the machine's cores, in cores (CPU
seconds per second of the run): what the server, PostgreSQL and the load generator each used,
so a figure says whether the server ran out of CPU or waited on something else.

Each process is counted with its descendants (PostgreSQL's backends, a server's worker
processes), from ``psutil`` snapshots at the start and the end; a descendant that exits in
between loses its share, one started in between counts from zero.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

import psutil


def postmaster(pgdata: Path) -> int:
    """The pid of the PostgreSQL server running on ``pgdata`` (postmaster.pid's first line)."""
    return int((pgdata / "postmaster.pid").read_text().split()[0])


def _times(root: int) -> dict[int, float]:
    """CPU seconds (user + system) of ``root`` and each of its live descendants, by pid."""
    found: dict[int, float] = {}
    with contextlib.suppress(psutil.NoSuchProcess):
        parent = psutil.Process(root)
        for proc in [parent, *parent.children(recursive=True)]:
            with contextlib.suppress(psutil.NoSuchProcess):
                t = proc.cpu_times()
                found[proc.pid] = t.user + t.system
    return found


class Meter:
    """Started with the root pids to watch by name; ``cores()`` gives each one's share since."""

    def __init__(self, roots: dict[str, int]) -> None:
        self._roots = roots
        self._before = {name: _times(pid) for name, pid in roots.items()}
        self._started = time.monotonic()

    def cores(self) -> dict[str, float]:
        elapsed = max(time.monotonic() - self._started, 1e-9)
        used = {}
        for name, pid in self._roots.items():
            before = self._before[name]
            after = _times(pid)
            used[name] = sum(t - before.get(p, 0.0) for p, t in after.items()) / elapsed
        return used
