"""The Rasa client's own HTTP/1.1 transport (nlu/transport.py), against a real server on
port 0 that answers as told: kept-alive connections reused, bodies of every framing read
whole, and each failure raised as the httpx error the Rasa client already handles."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest

from nlu.base import Dialogue
from nlu.rasa import RasaInterpreter
from nlu.transport import KeepAliveTransport

Answer = Callable[[bytes, bytes], Awaitable[bytes | None]]


def _json(status: int, value: object, *, close: bool = False) -> bytes:
    body = json.dumps(value).encode()
    head = f"HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n"
    head += f"content-length: {len(body)}\r\n" + ("connection: close\r\n" if close else "")
    return head.encode() + b"\r\n" + body


class Server:
    """A server on port 0: ``answer(head, body)`` gives each request's raw answer (None:
    close the connection without one). Counts the connections it accepted."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.connections = 0
        self.requests: list[bytes] = []
        self.open: set[asyncio.StreamWriter] = set()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.open.add(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                body = await reader.readexactly(length)
                self.requests.append(head + body)
                reply = await self.answer(head, body)
                if reply is None:
                    break
                writer.write(reply)
                await writer.drain()
                if b"connection: close" in reply.lower():
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.open.discard(writer)
            writer.close()

    def drop_all(self) -> None:
        """Close every connection the server holds (a keep-alive timeout's close)."""
        for writer in list(self.open):
            writer.close()


@contextlib.asynccontextmanager
async def serving(answer: Answer) -> AsyncIterator[tuple[Server, str]]:
    server = Server(answer)
    listening = await asyncio.start_server(server._serve, "127.0.0.1", 0)
    port = listening.sockets[0].getsockname()[1]
    try:
        yield server, f"http://127.0.0.1:{port}"
    finally:
        server.drop_all()
        listening.close()
        await listening.wait_closed()


async def _echo(head: bytes, body: bytes) -> bytes:
    return _json(200, {"path": head.split(b" ")[1].decode(), "got": json.loads(body or b"null")})


async def test_requests_share_one_kept_alive_connection() -> None:
    async with (
        serving(_echo) as (server, url),
        httpx.AsyncClient(base_url=url, transport=KeepAliveTransport(4)) as client,
    ):
        for n in range(5):
            answer = await client.post("/model/parse", json={"n": n}, params={"token": "t"})
            assert answer.json() == {"path": "/model/parse?token=t", "got": {"n": n}}
    assert server.connections == 1
    assert all(b"content-length: " in request.lower() for request in server.requests)


async def test_chunked_and_close_delimited_bodies_are_read_whole() -> None:
    replies = iter(
        [
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
            b"5\r\n[1, 2\r\n3\r\n, 3\r\n1\r\n]\r\n0\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n[4, 5, 6]",
            b"HTTP/1.1 204 No Content\r\n\r\n",
        ]
    )

    async def answer(head: bytes, body: bytes) -> bytes:
        return next(replies)

    async with (
        serving(answer) as (server, url),
        httpx.AsyncClient(base_url=url, transport=KeepAliveTransport(4)) as client,
    ):
        assert (await client.post("/a", json={})).json() == [1, 2, 3]
        assert (await client.post("/b", json={})).json() == [4, 5, 6]
        assert (await client.post("/c", json={})).status_code == 204
    # The close-delimited answer ended its connection; the next one opened another.
    assert server.connections == 2


async def test_a_connection_the_server_closed_is_not_reused() -> None:
    transport = KeepAliveTransport(4)
    async with (
        serving(_echo) as (server, url),
        httpx.AsyncClient(base_url=url, transport=transport) as client,
    ):
        await client.post("/one", json={})
        server.drop_all()
        # Until the client's side has seen the close (its connection_lost).
        while any(c.reusable for idle in transport._idle.values() for c in idle):  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        assert (await client.post("/two", json={})).json()["path"] == "/two"
    assert server.connections == 2


async def test_idle_connections_expire() -> None:
    async with (
        serving(_echo) as (server, url),
        httpx.AsyncClient(base_url=url, transport=KeepAliveTransport(4, keepalive=0)) as client,
    ):
        await client.post("/one", json={})
        await client.post("/two", json={})
    assert server.connections == 2


async def test_a_slow_answer_is_a_read_timeout_and_its_connection_is_dropped() -> None:
    release = asyncio.Event()

    async def answer(head: bytes, body: bytes) -> bytes:
        if b"/slow" in head:
            await release.wait()
        return _json(200, {"path": head.split(b" ")[1].decode()})

    async with (
        serving(answer) as (server, url),
        httpx.AsyncClient(base_url=url, transport=KeepAliveTransport(4)) as client,
    ):
        with pytest.raises(httpx.ReadTimeout):
            await client.post("/slow", json={}, timeout=0.2)
        release.set()
        # The late answer to /slow is never taken for the next request's.
        assert (await client.post("/next", json={})).json() == {"path": "/next"}
    assert server.connections == 2


async def test_every_connection_busy_is_a_pool_timeout() -> None:
    release = asyncio.Event()
    arrived = asyncio.Event()

    async def answer(head: bytes, body: bytes) -> bytes:
        arrived.set()
        await release.wait()
        return _json(200, {})

    async with (
        serving(answer) as (_server, url),
        httpx.AsyncClient(base_url=url, transport=KeepAliveTransport(1)) as client,
    ):
        held = asyncio.create_task(client.post("/held", json={}))
        await arrived.wait()
        with pytest.raises(httpx.PoolTimeout):
            await client.post("/waits", json={}, timeout=httpx.Timeout(5.0, pool=0.1))
        release.set()
        assert (await held).status_code == 200


async def test_a_cancelled_request_leaves_its_connection_unused() -> None:
    arrived = asyncio.Event()
    release = asyncio.Event()

    async def answer(head: bytes, body: bytes) -> bytes:
        if b"/cancelled" in head:
            arrived.set()
            await release.wait()
        return _json(200, {"path": head.split(b" ")[1].decode()})

    async with (
        serving(answer) as (server, url),
        httpx.AsyncClient(base_url=url, transport=KeepAliveTransport(1)) as client,
    ):
        call = asyncio.create_task(client.post("/cancelled", json={}))
        await arrived.wait()
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        release.set()
        assert (await client.post("/after", json={})).json() == {"path": "/after"}
    assert server.connections == 2


async def test_a_connection_closed_before_the_answer_is_a_protocol_error() -> None:
    async def answer(head: bytes, body: bytes) -> bytes | None:
        return None

    async with (
        serving(answer) as (_server, url),
        httpx.AsyncClient(base_url=url, transport=KeepAliveTransport(1)) as client,
    ):
        with pytest.raises(httpx.RemoteProtocolError):
            await client.post("/x", json={})


async def test_nothing_listening_is_a_connect_error() -> None:
    async with serving(_echo) as (_server, url):
        pass  # the port is free again
    async with httpx.AsyncClient(base_url=url, transport=KeepAliveTransport(1)) as client:
        with pytest.raises(httpx.ConnectError):
            await client.post("/x", json={})


async def test_the_rasa_client_parses_and_answers_through_it() -> None:
    """RasaInterpreter's default transport: three requests for a parse and an answer, with
    the token in each query, over one connection."""

    async def rasa(head: bytes, body: bytes) -> bytes:
        path = head.split(b" ")[1].decode()
        assert path.endswith("?token=tkn")
        if path.startswith("/model/parse"):
            return _json(200, {"intent": {"name": "greet", "confidence": 0.97}})
        if path.startswith("/webhooks/rest/webhook"):
            return _json(200, [{"recipient_id": "c1", "text": "Bonjour !"}])
        return _json(200, {})

    async with serving(rasa) as (server, url):
        interpreter = RasaInterpreter(url, frozenset({"en", "fr"}), token="tkn")
        understood = await interpreter.parse("salut")
        turn = await interpreter.respond(Dialogue("c1", understood, "fr"))
        await interpreter.close()
    assert (understood.intent, understood.confidence) == ("greet", 0.97)
    assert [m.text for m in turn.messages] == ["Bonjour !"]
    assert [r.split(b" ")[1].split(b"?")[0] for r in server.requests] == [
        b"/model/parse",
        b"/conversations/c1/tracker/events",
        b"/webhooks/rest/webhook",
    ]
    assert server.connections == 1


async def test_an_interim_answer_is_not_taken_for_the_final_one() -> None:
    """A 1xx is interim (RFC 9110, 15.2): the answer is the one after it."""

    async def answer(head: bytes, body: bytes) -> bytes:
        return b"HTTP/1.1 100 Continue\r\n\r\n" + _json(200, {"ok": True})

    async with (
        serving(answer) as (_server, url),
        httpx.AsyncClient(base_url=url, transport=KeepAliveTransport(1)) as client,
    ):
        r = await client.post("/x", json={})
    assert (r.status_code, r.json()) == (200, {"ok": True})


async def test_a_second_answer_in_the_same_read_changes_nothing_and_drops_the_connection() -> None:
    async def answer(head: bytes, body: bytes) -> bytes:
        return (
            b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"
            b"HTTP/1.1 500 Oops\r\ncontent-length: 4\r\nx-extra: 1\r\n\r\nEVIL"
        )

    transport = KeepAliveTransport(1)
    async with serving(answer) as (server, url):
        async with httpx.AsyncClient(base_url=url, transport=transport) as client:
            first = await client.post("/x", json={})
            await client.post("/x", json={})
        assert server.connections == 2  # the first connection was out of step: not reused
    assert (first.status_code, first.content, first.headers.get("x-extra")) == (200, b"ok", None)
    assert first.headers.get_list("content-length") == ["2"]


async def test_a_proxy_from_the_environment_carries_the_rasa_client(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """httpx reads HTTP_PROXY only with its own transport, so the Rasa client takes it when a
    proxy applies (and ours when NO_PROXY names the host)."""
    said: dict[str, str] = {}

    def intent(name: str) -> Answer:
        async def answer(head: bytes, body: bytes) -> bytes:
            said.setdefault(name, head.split(b"\r\n")[0].decode())
            return _json(200, {"intent": {"name": name, "confidence": 1.0}, "entities": []})

        return answer

    async with serving(intent("via_proxy")) as (_p, proxy), serving(intent("direct")) as (_o, url):
        for key in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "http_proxy"):
            monkeypatch.delenv(key, raising=False)
        monkeypatch.setenv("HTTP_PROXY", proxy)
        proxied = RasaInterpreter(url, frozenset({"en"}))
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        direct = RasaInterpreter(url, frozenset({"en"}))
        try:
            via = await proxied.parse("hi")
            not_via = await direct.parse("hi")
        finally:
            await proxied.close()
            await direct.close()
    assert (via.intent, not_via.intent) == ("via_proxy", "direct")
    assert said["via_proxy"].startswith("POST http://127.0.0.1")  # a proxy's absolute form
