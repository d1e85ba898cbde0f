"""A resolve does not wipe what the visitor saw: a page that asks for history (hello
``history: true``) gets the visitor's earlier conversations in a ``history`` frame, then the
current conversation, then ``synced``; agents' messages carry their name, and the survey's
steps their ``csat``. Over a real WebSocket against a real server and Postgres."""

from __future__ import annotations

from typing import Any

from websockets.asyncio.client import ClientConnection

from server.services import demo
from tests.channels.webchat_client import new_session, next_frame, next_of, open_socket, text
from tests.harness import RunningServer
from tests.web_console.brands import person, signed_in


async def _hello(ws: ClientConnection, token: str, **extra: Any) -> dict[str, Any]:
    await ws.send(text({"type": "hello", "token": token, **extra}))
    welcome = await next_frame(ws)
    assert welcome["type"] == "welcome", welcome
    return welcome


async def test_a_new_page_gets_the_earlier_conversations_then_the_current_one(
    server: RunningServer,
) -> None:
    session = await new_session(server.base_url, language="fr")
    assert session["greeting"] == "Bonjour ! Comment pouvons-nous vous aider ?"
    async with await open_socket(server.ws_url) as ws:
        await _hello(ws, session["token"])
        await ws.send(text({"type": "message", "client_id": "c1", "text": "Parcel late"}))
        ack = await next_of(ws, "ack")
    first = ack["conversation_id"]
    await server.services.pipeline.settled()
    sam = await signed_in(server, await person(server, demo.BRAND_SLUG, "supervisor"))
    path = f"/console/api/conversations/{first}"
    assert (await sam.post(f"{path}/claim")).status_code == 200
    sent = await sam.post(f"{path}/messages", json={"text": "On its way", "client_id": "s1"})
    assert sent.status_code in (200, 201), sent.text
    assert (await sam.post(f"{path}/resolve")).status_code == 200
    async with await open_socket(server.ws_url) as ws:
        await _hello(ws, session["token"])
        await ws.send(text({"type": "message", "client_id": "c2", "text": "Another question"}))
        second = (await next_of(ws, "ack"))["conversation_id"]
    assert second != first
    await server.services.pipeline.settled()

    async with await open_socket(server.ws_url) as ws:
        welcome = await _hello(ws, session["token"], history=True)
        assert welcome["conversation_id"] == second
        history = await next_frame(ws)
        assert history["type"] == "history"
        earlier = history["messages"]
        assert {m["conversation_id"] for m in earlier} == {first}
        assert [m["id"] for m in earlier] == sorted(m["id"] for m in earlier)
        assert earlier[0]["text"] == "Parcel late"
        agent = next(m for m in earlier if m["author_kind"] == "agent")
        assert agent["text"] == "On its way"
        assert agent["author_name"] == f"supervisor of {demo.BRAND_SLUG}"
        assert [m.get("csat") for m in earlier[-2:]] == [None, "asked"]  # closing, question
        current: list[dict[str, Any]] = []
        while (frame := await next_frame(ws))["type"] != "synced":
            assert frame["type"] == "message", frame
            current.append(frame["message"])
        assert current[0]["text"] == "Another question"
        assert {m["conversation_id"] for m in current} == {second}

    # A page that does not ask (a reconnect) gets neither.
    async with await open_socket(server.ws_url) as ws:
        await _hello(ws, session["token"], conversation_id=second, last_seq=0)
        assert (await next_frame(ws))["type"] == "message"
    await sam.aclose()
