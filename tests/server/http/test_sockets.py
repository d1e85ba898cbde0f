"""The protocols a node serves with (server/http/sockets.py): a WebSocket handshake builds no
log record for its two routine lines, a refused one is still logged, and the HTTP protocol
a socket was upgraded from is freed without the cyclic collector. A real uvicorn on port 0,
with the node's own configuration (server_config)."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from starlette.types import Receive, Scope, Send
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from server.http.sockets import HANDSHAKE_LINES, HttpProtocol
from tests.server.http.served import served


async def echo_once(scope: Scope, receive: Receive, send: Send) -> None:
    """A socket app: accepts, answers one text frame, then holds the socket until it closes;
    refuses the path /refused before accepting (uvicorn answers 403)."""
    assert scope["type"] == "websocket"
    await receive()  # websocket.connect
    if scope["path"] == "/refused":
        await send({"type": "websocket.close", "code": 1008})
        return
    await send({"type": "websocket.accept"})
    while (message := await receive())["type"] == "websocket.receive":
        await send({"type": "websocket.send", "text": message["text"]})


@asynccontextmanager
async def serving() -> AsyncIterator[str]:
    """The app served as a node serves (its protocols), on a free port: its ws:// base."""
    async with served(echo_once) as port:
        yield f"ws://127.0.0.1:{port}"


def recording(records: list[logging.LogRecord]) -> Callable[..., logging.LogRecord]:
    """uvicorn.error's makeRecord, keeping each record it builds (before any filter)."""
    make = logging.getLogger("uvicorn.error").makeRecord

    def make_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make(*args, **kwargs)
        records.append(record)
        return record

    return make_record


async def test_a_handshake_builds_no_record_and_a_refusal_is_logged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    records: list[logging.LogRecord] = []
    logger = logging.getLogger("uvicorn.error")
    monkeypatch.setattr(logger, "makeRecord", recording(records))
    monkeypatch.setattr(logger, "disabled", False)
    # INFO whatever another test left, by setLevel: it also clears the loggers' cache of
    # isEnabledFor answers, which a level set as an attribute leaves stale (this test then
    # failed after tests/server/http's others, the refusal's line never built).
    previous = logger.level
    logger.setLevel(logging.INFO)
    try:
        async with serving() as base:
            async with connect(f"{base}/ws") as ws:
                await ws.send("hello")
                assert await ws.recv() == "hello"
            with pytest.raises(InvalidStatus) as refused:
                async with connect(f"{base}/refused"):
                    pass
            assert refused.value.response.status_code == 403
    finally:
        logger.setLevel(previous)
    assert not [r for r in records if r.msg in HANDSHAKE_LINES]
    assert [r for r in records if r.levelno == logging.INFO and "403" in r.getMessage()]


async def test_the_upgraded_http_protocol_is_freed_without_the_collector() -> None:
    gc.collect()
    gc.disable()  # only reference counting frees anything now
    try:
        async with serving() as base:
            sockets = [await connect(f"{base}/ws") for _ in range(3)]
            for ws in sockets:
                await ws.send("hello")
                assert await ws.recv() == "hello"
            left = [o for o in gc.get_objects() if isinstance(o, HttpProtocol)]
            for ws in sockets:
                await ws.close()
    finally:
        gc.enable()
    assert left == []
