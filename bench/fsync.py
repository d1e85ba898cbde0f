"""What one durable commit costs this machine's disk: small writes, each followed by `fsync`,
timed one by one (median and p99 in ms). A message that waits for k flushes in turn is stored
at most 1 / (k * this) times a second, unless concurrent commits share a flush, so every
part's machine line carries it (bench/report.py).

Measured in a fresh folder under the temporary directory, where every part keeps its
embedded PostgreSQL's data, so the file is on the same disk as the WAL.

Run alone with ``python -m bench.fsync``.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.sizes import FSYNCS

# A WAL record of a small message is a few hundred bytes; PostgreSQL writes it in 8 KiB pages.
WRITE_BYTES = 512


@dataclass(frozen=True)
class FsyncCost:
    count: int
    median_ms: float
    p99_ms: float
    folder: Path

    def describe(self) -> str:
        return (
            f"fsync {self.median_ms:.2f} ms median, {self.p99_ms:.2f} ms p99"
            f" over {self.count} writes of {WRITE_BYTES} B, each followed by fsync, in"
            f" {self.folder}"
        )


def measure(count: int = FSYNCS, folder: Path | None = None) -> FsyncCost:
    """Time ``count`` appends of WRITE_BYTES, each made durable with ``os.fsync``, in a file
    under ``folder`` (default: the temporary directory); the file is removed afterwards."""
    parent = folder or Path(tempfile.gettempdir())
    samples: list[float] = []
    with tempfile.TemporaryDirectory(prefix="sbfsync", dir=parent) as tmp:
        fd = os.open(Path(tmp) / "probe", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            chunk = b"x" * WRITE_BYTES
            for _ in range(count):
                started = time.perf_counter()
                os.write(fd, chunk)
                os.fsync(fd)
                samples.append((time.perf_counter() - started) * 1000)
        finally:
            os.close(fd)
    ordered = sorted(samples)
    return FsyncCost(
        count=count,
        median_ms=statistics.median(ordered),
        p99_ms=ordered[min(count - 1, int(0.99 * count))],
        folder=parent,
    )


if __name__ == "__main__":
    print(measure().describe())
