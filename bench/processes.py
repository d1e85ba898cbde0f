"""The processes a benchmark starts (Switchboard, a bare baseline, an echo server, Rasa): each
runs from the repository root, says it is ready (a line on stdout, or an HTTP answer), and is
stopped on the way out.

A child that exits before it is ready is an error that names its command and quotes the end
of its stderr: stderr goes to a temporary file, never to /dev/null, and stdout is read by a
thread (so a full pipe never blocks the child) that keeps only its last lines.
"""

from __future__ import annotations

import collections
import contextlib
import os
import queue
import random
import shlex
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
# Rasa loads its model in about a minute on two idle cores, and took over three while
# other test runs shared them.
READY_TIMEOUT = 600.0
TAIL_LINES = 40
TAIL_BYTES = 4000
SERVE = [sys.executable, "-m", "server.cli", "serve"]
LISTENING = "Switchboard is listening on "


# Its own generator: a test that seeds `random` must not make two workers pick alike.
_PORTS = random.SystemRandom()


def free_port() -> int:
    """A loopback port free right now (for programs that cannot be told to pick port 0).

    Chosen at random below the kernel's ephemeral range, not by binding port 0: a port from
    that range is the next one any outgoing connection may take as its local port, and Rasa
    binds its port a minute or more after it is chosen ("Errno 98" between pytest workers)."""
    low, _high = _ephemeral_range()
    for _ in range(200):
        port = _PORTS.randrange(max(1024, low - 12_000), low)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as s:  # the range is crowded: let the kernel choose
        s.bind(("127.0.0.1", 0))
        chosen: int = s.getsockname()[1]
        return chosen


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999  # Linux's default


def stop(proc: subprocess.Popen[Any], grace: float) -> None:
    """SIGTERM, then SIGKILL if it has not exited within ``grace`` seconds."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class Child:
    """A started process: its stdout lines come through a bounded queue, its stderr goes to a
    temporary file, and a failure to start says which command failed and why."""

    def __init__(self, popen: subprocess.Popen[str], command: str, stderr: IO[bytes]) -> None:
        self.popen = popen
        self.command = command
        self._stderr = stderr
        # Lines wait here until someone looks for one; past the bound they are only kept in
        # the tail (nobody reads a server's stdout once it is ready).
        self._lines: queue.Queue[str] = queue.Queue(maxsize=1000)
        self._tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
        self._closed = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        return self.popen.pid

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            self._tail.append(line)
            with contextlib.suppress(queue.Full):
                self._lines.put_nowait(line)
        self.popen.stdout.close()
        self._closed.set()

    def join(self) -> None:
        """Once the child has exited: wait for the reader to reach the end of stdout."""
        self._reader.join(5)

    def line(self, prefix: str, timeout: float = READY_TIMEOUT) -> str:
        """The next stdout line starting with ``prefix``, stripped."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._lines.get(timeout=0.1)
            except queue.Empty:
                if self._closed.is_set() and self._lines.empty():
                    raise self.failure(f"exited before printing {prefix!r}") from None
                if time.monotonic() > deadline:
                    raise self.failure(f"printed no {prefix!r} within {timeout:g} s") from None
                continue
            if line.startswith(prefix):
                return line.strip()

    def until_http(self, url: str, timeout: float = READY_TIMEOUT) -> None:
        """Wait until ``url`` answers 200."""
        deadline = time.monotonic() + timeout
        while True:
            if self.popen.poll() is not None:
                raise self.failure(f"exited before {url} answered")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url, timeout=2).status_code == 200:
                    return
            if time.monotonic() > deadline:
                raise self.failure(f"{url} did not answer within {timeout:g} s")
            time.sleep(0.5)

    def failure(self, what: str) -> RuntimeError:
        """The error for a child that did not get ready: its command, its exit status, and
        the end of its stderr and stdout."""
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(2)  # a child that is exiting has its status in a moment
        status = self.popen.returncode
        how = "still running" if status is None else f"exit status {status}"
        self._stderr.flush()
        size = self._stderr.seek(0, os.SEEK_END)
        self._stderr.seek(max(0, size - TAIL_BYTES))
        errors = self._stderr.read().decode(errors="replace").rstrip()
        output = "".join(self._tail).rstrip()
        return RuntimeError(
            f"`{self.command}` {what} ({how})"
            f"\n--- end of its stderr ---\n{errors or '(empty)'}"
            + (f"\n--- end of its stdout ---\n{output}" if output else "")
        )


@contextlib.contextmanager
def started(
    args: list[str], env: dict[str, str], grace: float = 20, cwd: Path = ROOT
) -> Iterator[Child]:
    """Start ``args`` (with ``env`` over this environment) and stop it (SIGTERM, then SIGKILL
    after ``grace`` seconds) when done."""
    with tempfile.TemporaryFile() as stderr:
        proc = subprocess.Popen(
            args,
            cwd=cwd,
            env={**os.environ, **env},
            text=True,
            stdout=subprocess.PIPE,
            stderr=stderr,
            stdin=subprocess.DEVNULL,
        )
        child = Child(proc, shlex.join(args), stderr)
        try:
            yield child
        finally:
            stop(proc, grace=grace)
            child.join()


@contextlib.contextmanager
def process(
    args: list[str], env: dict[str, str], ready_prefix: str, grace: float = 20
) -> Iterator[tuple[Child, str]]:
    """Start ``args`` and yield it with its first stdout line starting ``ready_prefix``."""
    with started(args, env, grace) as child:
        yield child, child.line(ready_prefix)


@dataclass
class Switchboard:
    child: Child
    base_url: str
    smtp_port: int | None  # None: SMTP is off


@contextlib.contextmanager
def switchboard(
    env: dict[str, str], *, demo: bool = False, grace: float = 30
) -> Iterator[Switchboard]:
    """`switchboard serve` with HTTP and SMTP on ports of its own (port 0: the kernel picks
    free ones, so two servers, or a server and a baseline, never collide); yields its URL and
    SMTP port once it has announced them."""
    args = [*SERVE, "--port", "0", "--smtp-port", "0", *(["--demo"] if demo else [])]
    with started(args, env, grace) as child:
        base_url = child.line(LISTENING).split()[-1]
        smtp_port = None
        # The announcement ends with the admin API line; SMTP is listed before it when on.
        while not (line := child.line("  ")).startswith("admin API"):
            if line.startswith("inbound SMTP"):
                smtp_port = int(line.rsplit(":", 1)[1])
        yield Switchboard(child, base_url, smtp_port)
