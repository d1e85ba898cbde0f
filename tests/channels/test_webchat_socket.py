"""The widget's WebSocket against a real server on a free port, with a real Postgres."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import asyncpg
import httpx
import orjson
import pytest
from websockets.exceptions import InvalidStatus

from channels.webchat import protocol as p
from channels.webchat.token import VisitorClaims, VisitorTokens
from server.services.agents import create_agent
from server.services.webchat_backend import WebchatBackendImpl
from server.settings import Settings
from tests.channels.webchat_client import (
    close_code,
    hello,
    new_session,
    next_frame,
    next_of,
    open_socket,
    text,
)
from tests.harness import RunningServer, run_server, settings_for


async def test_a_message_is_acknowledged_and_echoed_with_the_auto_reply_in_order(
    server: RunningServer,
) -> None:
    session = await new_session(server.base_url)
    async with await open_socket(server.ws_url) as ws:
        welcome = await hello(ws, session["token"])
        assert welcome["conversation_id"] is None
        await ws.send(text({"type": "message", "client_id": "c1", "text": "Hi!"}))
        frames = [await next_frame(ws) for _ in range(3)]
    ack = next(f for f in frames if f["type"] == "ack")
    messages = [f["message"] for f in frames if f["type"] == "message"]
    assert ack["client_id"] == "c1"
    assert ack["seq"] == 1
    assert ack["duplicate"] is False
    assert [(m["seq"], m["author_kind"]) for m in messages] == [(1, "customer"), (2, "system")]
    assert messages[0]["client_id"] == "c1"
    assert messages[1]["text"] == server.services.settings.auto_ack_text


async def test_reconnecting_resumes_with_exactly_the_missed_messages_in_order(
    server: RunningServer,
) -> None:
    session = await new_session(server.base_url)
    async with await open_socket(server.ws_url) as ws:
        await hello(ws, session["token"])
        await ws.send(text({"type": "message", "client_id": "c1", "text": "Hello"}))
        frames = [await next_frame(ws) for _ in range(3)]  # ack, own message, auto-reply
    conversation_id = next(f for f in frames if f["type"] == "ack")["conversation_id"]
    agent = await create_agent(
        server.services.pool, email="r@x.test", name="R", password="a-long-test-password"
    )
    for i in range(50):  # sent while the customer is away
        await server.services.pipeline.reply(agent.id, conversation_id, f"reply {i}", f"r{i}")

    async with await open_socket(server.ws_url) as ws:
        welcome = await hello(ws, session["token"], conversation_id, last_seq=2)
        assert welcome["resume_after"] == 2
        got = [(await next_of(ws, "message"))["message"] for _ in range(50)]
        with pytest.raises(TimeoutError):  # and nothing after them
            await next_of(ws, "message", within=0.5)
    assert [m["seq"] for m in got] == list(range(3, 53))
    assert [m["text"] for m in got] == [f"reply {i}" for i in range(50)]


async def test_a_new_tab_without_a_seq_gets_the_whole_conversation(server: RunningServer) -> None:
    session = await new_session(server.base_url)
    async with await open_socket(server.ws_url) as ws:
        await hello(ws, session["token"])
        await ws.send(text({"type": "message", "client_id": "c1", "text": "Hello"}))
        await next_of(ws, "ack")
    async with await open_socket(server.ws_url) as ws:
        welcome = await hello(ws, session["token"])
        assert welcome["conversation_id"] is not None
        assert welcome["resume_after"] == 0
        got = [(await next_of(ws, "message"))["message"]["seq"] for _ in range(2)]
    assert got == [1, 2]


async def test_one_client_id_sent_fifty_times_concurrently_is_stored_once(
    server: RunningServer,
) -> None:
    session = await new_session(server.base_url)
    sockets = [await open_socket(server.ws_url) for _ in range(50)]
    try:
        for ws in sockets:
            await hello(ws, session["token"])
        frame = text({"type": "message", "client_id": "same-id", "text": "once"})
        await asyncio.gather(*(ws.send(frame) for ws in sockets))
        acks = await asyncio.gather(*(next_of(ws, "ack") for ws in sockets))
    finally:
        for ws in sockets:
            await ws.close()
    assert len({a["message_id"] for a in acks}) == 1
    assert sum(not a["duplicate"] for a in acks) == 1
    count = await server.services.pool.fetchval(
        "SELECT count(*) FROM messages WHERE author_kind = 'customer'"
    )
    assert count == 1


async def test_an_agent_typing_reaches_the_widget(server: RunningServer) -> None:
    session = await new_session(server.base_url)
    async with await open_socket(server.ws_url) as ws:
        await hello(ws, session["token"])
        await ws.send(text({"type": "message", "client_id": "c1", "text": "Hi"}))
        conversation_id = (await next_of(ws, "ack"))["conversation_id"]
        await server.services.pipeline.typing(conversation_id, "agent", True)
        typing = await next_of(ws, "typing")
    assert typing == {
        "type": "typing",
        "conversation_id": conversation_id,
        "author_kind": "agent",
        "active": True,
    }


async def test_ping_gets_pong(server: RunningServer) -> None:
    session = await new_session(server.base_url)
    async with await open_socket(server.ws_url) as ws:
        await hello(ws, session["token"])
        await ws.send('{"type":"ping"}')
        assert await next_of(ws, "pong") == {"type": "pong"}


# --- bad input: a precise close code or status, nothing stored, others still served ---

BAD_FRAMES = [
    ("not json", b"{oops", p.CLOSE_BAD_PAYLOAD),
    ("unknown type", orjson.dumps({"type": "shout", "text": "x"}), p.CLOSE_BAD_FRAME),
    ("not an object", b"[1, 2]", p.CLOSE_BAD_FRAME),
    ("missing field", orjson.dumps({"type": "message", "text": "no id"}), p.CLOSE_BAD_FRAME),
    (
        "extra field",
        orjson.dumps({"type": "message", "client_id": "a", "text": "x", "y": 1}),
        p.CLOSE_BAD_FRAME,
    ),
    (
        "blank text",
        orjson.dumps({"type": "message", "client_id": "a", "text": "   "}),
        p.CLOSE_BAD_FRAME,
    ),
    (
        "bad client id",
        orjson.dumps({"type": "message", "client_id": "a b", "text": "x"}),
        p.CLOSE_BAD_FRAME,
    ),
    ("second hello", orjson.dumps({"type": "hello", "token": "t"}), p.CLOSE_BAD_FRAME),
    (
        # Postgres cannot store U+0000: refused at the frame, never "unavailable, retry".
        "NUL in text",
        orjson.dumps({"type": "message", "client_id": "a", "text": "hi\u0000there"}),
        p.CLOSE_BAD_FRAME,
    ),
    (
        "oversized frame",
        orjson.dumps({"type": "message", "client_id": "a", "text": "x" * 70_000}),
        p.CLOSE_TOO_BIG,
    ),
]


@pytest.mark.parametrize(("name", "raw", "code"), BAD_FRAMES, ids=[b[0] for b in BAD_FRAMES])
async def test_a_bad_frame_closes_with_its_code_and_stores_nothing(
    server: RunningServer, name: str, raw: bytes, code: int
) -> None:
    session = await new_session(server.base_url)
    async with await open_socket(server.ws_url, max_size=None) as ws:
        await hello(ws, session["token"])
        await ws.send(raw.decode())
        got, _ = await close_code(ws)
    assert got == code
    assert await server.services.pool.fetchval("SELECT count(*) FROM messages") == 0
    await _still_serving(server)


async def test_a_binary_frame_is_refused_as_unsupported(server: RunningServer) -> None:
    session = await new_session(server.base_url)
    async with await open_socket(server.ws_url) as ws:
        await hello(ws, session["token"])
        await ws.send(b"\x00\x01")
        assert (await close_code(ws))[0] == p.CLOSE_UNSUPPORTED


def _expired_token(server: RunningServer, session: dict[str, str]) -> str:
    settings = server.services.settings
    tokens = VisitorTokens(settings.signing_key(), settings.visitor_token_ttl)
    claims = VisitorClaims(session["visitor_id"], "demo-web")
    issued_at = time.time() - settings.visitor_token_ttl - 60
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("itsdangerous.timed.time.time", lambda: issued_at)
        return tokens.issue(claims)


@pytest.mark.parametrize("kind", ["garbage", "tampered", "expired", "other secret", "not hello"])
async def test_a_bad_token_closes_with_4401_and_stores_nothing(
    server: RunningServer, kind: str
) -> None:
    session = await new_session(server.base_url)
    token = session["token"]
    tokens = {
        "garbage": "not-a-token",
        "tampered": token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB"),
        "expired": _expired_token(server, session),
        "other secret": VisitorTokens("another-secret", 3600).issue(
            VisitorClaims(session["visitor_id"], "demo-web")
        ),
    }
    async with await open_socket(server.ws_url) as ws:
        if kind == "not hello":
            await ws.send(text({"type": "message", "client_id": "a", "text": "hi"}))
            expected = p.CLOSE_BAD_FRAME
        else:
            await ws.send(text({"type": "hello", "token": tokens[kind]}))
            expected = p.CLOSE_UNAUTHORIZED
        code, reason = await close_code(ws)
    assert code == expected
    if kind == "expired":
        assert reason == "token expired"
    assert await server.services.pool.fetchval("SELECT count(*) FROM messages") == 0
    await _still_serving(server)


async def test_a_foreign_origin_is_refused_with_403(server: RunningServer) -> None:
    with pytest.raises(InvalidStatus) as refused:
        await open_socket(server.ws_url, origin="http://evil.test")
    assert refused.value.response.status_code == 403
    async with await open_socket(
        server.ws_url,
        origin="http://allowed.test",
    ) as ws:
        session = await new_session(server.base_url)
        await hello(ws, session["token"])


async def test_too_many_messages_close_with_4429_after_storing_the_allowed_ones(
    dsn: str, tmp_path: Path
) -> None:
    limited = settings_for(dsn, tmp_path, ws_rate_burst=3, ws_rate_per_second=0.1)
    async with run_server(limited) as server:
        session = await new_session(server.base_url)
        async with await open_socket(server.ws_url) as ws:
            await hello(ws, session["token"])
            for i in range(5):
                await ws.send(text({"type": "message", "client_id": f"m{i}", "text": f"spam {i}"}))
            assert (await close_code(ws))[0] == p.CLOSE_RATE_LIMITED
        stored = await server.services.pool.fetchval(
            "SELECT count(*) FROM messages WHERE author_kind = 'customer'"
        )
        assert stored == 3


async def test_typing_frames_count_against_the_rate_limit(dsn: str, tmp_path: Path) -> None:
    limited = settings_for(dsn, tmp_path, ws_rate_burst=3, ws_rate_per_second=0.1)
    async with run_server(limited) as server:
        session = await new_session(server.base_url)
        async with await open_socket(server.ws_url) as ws:
            await hello(ws, session["token"])
            for active in (True, False, True, False):
                await ws.send(text({"type": "typing", "active": active}))
            assert (await close_code(ws))[0] == p.CLOSE_RATE_LIMITED


async def test_a_socket_that_never_says_hello_is_closed_with_4408(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from channels.webchat import hub

    monkeypatch.setattr(hub, "HELLO_TIMEOUT_SECONDS", 0.2)
    async with await open_socket(server.ws_url) as ws:
        assert (await close_code(ws))[0] == p.CLOSE_HELLO_TIMEOUT


def test_the_hello_may_come_later_while_many_sockets_wait_for_theirs() -> None:
    """A storm's sockets are not closed for a hello that the busy loops delayed; a socket
    that never says hello is still held a bounded time."""
    from channels.webchat import hub

    assert hub.hello_timeout(0) == hub.HELLO_TIMEOUT_SECONDS
    assert hub.hello_timeout(5000) > hub.hello_timeout(100) > hub.HELLO_TIMEOUT_SECONDS
    assert hub.hello_timeout(10**9) == hub.HELLO_TIMEOUT_MAX_SECONDS


async def test_a_message_that_cannot_be_stored_is_not_acknowledged(
    server: RunningServer,
) -> None:
    session = await new_session(server.base_url)
    async with await open_socket(server.ws_url) as ws:
        await hello(ws, session["token"])
        await server.services.pool.close()  # the database goes away
        await ws.send(text({"type": "message", "client_id": "lost-1", "text": "hello"}))
        frame = await next_frame(ws)
        assert frame["type"] == "error"
        assert frame["code"] == "unavailable"
        assert frame["client_id"] == "lost-1"
        with pytest.raises(TimeoutError):  # no ack follows: the widget keeps it and retries
            await next_of(ws, "ack", within=0.5)


async def test_a_hello_while_the_database_is_away_closes_with_try_again(
    server: RunningServer,
) -> None:
    session = await new_session(server.base_url)
    await server.services.pool.close()  # the database goes away
    async with await open_socket(server.ws_url) as ws:
        await ws.send(text({"type": "hello", "token": session["token"]}))
        # Not a crash of the handler: 1013, which the widget answers by reconnecting.
        assert await close_code(ws) == (p.CLOSE_TRY_AGAIN, "unavailable; try again")


async def test_a_session_asked_for_while_the_database_is_away_is_a_503_to_retry(
    server: RunningServer,
) -> None:
    await server.services.pool.close()  # the database goes away
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        answer = await http.post("/api/webchat/sessions", json={"inbox": "demo-web"})
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "2"


async def test_a_database_gone_between_the_visitor_and_its_greeting_is_a_503_too(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The visitor is stored, then Postgres restarts before the greeting is read (issue 21's
    restart under traffic answered 23 session requests 500): still "try again", not a bug."""

    async def restarting(*args: object) -> str:
        raise asyncpg.exceptions.AdminShutdownError("terminating connection")

    monkeypatch.setattr(WebchatBackendImpl, "greeting", restarting)
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        answer = await http.post(
            "/api/webchat/sessions", json={"inbox": "demo-web", "key": "k" * 32}
        )
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "2"


