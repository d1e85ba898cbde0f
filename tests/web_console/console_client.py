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
    ws = await connect(f"{server.ws_url}/console/ws", additional_headers={"cookie": cookie})
    await ws.send(text({"type": "hello", "last_event_id": last_event_id}))
    frames: list[dict[str, Any]] = []
    while True:
        frame = orjson.loads(await ws.recv())
        if frame["type"] == "welcome":
            return ws, {"welcome": frame, "replayed": frames}
        frames.append(frame)
