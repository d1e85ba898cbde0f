"""The console's REST API and live feed against a real server and Postgres."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import orjson
import pytest
from websockets.asyncio.client import connect

from server.services import demo
from tests.channels.webchat_client import close_code, hello, new_session, next_of, open_socket, text
from tests.harness import RunningServer
from tests.web_console.console_client import console_socket


@pytest.fixture
async def agent_http(server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        response = await http.post(
            "/console/api/login", json={"email": demo.AGENT_EMAIL, "password": demo.AGENT_PASSWORD}
        )
        assert response.status_code == 200
        yield http


async def customer_says(server: RunningServer, message: str) -> str:
    session = await new_session(server.base_url)
    async with await open_socket(server.ws_url) as ws:
        await hello(ws, session["token"])
        await ws.send(text({"type": "message", "client_id": "c1", "text": message}))
        conversation_id: str = (await next_of(ws, "ack"))["conversation_id"]
    # Routing (here: the handoff with the bot off) follows the acknowledgement.
    await server.services.pipeline.settled()
    return conversation_id


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"email": demo.AGENT_EMAIL, "password": "wrong-password"}, 401),
        ({"email": "nobody@x.test", "password": demo.AGENT_PASSWORD}, 401),
        ({"email": demo.AGENT_EMAIL}, 422),
    ],
)
async def test_login_refuses_bad_credentials(
    server: RunningServer, body: dict[str, str], status: int
) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        response = await http.post("/console/api/login", json=body)
        assert response.status_code == status
        assert (await http.get("/console/api/me")).status_code == 401


async def test_the_api_requires_a_login(server: RunningServer) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        assert (await http.get("/console/api/conversations")).status_code == 401
        response = await http.post(
            "/console/api/conversations/x/messages", json={"text": "hi", "client_id": "a"}
        )
        assert response.status_code == 401


async def test_an_agent_sees_the_conversation_reads_it_and_replies(
    server: RunningServer, agent_http: httpx.AsyncClient
) -> None:
    conversation_id = await customer_says(server, "Where is my order?")
    listing = (await agent_http.get("/console/api/conversations")).json()
    [item] = listing["conversations"]
    assert item["id"] == conversation_id
    assert item["status"] == "queued"
    assert listing["last_event_id"] > 0
    messages = (
        await agent_http.get(f"/console/api/conversations/{conversation_id}/messages")
    ).json()["messages"]
    assert next(m["text"] for m in messages) == "Where is my order?"
    reply = await agent_http.post(
        f"/console/api/conversations/{conversation_id}/messages",
        json={"text": "Looking now", "client_id": "r1"},
    )
    assert reply.status_code == 201
    again = await agent_http.post(
        f"/console/api/conversations/{conversation_id}/messages",
        json={"text": "Looking now", "client_id": "r1"},
    )
    assert again.status_code == 200
    assert again.json() == reply.json()
    conversation = (await agent_http.get(f"/console/api/conversations/{conversation_id}")).json()
    assert conversation["status"] == "assigned"
    assert conversation["assignee"]["name"] == "Dana Demo"


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/console/api/conversations/{id}/messages", b"{bad", 400),
        ("/console/api/conversations/{id}/messages", b'{"text": ""}', 422),
        ("/console/api/conversations/{id}/messages", b'{"text": "x", "client_id": "a b"}', 422),
        (
            "/console/api/conversations/00000000-0000-0000-0000-000000000000/messages",
            b'{"text": "x", "client_id": "a"}',
            404,
        ),
        ("/console/api/conversations/not-a-uuid/messages", b'{"text": "x", "client_id": "a"}', 404),
    ],
)
async def test_bad_replies_get_precise_statuses(
    server: RunningServer, agent_http: httpx.AsyncClient, path: str, body: bytes, status: int
) -> None:
    conversation_id = await customer_says(server, "hello")
    response = await agent_http.post(path.format(id=conversation_id), content=body)
    assert response.status_code == status
    assert "error" in response.json()


async def test_reads_of_unknown_ids_and_bad_queries_are_refused(
    server: RunningServer, agent_http: httpx.AsyncClient
) -> None:
    assert (await agent_http.get("/console/api/conversations/nope")).status_code == 404
    assert (await agent_http.get("/console/api/conversations?status=weird")).status_code == 422
    conversation_id = await customer_says(server, "hello")
    response = await agent_http.get(
        f"/console/api/conversations/{conversation_id}/messages?after_seq=-1"
    )
    assert response.status_code == 422


async def test_a_write_from_a_foreign_origin_is_refused(
    server: RunningServer, agent_http: httpx.AsyncClient
) -> None:
    conversation_id = await customer_says(server, "hello")
    response = await agent_http.post(
        f"/console/api/conversations/{conversation_id}/messages",
        json={"text": "x", "client_id": "a"},
        headers={"origin": "http://evil.test"},
    )
    assert response.status_code == 403
    assert (
        await server.services.pool.fetchval(
            "SELECT count(*) FROM messages WHERE author_kind = 'agent'"
        )
        == 0
    )


async def test_the_live_feed_delivers_new_conversations(
    server: RunningServer, agent_http: httpx.AsyncClient
) -> None:
    last = (await agent_http.get("/console/api/conversations")).json()["last_event_id"]
    ws, hello_result = await console_socket(server, agent_http, last)
    async with ws:
        assert hello_result["replayed"] == []
        conversation_id = await customer_says(server, "hi console")
        names = []
        while "conversation.updated" not in names:
            frame = orjson.loads(await ws.recv())
            names.append(frame["name"])
            assert frame["conversation_id"] == conversation_id
    assert names == [
        "message.created",
        "conversation.created",
        "message.interpreted",
        "message.created",
        "conversation.updated",
    ]


async def test_the_live_feed_resumes_from_the_last_event_id(
    server: RunningServer, agent_http: httpx.AsyncClient
) -> None:
    await customer_says(server, "first")
    last = (await agent_http.get("/console/api/conversations")).json()["last_event_id"]
    await customer_says(server, "while you were away")  # 6 events (queue.changed last)
    await customer_says(server, "and this")  # 6 more
    ws, result = await console_socket(server, agent_http, last)
    await ws.close()
    replayed = result["replayed"]
    assert [f["id"] for f in replayed] == sorted(f["id"] for f in replayed)
    assert len(replayed) == 12
    assert all(f["id"] > last for f in replayed)
    texts = [
        f["data"]["message"]["text"]
        for f in replayed
        if f["name"] == "message.created" and f["data"]["message"]["author_kind"] == "customer"
    ]
    assert texts == ["while you were away", "and this"]


async def test_the_live_feed_refuses_anonymous_sockets_and_bad_frames(
    server: RunningServer, agent_http: httpx.AsyncClient
) -> None:
    async with connect(f"{server.ws_url}/console/ws") as ws:
        assert (await close_code(ws))[0] == 4401
    cookie = "; ".join(f"{k}={v}" for k, v in agent_http.cookies.items())
    for raw, code in (("{bad", 1007), ('{"type": "dance"}', 4400)):
        async with connect(
            f"{server.ws_url}/console/ws", additional_headers={"cookie": cookie}
        ) as ws:
            await ws.send(raw)
            assert (await close_code(ws))[0] == code


async def test_customer_typing_reaches_the_console(
    server: RunningServer, agent_http: httpx.AsyncClient
) -> None:
    conversation_id = await customer_says(server, "hello")
    last = (await agent_http.get("/console/api/conversations")).json()["last_event_id"]
    ws, _ = await console_socket(server, agent_http, last)
    async with ws:
        await server.services.pipeline.typing(conversation_id, "customer", True)
        frame = orjson.loads(await ws.recv())
    assert frame["name"] == "typing"
    assert frame["data"]["author_kind"] == "customer"
    assert frame["id"] is None


async def test_a_client_far_behind_is_told_to_resync_instead_of_replaying_everything(
    server: RunningServer, agent_http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from web_console import hub

    monkeypatch.setattr(hub, "REPLAY_PAGE", 2)
    monkeypatch.setattr(hub, "REPLAY_LIMIT", 4)
    for i in range(3):
        await customer_says(server, f"message {i}")  # 5 events each
    ws, result = await console_socket(server, agent_http, 0)
    await ws.close()
    replayed = result["replayed"]
    assert [f["type"] for f in replayed] == ["event"] * 4 + ["resync"]
    # Where the replay stopped, for a client that pages through the log itself.
    assert replayed[-1]["replayed_through"] == replayed[-2]["id"]


async def test_repeated_wrong_passwords_are_answered_429_with_retry_after(
    server: RunningServer,
) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        wrong = {"email": demo.AGENT_EMAIL, "password": "not-the-password"}
        statuses = [
            (await http.post("/console/api/login", json=wrong)).status_code for _ in range(10)
        ]
        assert statuses == [401] * 10
        right = {"email": demo.AGENT_EMAIL, "password": demo.AGENT_PASSWORD}
        held = await http.post("/console/api/login", json=right)
    assert held.status_code == 429
    assert int(held.headers["retry-after"]) > 0


async def test_an_agent_replies_with_files_and_the_visitor_downloads_them(
    server: RunningServer, agent_http: httpx.AsyncClient
) -> None:
    session = await new_session(server.base_url)
    async with await open_socket(server.ws_url) as ws:
        await hello(ws, session["token"])
        await ws.send(text({"type": "message", "client_id": "c1", "text": "send me the form"}))
        conversation_id = (await next_of(ws, "ack"))["conversation_id"]
        await server.services.pipeline.settled()
        pdf = b"%PDF-1.4 return form"
        response = await agent_http.post(
            f"/console/api/conversations/{conversation_id}/messages",
            data={"text": "Here it is.", "client_id": "files-1"},
            files=[
                ("files", ("../../return form.pdf", pdf, "application/pdf")),
                ("files", ("label.txt", b"ship to: ACME", "text/plain")),
            ],
        )
        assert response.status_code == 201, response.text
        message = response.json()["message"]
        assert [(a["n"], a["filename"], a["size"]) for a in message["attachments"]] == [
            (0, "return form.pdf", len(pdf)),
            (1, "label.txt", 13),
        ]
        # Sent again (a retry): stored once.
        again = await agent_http.post(
            f"/console/api/conversations/{conversation_id}/messages",
            data={"text": "Here it is.", "client_id": "files-1"},
            files=[("files", ("return form.pdf", pdf, "application/pdf"))],
        )
        assert again.status_code == 200
        assert again.json()["message"]["id"] == message["id"]
        while True:
            frame = await next_of(ws, "message")
            if frame["message"]["author_kind"] == "agent":
                break
        assert frame["message"]["attachments"][0]["filename"] == "return form.pdf"
    path = f"/api/webchat/messages/{message['id']}/attachments/0"
    async with httpx.AsyncClient(base_url=server.base_url) as visitor:
        got = await visitor.get(path, headers={"authorization": f"Bearer {session['token']}"})
        assert got.status_code == 200
        assert got.content == pdf
        assert got.headers["content-disposition"].startswith("attachment;")
        assert got.headers["x-content-type-options"] == "nosniff"
        assert (await visitor.get(path)).status_code == 401
        bad = await visitor.get(path, headers={"authorization": "Bearer forged"})
        assert bad.status_code == 401
        # Another visitor's token reaches nothing of this conversation.
        stranger = await new_session(server.base_url)
        other = await visitor.get(path, headers={"authorization": f"Bearer {stranger['token']}"})
        assert other.status_code == 404
    console = await agent_http.get(f"/console/api/messages/{message['id']}/attachments/1")
    assert console.content == b"ship to: ACME"


@pytest.mark.parametrize(
    ("data", "files", "status", "error"),
    [
        ({"client_id": "f1"}, [], 422, "text"),  # neither text nor files
        ({"client_id": "f2"}, [("files", ("empty.txt", b"", "text/plain"))], 422, "empty"),
        (
            {"client_id": "f3"},
            [("files", ("big.bin", b"x" * (10 * 2**20 + 1), "application/octet-stream"))],
            413,
            "big.bin",
        ),
        ({"client_id": "f4"}, [("files", ("f.txt", b"x", "text/plain"))] * 11, 400, "files"),
        ({"client_id": "bad id!"}, [("files", ("f.txt", b"x", "text/plain"))], 422, "client_id"),
        ({"client_id": "f5"}, [("other", ("f.txt", b"x", "text/plain"))], 422, "files"),
    ],
)
async def test_bad_uploads_get_precise_statuses(
    server: RunningServer,
    agent_http: httpx.AsyncClient,
    data: dict[str, str],
    files: list[tuple[str, tuple[str, bytes, str]]],
    status: int,
    error: str,
) -> None:
    conversation_id = await customer_says(server, "I need a document")
    response = await agent_http.post(
        f"/console/api/conversations/{conversation_id}/messages",
        data=data,
        files=files or None,
        headers={} if files else {"content-type": "multipart/form-data; boundary=x"},
        content=None if files else b"--x--\r\n",
    )
    assert response.status_code == status, response.text
    assert error in response.json()["error"]
