"""The embedded Postgres (pgserver) lives exactly as long as the Switchboard processes using it,
even when one of them was killed with SIGKILL and never let go of it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import asyncpg
import psutil

from bench.processes import stop as stop_process
from server.store import database
from tests.harness import ROOT


def _postgres_processes(pgdata: Path) -> list[psutil.Process]:
    """Every live postgres process of ``pgdata``: Postgres runs in its data directory, so the
    backends (whose command lines say only 'postgres: checkpointer' and so on) count too."""
    found = []
    for proc in psutil.process_iter(["name", "cwd", "cmdline", "status"]):
        info = proc.info
        if info["name"] != "postgres" or info["status"] == psutil.STATUS_ZOMBIE:
            continue
        if info["cwd"] == str(pgdata) or str(pgdata) in (info["cmdline"] or []):
            found.append(proc)
    return found


def _eventually(condition: Callable[[], bool], within: float) -> bool:
    """Poll ``condition`` until it holds or ``within`` seconds have passed; its last value."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def _serve(data_dir: Path) -> subprocess.Popen[str]:
    """`switchboard serve` on embedded defaults in ``data_dir``, once it listens."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    env.update(
        SWITCHBOARD_DATA_DIR=str(data_dir),
        SWITCHBOARD_PORT="0",
        SWITCHBOARD_SMTP_PORT="0",
        SWITCHBOARD_NLU_ENGINE="none",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "server.cli.main", "serve"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output = proc.stdout
    assert output is not None
    lines = []
    while line := output.readline():
        lines.append(line)
        if line.startswith("Switchboard is listening on "):
            break
    else:
        stop_process(proc, grace=5)
        output.close()
        raise AssertionError("the server exited before listening:\n" + "".join(lines))

    def drain() -> None:
        # Keep reading so a full pipe never blocks the server; EOF comes when it has exited.
        output.read()
        output.close()

    threading.Thread(target=drain, daemon=True).start()
    return proc


@contextlib.contextmanager
def _data_dir() -> Iterator[Path]:
    """A short temporary data directory (the unix socket's path must stay under ~100 bytes);
    whatever postgres a failing test leaves on it is killed before it is removed."""
    with tempfile.TemporaryDirectory(prefix="sbkill") as tmp:
        data_dir = Path(tmp).resolve()
        try:
            yield data_dir
        finally:
            for proc in _postgres_processes(data_dir / "postgres"):
                with contextlib.suppress(psutil.NoSuchProcess):
                    proc.kill()


def test_after_a_sigkill_the_next_server_stops_the_embedded_postgres_on_sigterm() -> None:
    with _data_dir() as data_dir:
        pgdata = data_dir / "postgres"
        first = _serve(data_dir)
        try:
            assert _postgres_processes(pgdata)
            first.kill()
            first.wait()
            # pg_ctl starts the postmaster in its own session: the SIGKILL orphans it.
            assert _postgres_processes(pgdata)

            second = _serve(data_dir)
            try:
                second.send_signal(signal.SIGTERM)
                assert second.wait(60) == 0
            finally:
                stop_process(second, grace=5)
            assert _eventually(lambda: not _postgres_processes(pgdata), within=30), [
                p.info for p in _postgres_processes(pgdata)
            ]
        finally:
            stop_process(first, grace=5)


def test_a_server_stopping_leaves_the_postgres_another_live_server_uses() -> None:
    with _data_dir() as data_dir:
        pgdata = data_dir / "postgres"
        first = _serve(data_dir)
        try:
            second = _serve(data_dir)
            try:
                second.send_signal(signal.SIGTERM)
                assert second.wait(60) == 0
            finally:
                stop_process(second, grace=5)
            (postmaster,) = [p for p in _postgres_processes(pgdata) if "-D" in p.cmdline()]
            assert postmaster.is_running()

            first.send_signal(signal.SIGTERM)
            assert first.wait(60) == 0
            assert _eventually(lambda: not _postgres_processes(pgdata), within=30)
        finally:
            stop_process(first, grace=5)


async def _answers(dsn: str) -> bool:
    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        return bool(await conn.fetchval("SELECT 1") == 1)
    finally:
        await conn.close()


def test_a_stale_postmaster_pid_naming_another_live_process_is_not_adopted() -> None:
    """After a crash or a reboot, postmaster.pid may name a PID that now belongs to some other
    process: that is no server to adopt, so a fresh one starts and answers."""
    # Not this test's own PID: were it adopted, stopping "the server" would signal it.
    with _data_dir() as data_dir, subprocess.Popen(["sleep", "600"]) as bystander:
        try:
            embedded = database.EmbeddedPostgres(data_dir)
            embedded.start()
            pid_file = data_dir / "postgres" / "postmaster.pid"
            stale = pid_file.read_text().splitlines()
            embedded.stop()
            assert not pid_file.exists()
            pid_file.write_text("\n".join([str(bystander.pid), *stale[1:]]) + "\n")

            dsn = embedded.start()
            try:
                assert asyncio.run(_answers(dsn))
            finally:
                embedded.stop()
            assert bystander.poll() is None
        finally:
            bystander.kill()
        assert _eventually(lambda: not _postgres_processes(data_dir / "postgres"), within=30)
