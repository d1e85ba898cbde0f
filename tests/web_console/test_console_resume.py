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
from tests.web_console.console_client import console_socket, frames_of
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


async def _frames_until(ws: Any, done: Any) -> list[dict[str, Any]]:
    """Frames (a batch's spread out) until ``done(frames)`` holds."""
    frames: list[dict[str, Any]] = []
    while not done(frames):
        frames += frames_of(await ws.recv())
    return frames


async def test_under_traffic_a_console_gets_checkpoints_without_pinging(
    server: RunningServer, agent_http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once the node has delivered CHECKPOINT_EVENTS stored events since a console's last
    checkpoint, the console gets a new one unasked (it never pings here), behind the events
    it covers: resuming from it brings only what came after, and with what the console had
    live, every event of the log once."""
    from web_console import hub

    monkeypatch.setattr(hub, "CHECKPOINT_EVENTS", 10)
    start = (await agent_http.get("/console/api/conversations")).json()["last_event_id"]
    ws, result = await console_socket(server, agent_http, start, batch=True)
    async with ws:
        assert result["welcome"]["last_event_id"] == start
        for i in range(3):
            await customer_says(server, f"message {i}")  # 5 events each, past 10
        frames = result["after"] + await _frames_until(
            ws, lambda fs: any(f["type"] == "checkpoint" for f in fs)
        )
    live = [f["id"] for f in frames if f["type"] == "event"]
    checkpoints = [f["last_event_id"] for f in frames if f["type"] == "checkpoint"]
    cursor = checkpoints[-1]
    assert cursor > start
    # Behind the events it covers: every event up to it came before it, once (the demo
    # agent is an admin: every event reaches its console).
    at = max(i for i, f in enumerate(frames) if f["type"] == "checkpoint")
    before = [f["id"] for f in frames[:at] if f["type"] == "event"]
    assert len(before) == len(set(before))
    async with server.services.pool.acquire() as conn:
        covered = [
            r["id"]
            for r in await conn.fetch(
                "SELECT id FROM events WHERE id > $1 AND id <= $2 ORDER BY id", start, cursor
            )
        ]
    assert set(covered) <= set(before)
    await customer_says(server, "while you were away")
    ws, resumed = await console_socket(server, agent_http, cursor, batch=True)
    await ws.close()
    replayed = [f["id"] for f in resumed["replayed"]]
    assert replayed == sorted(set(replayed))
    # Below the checkpoint, at most a late one it had live (a transaction beside the one
    # that made the checkpoint's id; the console merges by id).
    assert all(i > cursor or i in live for i in replayed)
    assert [i for i in replayed if i > cursor], "what came while away"
    async with server.services.pool.acquire() as conn:
        every = {
            r["id"]
            for r in await conn.fetch(
                "SELECT id FROM events WHERE id > $1 AND id <= $2",
                start,
                resumed["welcome"]["last_event_id"],
            )
        }
    assert every <= set(live) | set(replayed)


async def test_a_replay_sends_what_the_node_delivered_as_it_went_out_and_reads_only_the_rest(
    server: RunningServer, agent_http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While a console watches, the node keeps the frames it delivers; another console that
    resumes from before them gets every event of the log once, in id order, the very frames
    the first had live, none read from the log again. An event deleted from the log since
    (an erasure deletes its conversations' events) is not sent."""
    console_hub = server.services.console_hub
    backend = console_hub._backend
    start = (await agent_http.get("/console/api/conversations")).json()["last_event_id"]
    ws, _ = await console_socket(server, agent_http, start, batch=True)
    async with ws:
        for i in range(2):
            await customer_says(server, f"message {i}")
        async with server.services.pool.acquire() as conn:
            stored = [
                r["id"]
                for r in await conn.fetch("SELECT id FROM events WHERE id > $1 ORDER BY id", start)
            ]
        live = await _frames_until(
            ws, lambda fs: set(stored) <= {f.get("id") for f in fs if f["type"] == "event"}
        )
        read: list[int] = []
        events_by_id = backend.events_by_id

        async def reading(ids: list[int]) -> list[dict[str, Any]]:
            read.extend(ids)
            found: list[dict[str, Any]] = await events_by_id(ids)
            return found

        monkeypatch.setattr(backend, "events_by_id", reading)
        async with server.services.pool.acquire() as conn:
            gone = await conn.fetchval(
                "DELETE FROM events WHERE id = $1 RETURNING id", stored[len(stored) // 2]
            )
        ws2, resumed = await console_socket(server, agent_http, start, batch=True)
        await ws2.close()
    replayed = resumed["replayed"]
    # (Up to the newest of those messages' events: the replay may also bring later ones.)
    ids = [f["id"] for f in replayed if f["id"] <= stored[-1]]
    assert ids == [i for i in stored if i != gone]
    assert [i for i in read if i <= stored[-1]] == [], "each one was delivered here"
    as_live = {f["id"]: f for f in live if f["type"] == "event"}
    assert all(f == as_live[f["id"]] for f in replayed if f["id"] <= stored[-1])
