"""The harness's consoles: each logs in as its person, follows the live feed, and resumes
after a drop as the console does, counting every message.created it is shown.

Where a console resumes from is the delicate part (issue 21). A server that vouches for safe
cursors (its ``welcome``, ``checkpoint`` and ``resync`` frames carry the id up to which every
committed event was sent) is resumed from the newest of them. Without them the harness uses
the highest id it saw RESUME_MARGIN seconds earlier, counted only while a socket's replay was
over; after the bus's resync, where the socket began; while a replay is cut short, no later
than where it began.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

from bench.chaos.ledger import CONSOLE_AGENTS, Ledger, backoff

# How far back a console resumes when the server vouches for no cursor (Consoles.run).
RESUME_MARGIN = 15.0
# The console's own ping interval (web_console/static): a checkpoint's occasion.
CONSOLE_PING = 25.0


@dataclass
class Consoles:
    """The consoles of one run against ``url``; ``cookies`` by person's email."""

    url: str
    ledger: Ledger
    cookies: dict[str, str]
    # Consoles welcomed at least once, and those whose socket is not welcomed yet (still
    # replaying, or reconnecting).
    welcomed: set[int] = field(default_factory=set)
    catching_up: set[int] = field(default_factory=set)

    async def run(self, n: int) -> None:
        """Console ``n``: logged in as its person, live until cancelled."""
        email, brands = CONSOLE_AGENTS[n % len(CONSOLE_AGENTS)]
        cookie = self.cookies[email]
        self.ledger.console_agent[n] = (email, brands)
        seen = self.ledger.console_seen.setdefault(n, [])
        conversations = self.ledger.console_conversations.setdefault(n, set())
        resumes = self.ledger.console_resumes.setdefault(n, [])
        shown: set[int] = set()
        # From the event log's end when it loads, as the console does; then as below.
        last_event = floor = await self._last_event_id(cookie)
        # (when, the highest id seen by then): events reach a console out of id order (ids
        # are handed out in one order and committed in another, and each node publishes its
        # own), so an event below the highest id seen may still be on its way when the socket
        # drops. Resuming from the highest id seen RESUME_MARGIN earlier, and merging by id,
        # catches those; resuming from the highest id seen does not (see the report).
        marks: collections.deque[tuple[float, int]] = collections.deque()
        replayed_through: int | None = None
        # Where the open socket resumed from, and whether the next one resumes from there
        # too: after the bus's resync (Redis was away: this node's own events kept coming,
        # the other nodes' did not, for as long as the outage lasted), the highest id seen a
        # margin before is no floor. The real console re-reads its state over REST then; the
        # harness replays from where this socket began, which covers the whole gap.
        socket_floor = floor
        gap = False
        # Whether the open socket's replay is over (its welcome came): only then is what it
        # shows complete, and only then do the ids it sees count as marks. Events sent live
        # while a replay is still under way can be far above what the replay has reached; a
        # socket dropped before its welcome (a second node killed while the consoles of the
        # first replay) must resume no later than where it began, or the rest of its replay
        # is skipped for good.
        welcomed = True
        # A server that vouches for safe cursors (its welcome and checkpoint frames carry
        # ``last_event_id``: every committed event up to it was sent) is resumed from the
        # newest of them, as the console does; ``safe`` is None until one says so.
        safe: int | None = None
        attempt = 0
        while True:
            settled = time.monotonic() - RESUME_MARGIN
            while len(marks) > 1 and marks[1][0] <= settled:
                floor = marks.popleft()[1]
            why = "dropped"
            if replayed_through is not None:  # a replay stopped at its limit: go on from there
                resume, replayed_through, why = replayed_through, None, "replay limit"
            elif safe is not None:
                resume, why = safe, "bus resync (safe cursor)" if gap else "dropped (safe cursor)"
            elif gap:
                resume, why = socket_floor, "bus resync"
            else:
                resume = marks[0][1] if marks and marks[0][0] <= settled else floor
                if not welcomed:
                    resume, why = min(resume, socket_floor), "dropped while replaying"
            gap = False
            welcomed = False
            socket_floor = resume
            self.catching_up.add(n)
            try:
                async with connect(
                    f"{self.url.replace('http://', 'ws://')}/console/ws",
                    additional_headers={"cookie": cookie},
                    open_timeout=10,
                    max_size=None,
                ) as ws:
                    # batch, as the console says it: frames queued together come as one.
                    hello = {"type": "hello", "last_event_id": resume, "batch": True}
                    await ws.send(_text(hello))
                    # The console's ping (every 25 s): a server with checkpoints answers it
                    # with a newer safe cursor.
                    pinger = asyncio.create_task(_ping(ws, CONSOLE_PING))
                    resumes.append((round(time.time(), 1), resume, last_event, why))
                    try:
                        async for frame in _frames(ws):
                            if frame.get("type") == "welcome":
                                attempt = 0
                                welcomed = True
                                if frame.get("last_event_id") is not None:
                                    safe = int(frame["last_event_id"])
                                self.welcomed.add(n)
                                self.catching_up.discard(n)
                            elif frame.get("type") == "resync":
                                # The bus had a gap (or the replay was long): catch up from the
                                # event log (the console's own answer re-reads over REST).
                                self.ledger.resyncs += 1
                                replayed_through = frame.get("replayed_through")
                                gap = replayed_through is None
                                if replayed_through is not None and safe is not None:
                                    safe = int(replayed_through)
                                break
                            elif frame.get("type") == "checkpoint":
                                safe = int(frame["last_event_id"])
                            elif frame.get("type") == "event":
                                event_id = int(frame.get("id") or 0)
                                if event_id > last_event:
                                    last_event = event_id
                                    if welcomed:
                                        marks.append((time.monotonic(), event_id))
                                if frame.get("conversation_id"):
                                    conversations.add(str(frame["conversation_id"]))
                                if frame.get("name") == "message.created":
                                    message_id = int(frame["data"]["message"]["id"])
                                    # A replay may show again what was seen live: the console
                                    # merges by id, and so does this.
                                    if message_id not in shown:
                                        shown.add(message_id)
                                        seen.append(message_id)
                    finally:
                        pinger.cancel()
            except (OSError, TimeoutError, WebSocketException, ValueError):
                pass
            self.ledger.reconnects += 1
            if replayed_through is not None:
                continue  # the replay goes on from where it stopped: no failure, no wait
            attempt += 1
            await asyncio.sleep(backoff(attempt))

    async def _last_event_id(self, cookie: str) -> int:
        attempt = 0
        while True:
            with contextlib.suppress(httpx.HTTPError, KeyError, ValueError):
                async with httpx.AsyncClient(base_url=self.url, timeout=10) as http:
                    answer = await http.get(
                        "/console/api/conversations", headers={"cookie": cookie}
                    )
                    if answer.status_code == 200:
                        return int(answer.json()["last_event_id"])
            attempt += 1
            await asyncio.sleep(backoff(attempt))


async def _frames(ws: ClientConnection) -> AsyncIterator[dict[str, Any]]:
    """The socket's frames one by one, a batch's in its order (web_console/hub.py)."""
    async for raw in ws:
        frame = orjson.loads(raw)
        if frame.get("type") == "batch":
            for each in frame["frames"]:
                yield each
        else:
            yield frame


async def _ping(ws: ClientConnection, every: float) -> None:
    with contextlib.suppress(WebSocketException, OSError):
        while True:
            await asyncio.sleep(every)
            await ws.send(_text({"type": "ping"}))


def _text(frame: dict[str, Any]) -> str:
    return orjson.dumps(frame).decode()
