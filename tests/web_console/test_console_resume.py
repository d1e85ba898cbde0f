"""Where a console resumes from (issue 21): never past an event that committed after a higher
id, and checkpoints that also bring what the live stream lost. Real server and Postgres."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest

from server import events
from server.events import Event
from server.store import event_log
from tests.channels.webchat_client import text
from tests.harness import RunningServer
from tests.web_console.console_client import console_socket
from tests.web_console.test_console import agent_http, customer_says

__all__ = ["agent_http"]  # the fixture, used by name


def _late(conversation_id: str, change: str) -> list[Event]:
    return [Event(events.CONVERSATION_UPDATED, conversation_id, {"change": change})]


async def test_an_event_that_commits_after_a_higher_id_is_replayed_on_resume(
    server: RunningServer, agent_http: httpx.AsyncClient
) -> None:
    """Transaction A takes the lower id, B the higher and commits; the console's cursor is
    B's id (the REST read's last_event_id); A commits. Resuming from that cursor must still
    bring A's event (the ids above the cursor alone do not hold it)."""
    conversation_id = await customer_says(server, "hello")
    pool = server.services.pool
    async with pool.acquire() as a, pool.acquire() as b:
        first = a.transaction()
        await first.start()
        [low] = await event_log.store_events(a, _late(conversation_id, "committed last"))
        async with b.transaction():
            [high] = await event_log.store_events(b, _late(conversation_id, "committed first"))
        assert low.id is not None
        assert high.id is not None
        assert low.id < high.id
        cursor = (await agent_http.get("/console/api/conversations")).json()["last_event_id"]
        assert cursor == high.id
        await first.commit()
    ws, result = await console_socket(server, agent_http, cursor)
    await ws.close()
    replayed = [(f["id"], f["data"].get("change")) for f in result["replayed"]]
    assert (low.id, "committed last") in replayed
    # Anything else is a repeat below the cursor (a transaction that ran beside B's), which
    # the console merges by id: never B's own.
    assert all(i <= cursor for i, _ in replayed)
    assert (high.id, "committed first") not in replayed
    # The next safe cursor: everything up to the newest id is now held.
    assert result["welcome"]["last_event_id"] == high.id


async def test_the_replay_brings_the_ids_above_the_cursor_once(
    server: RunningServer, agent_http: httpx.AsyncClient
) -> None:
    """Nothing committed late: a resume brings the events above the cursor, and not the
    cursor's own transaction again."""
    await customer_says(server, "first")
    cursor = (await agent_http.get("/console/api/conversations")).json()["last_event_id"]
    await customer_says(server, "while you were away")
    ws, result = await console_socket(server, agent_http, cursor)
    await ws.close()
    ids = [f["id"] for f in result["replayed"]]
    assert ids == sorted(set(ids))
    assert [i for i in ids if i > cursor], "the events while away"
    assert cursor not in ids
    assert result["welcome"]["last_event_id"] == ids[-1]


async def test_a_checkpoint_first_sends_what_the_live_stream_lost(
    server: RunningServer, agent_http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An event stored and never published (its node died between the two, or Redis was
    away) reaches a connected console on its next ping, before a checkpoint past it."""
    from web_console import hub

    monkeypatch.setattr(hub, "CHECKPOINT_SECONDS", 0.0)
    conversation_id = await customer_says(server, "hello")
    cursor = (await agent_http.get("/console/api/conversations")).json()["last_event_id"]
    ws, result = await console_socket(server, agent_http, cursor)
    async with ws:
        assert result["welcome"]["last_event_id"] == cursor
        async with server.services.pool.acquire() as conn:
            [lost] = await event_log.store_events(conn, _late(conversation_id, "never published"))
        await ws.send(text({"type": "ping"}))
        frames: list[dict[str, Any]] = []
        while not frames or frames[-1]["type"] != "pong":
            frames.append(orjson.loads(await ws.recv()))
    assert [f["type"] for f in frames] == ["event", "checkpoint", "pong"]
    assert frames[0]["id"] == lost.id
    assert frames[1]["last_event_id"] == lost.id
    # Resuming from the checkpoint replays nothing more.
    ws, result = await console_socket(server, agent_http, frames[1]["last_event_id"])
    await ws.close()
    assert result["replayed"] == []


async def test_a_checkpoint_sends_nothing_the_console_had_live(
    server: RunningServer, agent_http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from web_console import hub

    monkeypatch.setattr(hub, "CHECKPOINT_SECONDS", 0.0)
    cursor = (await agent_http.get("/console/api/conversations")).json()["last_event_id"]
    ws, _ = await console_socket(server, agent_http, cursor)
    async with ws:
        await customer_says(server, "live")
        await ws.send(text({"type": "ping"}))
        frames: list[dict[str, Any]] = []
        while not frames or frames[-1]["type"] != "pong":
            frames.append(orjson.loads(await ws.recv()))
    live = [f for f in frames if f["type"] == "event"]
    assert live, "the conversation's events came live"
    assert [f["type"] for f in frames] == ["event"] * len(live) + ["checkpoint", "pong"]
    ids = [f["id"] for f in live]
    assert len(ids) == len(set(ids))
    assert frames[-2]["last_event_id"] >= max(ids)