async def _still_serving(server: RunningServer) -> None:
    session = await new_session(server.base_url)
    async with await open_socket(server.ws_url) as ws:
        await hello(ws, session["token"])
        await ws.send(text({"type": "message", "client_id": "ok", "text": "still here?"}))
        assert (await next_of(ws, "ack"))["seq"] == 1
    await server.services.pool.execute("DELETE FROM messages")


# --- the session endpoint ---


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"{nope", 400),
        (b'{"token": "x"}', 422),
        (b'{"inbox": "demo-web", "email": "not an email"}', 422),
        (b'{"inbox": "demo-web", "surprise": 1}', 422),
        (b'{"inbox": "no-such-inbox"}', 404),
    ],
)
async def test_session_requests_are_validated(
    server: RunningServer, body: bytes, status: int
) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        response = await http.post("/api/webchat/sessions", content=body)
    assert response.status_code == status
    assert "error" in response.json()


async def test_a_session_from_a_foreign_origin_is_refused(server: RunningServer) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        response = await http.post(
            "/api/webchat/sessions",
            json={"inbox": "demo-web"},
            headers={"origin": "http://evil.test"},
        )
    assert response.status_code == 403


async def test_a_valid_earlier_token_keeps_the_visitor(server: RunningServer) -> None:
    first = await new_session(server.base_url)
    again = await new_session(server.base_url, token=first["token"])
    other = await new_session(server.base_url, token="tampered")
    assert again["visitor_id"] == first["visitor_id"]
    assert other["visitor_id"] != first["visitor_id"]


async def test_new_visitors_from_one_address_are_limited_but_returning_ones_are_not(
    settings: Settings,
) -> None:
    """Each new visitor is a contact row: one address may start only so many a minute (429 with
    Retry-After); a visitor resuming with its token is not counted."""
    limited = settings.model_copy(update={"webchat_sessions_per_minute": 3})
    async with run_server(limited) as server:
        count = "SELECT count(*) FROM contacts"
        before = await server.services.pool.fetchval(count)
        sessions = [await new_session(server.base_url) for _ in range(3)]
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            refused = await http.post("/api/webchat/sessions", json={"inbox": "demo-web"})
            resumed = await http.post(
                "/api/webchat/sessions", json={"inbox": "demo-web", "token": sessions[0]["token"]}
            )
        created = await server.services.pool.fetchval(count) - before
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    assert resumed.status_code == 201
    assert resumed.json()["visitor_id"] == sessions[0]["visitor_id"]
    assert created == 3
