"""Batch frames (issue 21, the reconnect storm): a console that says ``batch`` in its hello gets
the frames queued for it together in one socket message, in their order, each stored event
once; one that does not gets them one by one, as before."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import orjson
import pytest

from tests.harness import RunningServer
from tests.web_console.console_client import console_socket, frames_of
from tests.web_console.test_console import agent_http, customer_says
from web_console import hub
from web_console.port import Agent

__all__ = ["agent_http"]  # the fixture, used by name


class _Socket:
    """What the client's writer sends, message by message."""

    def __init__(self, expected: int) -> None:
        self.sent: list[str] = []
        self.expected = expected
        self.all_sent = asyncio.Event()

    async def send_text(self, text: str) -> None:
        self.sent.append(text)
        if len(self.frames()) >= self.expected:
            self.all_sent.set()

    def frames(self) -> list[dict[str, Any]]:
        return [frame for message in self.sent for frame in frames_of(message)]


def _event(event_id: int) -> dict[str, Any]:
    return {"type": "event", "id": event_id, "name": "conversation.updated", "data": {}}


async def _written(
    pushed: list[dict[str, Any] | hub.Shared], *, batch: bool, expected: int
) -> _Socket:
    """The messages a client's writer sends for frames queued before it runs."""
    socket = _Socket(expected)
    client = hub.Client(socket, Agent(id="a1", email="a@example.com", name="A"))  # type: ignore[arg-type]
    client.batch = batch
    for frame in pushed:
        client.push(frame)
    writer = asyncio.create_task(client.write_loop())
    try:
        await asyncio.wait_for(socket.all_sent.wait(), 10)
    finally:
        writer.cancel()
    assert client.queue.empty()
    return socket


def _queued() -> list[dict[str, Any] | hub.Shared]:
    typing = {"type": "event", "id": None, "name": "typing", "data": {"active": True}}
    return [
        _event(1),
        hub.Shared(_event(2)),
        typing,
        _event(1),  # sent already: skipped
        _event(3),
        {"type": "welcome", "last_event_id": 3},
    ]


async def test_a_batch_keeps_the_frames_order_and_sends_each_stored_event_once() -> None:
    socket = await _written(_queued(), batch=True, expected=5)
    assert len(socket.sent) == 1
    assert orjson.loads(socket.sent[0])["type"] == "batch"
    frames = socket.frames()
    assert [(f["type"], f.get("id")) for f in frames] == [
        ("event", 1),
        ("event", 2),
        ("event", None),
        ("event", 3),
        ("welcome", None),
    ]


async def test_a_client_without_batch_gets_the_same_frames_one_by_one() -> None:
    batched = await _written(_queued(), batch=True, expected=5)
    single = await _written(_queued(), batch=False, expected=5)
    assert len(single.sent) == 5
    assert all(orjson.loads(message)["type"] != "batch" for message in single.sent)
    assert single.frames() == batched.frames()


async def test_batches_are_bounded_and_a_frame_alone_goes_out_as_itself(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(hub, "BATCH_FRAMES", 2)
    socket = await _written([_event(i) for i in range(1, 6)], batch=True, expected=5)
    kinds = [orjson.loads(message)["type"] for message in socket.sent]
    assert kinds == ["batch", "batch", "event"]
    assert [f["id"] for f in socket.frames()] == [1, 2, 3, 4, 5]


async def test_a_console_that_resumes_with_batches_gets_everything_once(
    server: RunningServer, agent_http: httpx.AsyncClient
) -> None:
    """The same resume with and without batches: the same events, in id order, each once,
    then the same welcome; with batches in fewer socket messages than frames."""
    await customer_says(server, "first")
    cursor = (await agent_http.get("/console/api/conversations")).json()["last_event_id"]
    await customer_says(server, "while you were away")
    await customer_says(server, "and this")
    ws, batched = await console_socket(server, agent_http, cursor, batch=True)
    await ws.close()
    ws, single = await console_socket(server, agent_http, cursor)
    await ws.close()
    ids = [f["id"] for f in batched["replayed"]]
    assert len(ids) == 12
    assert ids == sorted(set(ids))
    assert all(i > cursor for i in ids)
    assert batched["replayed"] == single["replayed"]
    assert batched["welcome"] == single["welcome"]
    assert batched["after"] == []
    assert batched["messages"] < len(ids) + 1, "the replay came in batches"
    assert single["messages"] == len(ids) + 1


async def test_a_batch_console_gets_live_events_in_order_once(
    server: RunningServer, agent_http: httpx.AsyncClient
) -> None:
    last = (await agent_http.get("/console/api/conversations")).json()["last_event_id"]
    ws, result = await console_socket(server, agent_http, last, batch=True)
    async with ws:
        assert result["replayed"] == []
        frames = list(result["after"])
        conversation_id = await customer_says(server, "hi console")
        while "conversation.updated" not in [f.get("name") for f in frames]:
            frames += frames_of(await ws.recv())
    # Up to the conversation's update (its queue.changed may come in the same batch).
    names = [f["name"] for f in frames]
    frames = frames[: names.index("conversation.updated") + 1]
    assert [f["name"] for f in frames] == [
        "message.created",
        "conversation.created",
        "message.interpreted",
        "message.created",
        "conversation.updated",
    ]
    assert all(f["conversation_id"] == conversation_id for f in frames)
    ids = [f["id"] for f in frames]
    assert ids == sorted(set(ids))
