"""`switchboard serve` on embedded defaults: starts its own Postgres, shuts down cleanly."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import tempfile

import httpx
import psutil

from tests.channels.webchat_client import close_code, hello, new_session, open_socket
from tests.harness import ROOT, until


def _postgres_running(pgdata: str) -> bool:
    for proc in psutil.process_iter(["name", "cmdline"]):
        if proc.info["name"] == "postgres" and pgdata in " ".join(proc.info["cmdline"] or []):
            return True
    return False


async def test_serve_starts_embedded_postgres_and_sigterm_closes_sockets_and_stops_it() -> None:
    with tempfile.TemporaryDirectory(prefix="sbsd") as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
        env.update(SWITCHBOARD_DATA_DIR=tmp, SWITCHBOARD_PORT="0")
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "server.cli.main",
            "serve",
            "--demo",
            cwd=ROOT,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        assert proc.stdout is not None
        try:
            while not (line := (await proc.stdout.readline()).decode()).startswith(
                "Switchboard is listening on "
            ):
                assert line, "the server exited before listening"
            base = line.split()[-1]
            async with httpx.AsyncClient(base_url=base) as http:
                ready = (await http.get("/readyz")).json()

                # What the first customer message would load, the node loads once it
                # listens, in the background (server/services/warm_up.py); /metrics says so.
                async def warm() -> bool:
                    metrics = (await http.get("/metrics")).text
                    return 'switchboard_warm{part="message vectors"} 1.0' in metrics

                await until(warm, within=60)
            assert ready["database"]["embedded"] is True
            pgdata = f"{tmp}/postgres"  # tempfile paths are already absolute
            assert _postgres_running(pgdata)

            session = await new_session(base)
            ws = await open_socket(base.replace("http://", "ws://"))
            await hello(ws, session["token"])
            proc.send_signal(signal.SIGTERM)
            code, _ = await close_code(ws)
            assert code == 1012  # service restart: the widget reconnects and resumes
            await proc.stdout.read()
            assert await asyncio.wait_for(proc.wait(), 30) == 0
            for _ in range(100):
                if not _postgres_running(pgdata):
                    break
                await asyncio.sleep(0.1)
            assert not _postgres_running(pgdata)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
