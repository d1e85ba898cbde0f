"""bench/cpu.py: the CPU split beside the webhook figures (behaviour only, no figure asserted)."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil

from bench import cpu

# A parent that only waits on a child that only computes.
PARENT = (
    "import subprocess, sys; subprocess.run([sys.executable, '-c', 'while True: pass'], timeout=30)"
)


@contextlib.contextmanager
def computing_child() -> Iterator[int]:
    """A parent that only waits on a child that only computes, once the child is there: the
    parent's pid. Both are killed at the end."""
    parent = subprocess.Popen([sys.executable, "-c", PARENT])
    try:
        deadline = time.monotonic() + 30
        while not psutil.Process(parent.pid).children() and time.monotonic() < deadline:
            time.sleep(0.05)
        yield parent.pid
    finally:
        for child in psutil.Process(parent.pid).children(recursive=True):
            child.kill()
        parent.kill()
        parent.wait()


def test_a_process_is_counted_with_the_cpu_of_its_descendants() -> None:
    with computing_child() as parent:
        meter = cpu.Meter({"parent": parent})
        time.sleep(0.5)
        used = meter.cores()
    assert set(used) == {"parent"}
    assert used["parent"] > 0


def test_a_process_that_is_gone_counts_nothing() -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    meter = cpu.Meter({"gone": gone.pid})
    assert meter.cores() == {"gone": 0.0}


def test_the_postmaster_is_read_from_its_pid_file(tmp_path: Path) -> None:
    (tmp_path / "postmaster.pid").write_text("4242\n/tmp/pgdata\n1700000000\n5432\n")
    assert cpu.postmaster(tmp_path) == 4242


def test_a_process_counted_alone_leaves_out_its_descendants() -> None:
    """The load generator starts the servers it measures: counted alone, their CPU is not
    counted again as the generator's."""
    with computing_child() as parent:
        meter = cpu.Meter({"with": parent}, alone={"alone": parent})
        time.sleep(0.5)
        used = meter.cores()
    assert set(used) == {"with", "alone"}
    assert used["with"] > used["alone"]
