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


def _times(root: int, descendants: bool = True) -> dict[int, float]:
    """CPU seconds (user + system) of ``root`` and each of its live descendants, by pid (of
    ``root`` alone when not ``descendants``)."""
    found: dict[int, float] = {}
    with contextlib.suppress(psutil.NoSuchProcess):
        parent = psutil.Process(root)
        for proc in [parent, *(parent.children(recursive=True) if descendants else [])]:
            with contextlib.suppress(psutil.NoSuchProcess):
                t = proc.cpu_times()
                found[proc.pid] = t.user + t.system
    return found


class Meter:
    """Started with the root pids to watch by name; ``cores()`` gives each one's share since.

    ``alone``: processes counted without their descendants, by name. The load generator is
    one: it started the servers it measures, which are counted under their own names, and
    counting them again under its name made the web chat's generator look like 43 % of a
    message's cost where it was about a tenth (2026-12-07)."""

    def __init__(self, roots: dict[str, int], alone: dict[str, int] | None = None) -> None:
        self._roots = {name: (pid, True) for name, pid in roots.items()}
        self._roots |= {name: (pid, False) for name, pid in (alone or {}).items()}
        self._before = {name: _times(*root) for name, root in self._roots.items()}
        self._started = time.monotonic()

    def cores(self) -> dict[str, float]:
        elapsed = max(time.monotonic() - self._started, 1e-9)
        used = {}
        for name, root in self._roots.items():
            before = self._before[name]
            after = _times(*root)
            used[name] = sum(t - before.get(p, 0.0) for p, t in after.items()) / elapsed
        return used
