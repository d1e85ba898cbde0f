"""A console WebSocket client for tests: sign in with the agent's cookies and say hello."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
from websockets.asyncio.client import ClientConnection, connect

from tests.channels.webchat_client import text
from tests.harness import RunningServer


async def console_socket(
    server: RunningServer, http: httpx.AsyncClient, last_event_id: int
) -> tuple[ClientConnection, dict[str, Any]]:
    cookie = "; ".join(f"{k}={v}" for k, v in http.cookies.items())
    # Unbounded: a test that reads only some frames must still see its close answered (with
    # websockets' default of 16 unread frames the client stops reading the socket, and a
    # close waits 10 s for a reply it does not read).
    ws = await connect(
        f"{server.ws_url}/console/ws", additional_headers={"cookie": cookie}, max_queue=None
    )
    await ws.send(text({"type": "hello", "last_event_id": last_event_id}))
    frames: list[dict[str, Any]] = []
    while True:
        frame = orjson.loads(await ws.recv())
        if frame["type"] == "welcome":
            return ws, {"welcome": frame, "replayed": frames}
        frames.append(frame)
