"""A WebSocket upgrade taken from httptools' parse (server/http/upgrade.py) answers and
scopes exactly as the long way does, where websockets parses the request again: the same
101 response (but the date's value), the same ASGI scope, the same refusals. A request with
a Content-Length header, which the short way leaves to websockets, is the long way's
example; a real uvicorn on port 0 with the node's configuration serves both."""

from __future__ import annotations

import asyncio
import base64
import os
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from starlette.types import Receive, Scope, Send
from websockets import http11

from server.http import upgrade
from tests.server.http.served import served

# Forces the long way: parsed() leaves any request with a Content-Length to websockets.
LONG_WAY = b"Content-Length: 0\r\n"


@asynccontextmanager
async def serving(scopes: list[Scope], **accept: Any) -> AsyncIterator[int]:
    """An app that records each socket's scope and accepts it (with ``accept``'s headers or
    subprotocol), served as a node serves (its protocols) on a free port; yields the port."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "websocket"
        scopes.append(scope)
        await receive()  # websocket.connect
        await send({"type": "websocket.accept", **accept})
        while (await receive())["type"] == "websocket.receive":
            pass

    async with served(app) as port:
        yield port


def upgrade_request(key: bytes, more: bytes = b"", path: str = "/ws/webchat?x=1") -> bytes:
    return (
        f"GET {path} HTTP/1.1\r\nHost: example.test\r\n".encode()
        + b"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "
        + key
        + b"\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat, superchat\r\n"
        + b"Origin: http://example.test\r\nX-Name: caf\xe9\r\n"
        + more
        + b"\r\n"
    )


async def answer(port: int, request: bytes) -> bytes:
    """The server's answer to one raw request: the response head (and a refusal's body)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        if not head.startswith(b"HTTP/1.1 101"):
            head += await asyncio.wait_for(reader.read(), 5)
        return head
    finally:
        writer.close()


def undated(response: bytes) -> bytes:
    # Either case: uvicorn writes "date", websockets' refusals "Date" (two answers a second
    # apart differed there, and the comparison failed once in the suite).
    return re.sub(rb"(\r\ndate: )[^\r]*", rb"\1-", response, flags=re.IGNORECASE)


def comparable(scope: Scope) -> dict[str, Any]:
    """A scope without what differs between two connections (the client's port, the state
    dict's identity)."""
    return {k: v for k, v in scope.items() if k not in ("client", "state")}


def counting_parses(monkeypatch: pytest.MonkeyPatch) -> list[None]:
    """websockets' parses of a request's headers, counted."""
    calls: list[None] = []
    parse = http11.parse_headers

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(None)
        return (yield from parse(*args, **kwargs))

    monkeypatch.setattr(http11, "parse_headers", counted)
    return calls


async def test_the_short_way_answers_and_scopes_as_the_long_way(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    parses = counting_parses(monkeypatch)
    key = base64.b64encode(os.urandom(16))
    scopes: list[Scope] = []
    async with serving(scopes) as port:
        short = await answer(port, upgrade_request(key))
        assert parses == []  # websockets did not parse it again
        long = await answer(port, upgrade_request(key, LONG_WAY))
        assert len(parses) == 1
    assert short.startswith(b"HTTP/1.1 101 Switching Protocols\r\n")
    assert undated(short) == undated(long)
    assert b"\r\nsec-websocket-protocol" not in short.lower()  # the app chose none
    first, second = scopes
    assert second["headers"][-1] == (b"content-length", b"0")
    second = {**second, "headers": second["headers"][:-1]}
    assert comparable(first) == comparable(second)
    assert first["subprotocols"] == ["chat", "superchat"]
    assert (b"x-name", b"caf\xe9") in first["headers"]
    assert first["path"] == "/ws/webchat"
    assert first["query_string"] == b"x=1"


async def test_an_accept_with_headers_and_a_subprotocol_is_the_same_either_way() -> None:
    key = base64.b64encode(os.urandom(16))
    headers = [(b"X-Served-By", b"node1")]
    async with serving([], headers=headers, subprotocol="superchat") as port:
        short = await answer(port, upgrade_request(key))
        long = await answer(port, upgrade_request(key, LONG_WAY))
    assert undated(short) == undated(long)
    assert b"\r\nx-served-by: node1\r\n" in short
    assert b"\r\nSec-WebSocket-Protocol: superchat\r\n" in short


@pytest.mark.parametrize(
    "request_of",
    [
        pytest.param(lambda key: upgrade_request(b"not a key"), id="a bad key"),
        pytest.param(
            lambda key: upgrade_request(key).replace(b"Version: 13", b"Version: 8"),
            id="an old version",
        ),
        pytest.param(lambda key: upgrade_request(key).replace(b"GET", b"POST"), id="not a GET"),
    ],
)
async def test_a_refusal_is_the_same_either_way(request_of: Callable[[bytes], bytes]) -> None:
    key = base64.b64encode(os.urandom(16))
    async with serving([]) as port:
        short = await answer(port, request_of(key))
        longer = request_of(key).replace(b"\r\n\r\n", b"\r\n" + LONG_WAY + b"\r\n")
        long = await answer(port, longer)
    assert not short.startswith(b"HTTP/1.1 101")
    assert undated(short).split(b"\r\n\r\n")[0] == undated(long).split(b"\r\n\r\n")[0]


def test_what_websockets_would_read_otherwise_is_left_to_it() -> None:
    headers = [(b"host", b"x"), (b"upgrade", b"websocket")]
    assert upgrade.parsed("GET", b"/ws", headers) is not None
    assert upgrade.parsed("GET", b"/ws", [*headers, (b"transfer-encoding", b"chunked")]) is None
    assert upgrade.parsed("GET", b"/ws", [*headers, (b"content-length", b"0")]) is None
    assert upgrade.parsed("GET", b"/ws", [(b"x-a", b"v")] * 129) is None
    assert upgrade.parsed("GET", b"/ws", [(b"x-a", b"v" * 8190)]) is None
    assert upgrade.parsed("GET", b"/" + b"a" * 8190, headers) is None
    # A request line of 8,192 bytes, its CRLF included, is websockets' longest (8,193: 414).
    assert upgrade.parsed("GET", b"/" + b"a" * 8176, headers) is not None
    assert upgrade.parsed("GET", b"/" + b"a" * 8177, headers) is None
