"""Back-pressure: at capacity a customer's message is refused before anything is stored, the
widget is told to retry later, and /metrics shows the queues and the refusals."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from server.pipeline import flow
from tests.channels.webchat_client import hello, new_session, next_of, open_socket, text
from tests.harness import RunningServer, run_server, settings_for, until


async def test_at_capacity_the_widget_is_told_to_retry_and_nothing_is_stored(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = await new_session(server.base_url)
    async with await open_socket(server.ws_url) as ws:
        await hello(ws, session["token"])
        monkeypatch.setattr(flow, "MAX_IN_FLIGHT", 0)  # every message would have to wait
        await ws.send(text({"type": "message", "client_id": "m1", "text": "hello?"}))
        refused = await next_of(ws, "error")
        assert refused["code"] == "busy"
        assert refused["client_id"] == "m1"
        assert refused["retry_after"] == flow.RETRY_AFTER
        assert await server.services.pool.fetchval("SELECT count(*) FROM messages") == 0

        monkeypatch.setattr(flow, "MAX_IN_FLIGHT", 256)
        await ws.send(text({"type": "message", "client_id": "m1", "text": "hello?"}))
        ack = await next_of(ws, "ack")
        assert (ack["client_id"], ack["duplicate"]) == ("m1", False)
    await server.services.pipeline.settled()
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        metrics = (await http.get("/metrics")).text
    assert 'switchboard_refused_total{channel="webchat"} 1.0' in metrics
    for queue in ("ingest", "route", "mail"):
        assert f'switchboard_queue_depth{{queue="{queue}"}} 0.0' in metrics


async def test_with_a_routing_backlog_new_messages_are_refused_until_it_drains(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Storing is faster than understanding: past MAX_UNROUTED stored messages waiting to be
    routed, a node stops accepting rather than fall further behind."""
    session = await new_session(server.base_url)
    async with await open_socket(server.ws_url) as ws:
        await hello(ws, session["token"])
        monkeypatch.setattr(flow, "MAX_UNROUTED", 0)  # a backlog of none is already too long
        await ws.send(text({"type": "message", "client_id": "m1", "text": "hello?"}))
        assert (await next_of(ws, "error"))["code"] == "busy"
        monkeypatch.setattr(flow, "MAX_UNROUTED", 2000)
        await ws.send(text({"type": "message", "client_id": "m1", "text": "hello?"}))
        assert (await next_of(ws, "ack"))["duplicate"] is False
    assert await server.services.pool.fetchval("SELECT count(*) FROM messages") >= 1


async def test_while_the_event_loop_runs_late_new_messages_are_refused(
    dsn: str, tmp_path: Path
) -> None:
    """A saturated loop reads frames late, where no queue bound sees them: the node watches its
    own lateness (server/pipeline/pressure.py) and refuses until it has caught up."""
    settings = settings_for(dsn, tmp_path, overload_lag_ms=50)
    async with run_server(settings) as server:
        session = await new_session(server.base_url)
        async with await open_socket(server.ws_url) as ws:
            await hello(ws, session["token"])
            assert not server.services.pipeline.saturated  # the watch starts on a first look
            await asyncio.sleep(0)
            # As a burst the loop cannot keep up with would: nothing else runs for a while.
            time.sleep(1.5)  # noqa: ASYNC251 (blocking the loop is the point)
            await until(lambda: _overloaded(server))
            await ws.send(text({"type": "message", "client_id": "m1", "text": "hello?"}))
            refused = await next_of(ws, "error")
            assert (refused["code"], refused["client_id"]) == ("busy", "m1")
            assert await server.services.pool.fetchval("SELECT count(*) FROM messages") == 0
            async with httpx.AsyncClient(base_url=server.base_url) as http:
                metrics = (await http.get("/metrics")).text
            lag = next(
                line
                for line in metrics.splitlines()
                if line.startswith("switchboard_event_loop_lag_seconds ")
            )
            assert float(lag.split()[1]) > 0

            # Caught up: the same message is taken.
            await until(lambda: _caught_up(server))
            await ws.send(text({"type": "message", "client_id": "m1", "text": "hello?"}))
            assert (await next_of(ws, "ack"))["duplicate"] is False
        assert await server.services.pool.fetchval("SELECT count(*) FROM messages") == 1


async def _overloaded(server: RunningServer) -> bool:
    return server.services.pipeline.saturated


async def _caught_up(server: RunningServer) -> bool:
    return not server.services.pipeline.saturated
