"""Real components for tests: Postgres (pgserver), redis-server, and Switchboard servers.

Everything binds to loopback on a free port and stops when its test is done.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import uvicorn

# One copy of the process and loopback helpers, shared with the benchmarks (bench/ may not
# import tests/, so they live there).
from bench.processes import free_port as free_port
from bench.processes import stop as stop_process
from bench.stand_ins import serving as serving
from server import bootstrap
from server.bootstrap import Services
from server.http.app import asgi_app, server_config
from server.services import demo
from server.settings import Settings
from tests.channels.webchat_client import (
    hello,
    new_session,
    next_of,
    open_socket,
    text,
    vouched,
)

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_DB = "switchboard_template"


def dsn_for(base_dsn: str, database: str) -> str:
    """pgserver's URI is postgresql://postgres:@/postgres?host=SOCKETDIR; swap the database."""
    head, _, query = base_dsn.partition("?")
    return f"{head.rsplit('/', 1)[0]}/{database}?{query}"


async def create_template(base_dsn: str) -> None:
    """A migrated, demo-seeded database that each test clones (CREATE DATABASE ... TEMPLATE)."""
    conn = await asyncpg.connect(base_dsn)
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {TEMPLATE_DB}")
        await conn.execute(f"CREATE DATABASE {TEMPLATE_DB}")
    finally:
        await conn.close()
    from server.store import database

    pool = await database.create_pool(dsn_for(base_dsn, TEMPLATE_DB), min_size=1, max_size=2)
    try:
        await database.migrate(pool)
        await demo.seed(pool)
    finally:
        await pool.close()


async def fresh_database(base_dsn: str) -> str:
    name = "t_" + uuid.uuid4().hex[:12]
    conn = await asyncpg.connect(base_dsn)
    try:
        await conn.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE_DB}")
    finally:
        await conn.close()
    return dsn_for(base_dsn, name)


