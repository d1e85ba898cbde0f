"""What every part of `make bench` shares: percentiles, the machine line, and its section of
bench/RESULTS.md (between its own markers, so each part can be re-run alone)."""

from __future__ import annotations

import contextlib
import functools
import platform
from pathlib import Path

import psutil

from bench import fsync, sizes

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo ("" where there is none)."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return ""


@functools.cache
def machine() -> str:
    """ "2 cores (AMD EPYC), 24 GiB, Linux-…, Python 3.11.7, fsync 1.20 ms median, …": what
    the figures were measured on, with what one durable write costs there (measured once per
    run, before any load)."""
    memory = psutil.virtual_memory().total / 2**30
    model = cpu_model()
    return (
        f"{psutil.cpu_count()} cores{f' ({model})' if model else ''}, {memory:.0f} GiB,"
        f" {platform.platform()}, Python {platform.python_version()},"
        f" {fsync.measure().describe()}"
    )


def write(section: str, start: str, end: str) -> None:
    """Replace the part of bench/RESULTS.md between the markers (append it the first time);
    a smoke run's figures mean nothing, so it writes nothing."""
    if sizes.SMOKE:
        print("\nBENCH_SIZE=smoke: bench/RESULTS.md left as it is")
        return
    text = RESULTS.read_text() if RESULTS.exists() else ""
    if start in text and end in text:
        head, rest = text.split(start, 1)
        tail = rest.split(end, 1)[1]
    else:
        head, tail = text.rstrip() + "\n\n", "\n"
    RESULTS.write_text(f"{head}{start}\n{section}\n{end}{tail}")
    print("\nwritten to bench/RESULTS.md", flush=True)


def publish(section: str, start: str, end: str) -> None:
    """Print a part's section and write it into bench/RESULTS.md."""
    print(section, flush=True)
    write(section, start, end)
