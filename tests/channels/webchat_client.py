"""A small widget client for tests and benchmarks, speaking docs/webchat-protocol.md."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from typing import Any

import httpx
import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed


async def new_session(base_url: str, inbox: str = "demo-web", **extra: Any) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base_url) as http:
        response = await http.post("/api/webchat/sessions", json={"inbox": inbox, **extra})
    assert response.status_code == 201, response.text
    session: dict[str, Any] = response.json()
    return session


def vouched(identifier: str, secret: str) -> dict[str, str]:
    """The session fields of a user the embedding site vouches for: the identifier and its
    hex HMAC-SHA256 with the inbox's identity secret (docs/webchat-identity.md)."""
    digest = hmac.new(secret.encode(), identifier.encode(), hashlib.sha256).hexdigest()
    return {"identifier": identifier, "identifier_hash": digest}


def text(frame: dict[str, Any]) -> str:
    """A frame as a text WebSocket message (bytes would go out as a binary frame)."""
    return orjson.dumps(frame).decode()


async def open_socket(ws_url: str, **kwargs: Any) -> ClientConnection:
    return await connect(f"{ws_url}/ws/webchat", **kwargs)


async def hello(
    ws: ClientConnection, token: str, conversation_id: str | None = None, last_seq: int = 0
) -> dict[str, Any]:
    await ws.send(
        text(
            {
                "type": "hello",
                "token": token,
                "conversation_id": conversation_id,
                "last_seq": last_seq,
            }
        )
    )
    welcome = await next_frame(ws)
    assert welcome["type"] == "welcome", welcome
    return welcome


async def next_frame(ws: ClientConnection, within: float = 10) -> dict[str, Any]:
    frame: dict[str, Any] = orjson.loads(await asyncio.wait_for(ws.recv(), within))
    return frame


async def next_of(ws: ClientConnection, kind: str, within: float = 10) -> dict[str, Any]:
    """The next frame of one type, skipping others."""
    while True:
        frame = await next_frame(ws, within)
        if frame["type"] == kind:
            return frame


async def close_code(ws: ClientConnection, within: float = 10) -> tuple[int, str]:
    """Read until the server closes; return its close code and reason."""
    try:
        while True:
            await asyncio.wait_for(ws.recv(), within)
    except ConnectionClosed as closed:
        received = closed.rcvd
    if received is None:
        raise AssertionError("the connection dropped without a close frame")
    return received.code, received.reason