@contextlib.contextmanager
def redis_server(tmp: Path) -> Iterator[str]:
    """A real redis-server on a free loopback port, nothing kept on disk."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is missing: `make system-deps` installs it")
    port = free_port()
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop_process(proc, grace=10)


async def until(condition: Callable[[], Awaitable[bool]], within: float = 10.0) -> None:
    """Wait until ``condition`` holds; fail the test after ``within`` seconds."""
    deadline = time.monotonic() + within
    while not await condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


def settings_for(dsn: str, tmp: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": dsn,
        "data_dir": tmp,
        "secret_key": "test-secret-key-" + "x" * 32,
        "port": 0,
        "allowed_origins": ["http://allowed.test"],
        "db_pool_max": 10,
        "smtp_port": 0,
        # Load tests open hundreds of visitors from 127.0.0.1; the limit's own test lowers it.
        "webchat_sessions_per_minute": 100_000,
        # The core tests exercise the human path with the bot off; the NLU tests turn it on.
        "nlu_engine": "none",
        # The demo data holds an admin, which would retire the bootstrap admin token; the
        # tests of that rule (tests/server/http/test_admin_tokens.py) turn this off.
        "admin_token_always": True,
        # A test server shares two cores with a browser, a database and the other worker:
        # its event loop runs late for reasons of its neighbours, and refusing messages then
        # would only fail the test. The back-pressure's own test turns it on.
        "overload_lag_ms": 0,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@dataclass
class RunningServer:
    services: Services
    base_url: str

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http://", "ws://")


@contextlib.asynccontextmanager
async def run_server(
    settings: Settings, clock: Callable[[], datetime] | None = None
) -> AsyncIterator[RunningServer]:
    """Start Switchboard in this event loop on a free port, as `switchboard serve` does;
    ``clock`` replaces the routing and SLA clock."""
    services = await (bootstrap.start(settings, clock) if clock else bootstrap.start(settings))
    server = uvicorn.Server(server_config(asgi_app(services), settings))
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield RunningServer(services, f"http://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        await task
        await bootstrap.stop(services)


@contextlib.contextmanager
def two_nodes(dsn: str, redis_url: str, data_dir: Path, **extra: str) -> Iterator[tuple[str, str]]:
    """Two `switchboard serve` processes on one Postgres and one Redis; their base URLs.
    ``extra``: more SWITCHBOARD_* variables for both."""
    env = {
        "SWITCHBOARD_DATABASE_URL": dsn,
        "SWITCHBOARD_REDIS_URL": redis_url,
        "SWITCHBOARD_SECRET_KEY": "shared-secret-" + "k" * 32,
        "SWITCHBOARD_DATA_DIR": str(data_dir),
        "SWITCHBOARD_LOG_LEVEL": "WARNING",
        **extra,
    }
    with contextlib.ExitStack() as stack:
        a = stack.enter_context(server_process(env))
        b = stack.enter_context(server_process(env))
        yield a, b


@contextlib.contextmanager
def server_process(env: dict[str, str]) -> Iterator[str]:
    """`switchboard serve --port 0` in its own process; yields its base URL."""
    proc, base = spawn_server(env)
    try:
        yield base
    finally:
        stop_process(proc, grace=20)


async def kill_mid_stream(
    env: dict[str, str],
    enough: Callable[[], Awaitable[bool]],
    pour: Callable[[str], Coroutine[Any, Any, None]] | None = None,
    within: float = 120,
) -> None:
    """Start a node (``spawn_server``), run ``pour(base_url)`` against it until ``enough()``
    holds, then SIGKILL it: no shutdown, no chance to finish anything. The pour then ends
    against the dead node (its senders see the connection go, as real ones would)."""
    proc, base_url = spawn_server(env)
    try:
        pouring = asyncio.create_task(pour(base_url)) if pour is not None else None
        await until(enough, within)
        proc.send_signal(signal.SIGKILL)
        # In a thread: the pour's senders keep running while the kernel reaps the node.
        await asyncio.to_thread(proc.wait, 10)
        if pouring is not None:
            await pouring
    finally:
        stop_process(proc, grace=1)


def spawn_server(env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    """Start `switchboard serve --port 0`; returns the process (the caller stops it) and its
    base URL once it is listening."""
    full_env = {
        **os.environ,
        "SWITCHBOARD_NLU_ENGINE": "none",
        "SWITCHBOARD_SMTP_PORT": "0",
        # Load tests open hundreds of visitors from 127.0.0.1.
        "SWITCHBOARD_WEBCHAT_SESSIONS_PER_MINUTE": "100000",
        # As settings_for: the bootstrap admin token keeps working beside the demo's admin.
        "SWITCHBOARD_ADMIN_TOKEN_ALWAYS": "1",
        # As settings_for: no refusals because the machine, not the node, is busy.
        "SWITCHBOARD_OVERLOAD_LAG_MS": "0",
        **env,
        "SWITCHBOARD_PORT": "0",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "server.cli.main", "serve"],
        cwd=ROOT,
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    lines = []
    deadline = time.monotonic() + 60
    base = None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if line.startswith("Switchboard is listening on "):
            base = line.split()[-1]
            break
    if base is None:
        stop_process(proc, grace=5)
        raise RuntimeError("server did not start:\n" + "".join(lines))
    # Keep draining its output so a full pipe never blocks the server; the pipe is closed
    # when the process has gone (its end of the pipe closes, read returns).
    output = proc.stdout

    def drain() -> None:
        output.read()
        output.close()

    threading.Thread(target=drain, daemon=True).start()
    return proc, base


async def identity_secret(server: RunningServer, inbox: str = "demo-web") -> str:
    """The web chat inbox's identity secret, made when it has none."""
    from server.store import visitors

    async with server.services.pool.acquire() as conn:
        found = await conn.fetchval(
            "SELECT settings->>'identity_secret' FROM inboxes"
            " WHERE channel = 'webchat' AND address = $1",
            inbox,
        )
        if found is None:
            found = (await visitors.set_identity_secret(conn, "webchat", inbox))["identity_secret"]
    assert isinstance(found, str)
    return found


async def customer(server: RunningServer, message: str, email: str | None = None) -> str:
    """A visitor writes ``message``; with ``email`` it is that signed-in customer (the site
    vouches for the address), so two calls with one email are the same customer."""
    extra: dict[str, str] = {}
    if email:
        extra = {"name": email.split("@")[0], **vouched(email, await identity_secret(server))}
    session = await new_session(server.base_url, **extra)
    async with await open_socket(server.ws_url) as ws:
        await hello(ws, session["token"])
        await ws.send(text({"type": "message", "client_id": "c1", "text": message}))
        conversation_id: str = (await next_of(ws, "ack"))["conversation_id"]
    # Bounded, so a message never routed fails its test rather than hanging the run.
    await asyncio.wait_for(server.services.pipeline.settled(), 60)
    return conversation_id
