"""The health port (server/http/health.py): the main port's /readyz, /healthz and /metrics on a
listener of their own, so the proxy's checks do not wait behind a storm's connections."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.responses import PlainTextResponse
from starlette.types import Receive, Scope, Send

from server.http import health, shutdown
from server.http.app import asgi_app
from server.http.health import HealthPort
from tests.harness import RunningServer


@contextlib.asynccontextmanager
async def health_port(server: RunningServer) -> AsyncIterator[tuple[str, shutdown.Drain]]:
    """A health port over the node's app as `switchboard serve` wraps it (draining)."""
    drain = shutdown.Drain(600)
    port = HealthPort(
        shutdown.not_ready_while_draining(asgi_app(server.services), drain), "127.0.0.1", 0
    )
    await port.start()
    try:
        yield f"http://127.0.0.1:{port.port}", drain
    finally:
        await port.stop()


async def test_it_answers_what_the_main_port_answers(server: RunningServer) -> None:
    async with (
        health_port(server) as (url, _),
        httpx.AsyncClient(base_url=url) as checks,
        httpx.AsyncClient(base_url=server.base_url) as main,
    ):
        ready = await checks.get("/readyz")
        assert ready.status_code == 200
        assert ready.headers["connection"] == "close"
        assert ready.headers["content-type"] == "application/json"
        assert ready.json().keys() == (await main.get("/readyz")).json().keys()
        assert ready.json()["ready"] is True
        assert ready.json()["database"]["ok"] is True
        assert (await checks.get("/healthz")).text == "ok"
        assert "switchboard_event_loop_lag_seconds" in (await checks.get("/metrics")).text
        head = await checks.head("/readyz")
        assert (head.status_code, head.content) == (200, b"")


async def test_it_serves_nothing_but_the_operator_paths(server: RunningServer) -> None:
    async with health_port(server) as (url, _), httpx.AsyncClient(base_url=url) as checks:
        for path in ("/", "/console", "/console/api/queue", "/openapi.json", "/api/admin/brands"):
            assert (await checks.get(path)).status_code == 404, path
        assert (await checks.post("/api/webchat/sessions", json={})).status_code == 404
        refused = await checks.post("/readyz")
        assert (refused.status_code, refused.headers["allow"]) == (405, "GET, HEAD")


async def test_a_draining_node_is_unready_there_too(server: RunningServer) -> None:
    async with health_port(server) as (url, drain), httpx.AsyncClient(base_url=url) as checks:
        drain.begin()
        answer = await checks.get("/readyz")
    assert answer.status_code == 503
    assert answer.json() == {"ready": False, "draining": True}


async def test_a_client_that_never_finishes_its_request_is_closed_and_holds_no_one_up(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(health, "REQUEST_SECONDS", 0.3)
    async with health_port(server) as (url, _), httpx.AsyncClient(base_url=url) as checks:
        port = int(url.rsplit(":", 1)[1])
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /readyz HTTP/1.1\r\n")  # and never the blank line
        await writer.drain()
        assert (await checks.get("/healthz")).status_code == 200  # served meanwhile
        async with asyncio.timeout(3):
            assert await reader.read() == b""  # closed unanswered
        await _close(writer)


async def test_past_its_bound_a_connection_is_closed_unanswered(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(health, "MAX_CONNECTIONS", 1)
    async with health_port(server) as (url, _):
        port = int(url.rsplit(":", 1)[1])
        _, holding = await asyncio.open_connection("127.0.0.1", port)
        await asyncio.sleep(0.1)  # accepted: the one place taken
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /healthz HTTP/1.0\r\n\r\n")
        async with asyncio.timeout(3):
            try:
                answer = await reader.read()
            except ConnectionResetError:  # closed with the request unread
                answer = b""
        assert answer == b""
        await _close(writer)
        await _close(holding)


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()


async def test_a_malformed_request_line_is_400(server: RunningServer) -> None:
    async with health_port(server) as (url, _):
        port = int(url.rsplit(":", 1)[1])
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"HELLO\r\n\r\n")
        async with asyncio.timeout(3):
            assert (await reader.read()).startswith(b"HTTP/1.1 400 Bad Request\r\n")
        await _close(writer)


async def test_an_app_that_fails_closes_that_connection_and_the_port_serves_on() -> None:
    calls = 0

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("a bug")
        await PlainTextResponse("ok")(scope, receive, send)

    port = HealthPort(app, "127.0.0.1", 0)
    await port.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port.port}") as checks:
            with pytest.raises(httpx.RemoteProtocolError):
                await checks.get("/healthz")
            assert (await checks.get("/healthz")).text == "ok"
    finally:
        await port.stop()
