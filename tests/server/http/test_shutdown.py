"""A node's graceful shutdown (issue 21's rolling restart): on SIGTERM it says not-ready at
once and keeps serving, then closes its sockets with 1012 and stops. A real node on a free
port, as `switchboard serve` runs it."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import AsyncIterator

import httpx
import orjson

from server import bootstrap
from server.http import shutdown
from server.http.app import asgi_app, server_config
from server.settings import Settings
from tests.channels.webchat_client import close_code, hello, new_session, next_of, open_socket, text


@contextlib.asynccontextmanager
async def draining_node(
    settings: Settings, seconds: float
) -> AsyncIterator[tuple[shutdown.DrainingServer, asyncio.Task[None], str]]:
    services = await bootstrap.start(settings)
    # As `switchboard serve` does: uvicorn raises the signal it handled again once it has
    # stopped, which this absorbs (else the test process would get the SIGTERM).
    absorbed = signal.signal(signal.SIGTERM, lambda *_: None)
    drain = shutdown.Drain(seconds)
    app = shutdown.not_ready_while_draining(asgi_app(services), drain)
    server = shutdown.DrainingServer(server_config(app, settings), drain)
    serving = asyncio.create_task(server.serve())
    try:
        # uvicorn only exposes a `started` flag (as tests/harness.py waits for it).
        while not server.started:
            if serving.done():
                serving.result()
            await asyncio.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield server, serving, f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await serving
        signal.signal(signal.SIGTERM, absorbed)
        await bootstrap.stop(services)


async def test_sigterm_drains_then_closes_sockets_with_1012_and_stops(settings: Settings) -> None:
    async with draining_node(settings, seconds=600) as (server, serving, base):
        ws_url = base.replace("http://", "ws://")
        session = await new_session(base)
        async with httpx.AsyncClient(base_url=base) as http:
            assert (await http.get("/readyz")).status_code == 200
            widget = await open_socket(ws_url)
            await hello(widget, session["token"])

            server.handle_exit(signal.SIGTERM, None)

            # Not ready at once, so the proxy stops sending new requests here ...
            ready = await http.get("/readyz")
            assert ready.status_code == 503
            assert ready.json() == {"ready": False, "draining": True}
            # ... while what still comes is served: a new visitor's session (the POST the
            # rolling restart answered 502), liveness, and the open socket.
            assert (await new_session(base))["token"]
            assert (await http.get("/healthz")).status_code == 200
            await widget.send(text({"type": "ping"}))
            assert (await next_of(widget, "pong"))["type"] == "pong"
            assert not serving.done()

        # The drain's time is up (as 3 s after the signal by default): the socket is told
        # "service restart", so the widget reconnects elsewhere, and the node stops.
        assert server.drain.deadline is not None
        server.drain.deadline = time.monotonic()
        code, _ = await close_code(widget)
        assert code == 1012
        await serving


async def test_a_second_signal_stops_at_once(settings: Settings) -> None:
    async with draining_node(settings, seconds=600) as (server, serving, base):
        server.handle_exit(signal.SIGTERM, None)
        async with httpx.AsyncClient(base_url=base) as http:
            assert (await http.get("/readyz")).status_code == 503
        server.handle_exit(signal.SIGTERM, None)
        await serving
        assert server.drain.deadline is not None
        assert not server.drain.over()


async def test_without_a_drain_the_first_signal_stops(settings: Settings) -> None:
    async with draining_node(settings, seconds=0) as (server, serving, base):
        async with httpx.AsyncClient(base_url=base) as http:
            answer = await http.get("/readyz")
        assert answer.status_code == 200
        assert orjson.loads(answer.content)["ready"] is True
        server.handle_exit(signal.SIGTERM, None)
        await serving
        assert not server.drain.draining


async def test_stopping_cancels_a_hello_still_being_read(settings: Settings) -> None:
    """A storm's hellos may still be reading when the node stops: stop() cancels them before
    it closes the pool, and no hello reader outlives the node."""
    services = await bootstrap.start(settings)
    reading = asyncio.Event()

    async def read(conn: object, keys: list[tuple[str, str]]) -> dict[tuple[str, str], object]:
        reading.set()
        await asyncio.Event().wait()  # the database never answers
        return {}

    services.webchat_backend._hellos._read = read  # type: ignore[assignment]
    greeting = asyncio.create_task(services.webchat_backend.greet("default", "visitor-1"))
    await reading.wait()
    await asyncio.wait_for(bootstrap.stop(services), 30)
    assert greeting.cancelled()
    assert not [t for t in asyncio.all_tasks() if t.get_name() == "group-read"]
