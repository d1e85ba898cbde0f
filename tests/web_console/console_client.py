"""A console WebSocket client for tests: sign in with the agent's cookies and say hello."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import orjson
from websockets.asyncio.client import ClientConnection, connect

from tests.channels.webchat_client import text
from tests.harness import RunningServer

# How long a console waits for each frame up to its welcome.
WELCOME_SECONDS = 60.0


def frames_of(raw: str | bytes) -> list[dict[str, Any]]:
    """A message's frames: a batch's in its order (web_console/hub.py), else the one."""
    frame: dict[str, Any] = orjson.loads(raw)
    if frame["type"] == "batch":
        frames: list[dict[str, Any]] = frame["frames"]
        return frames
    return [frame]


async def console_socket(
    server: RunningServer, http: httpx.AsyncClient, last_event_id: int, *, batch: bool = False
) -> tuple[ClientConnection, dict[str, Any]]:
    """A console socket said hello to (``batch``: as the console does, taking batch frames),
    with its welcome and the frames before it (a batch's spread out); ``messages`` counts the
    socket messages they came in, ``after`` holds the frames after the welcome in its batch."""
    cookie = "; ".join(f"{k}={v}" for k, v in http.cookies.items())
    # Unbounded: a test that reads only some frames must still see its close answered (with
    # websockets' default of 16 unread frames the client stops reading the socket, and a
    # close waits 10 s for a reply it does not read).
    ws = await connect(
        f"{server.ws_url}/console/ws", additional_headers={"cookie": cookie}, max_queue=None
    )
    hello: dict[str, Any] = {"type": "hello", "last_event_id": last_event_id}
    if batch:
        hello["batch"] = True
    await ws.send(text(hello))
    frames: list[dict[str, Any]] = []
    messages = 0
    while True:
        messages += 1
        # Bounded: a welcome that never comes fails the test here, not the whole run (a full
        # run once hung in tests/server/live/test_presence.py with a worker idle for 38 min).
        batch_frames = frames_of(await asyncio.wait_for(ws.recv(), WELCOME_SECONDS))
        for at, frame in enumerate(batch_frames):
            if frame["type"] == "welcome":
                # What came after the welcome in its batch (live frames), for the caller.
                after = batch_frames[at + 1 :]
                return ws, {
                    "welcome": frame, "replayed": frames, "messages": messages, "after": after
                }  # fmt: skip
            frames.append(frame)
