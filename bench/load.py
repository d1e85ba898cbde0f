"""Customer → agent-console round trips, and the same traffic against the echo baseline.

Open loop: messages are sent on a fixed schedule whatever the server does, so a slow server
shows up as latency rather than as a politely lower rate (no coordinated omission).
"""

from __future__ import annotations

import asyncio
import dataclasses
import statistics
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
from websockets.asyncio.client import ClientConnection, connect

TICK = 0.01  # seconds between send batches
# Conversations the warm-up opens a second (see SwitchboardLoad.warm_up).
WARM_UP_RATE = 200


@dataclass
class Result:
    offered: float
    achieved: float
    p50_ms: float
    p99_ms: float
    # Sent but not seen by the console within the settle time.
    lost: int
    # Of those, refused by the server at capacity ("busy": not stored, the widget would retry).
    refused: int = 0
    # How late the load generator sent, against its schedule, at p99 (ms): past a few
    # milliseconds the generator, not the server, is behind, and the latencies above say so
    # only in part (each is measured from the moment its frame was actually sent).
    late_p99_ms: float = 0.0


_in_flight: set[asyncio.Future[None]] = set()


def _has(raw: str | bytes, needle: str) -> bool:
    """Whether a frame holds ``needle``, without parsing it."""
    return needle in raw if isinstance(raw, str) else needle.encode() in raw


def _spawn(send: Coroutine[Any, Any, None]) -> None:
    """Send without waiting (open loop), keeping a reference until the send is done."""
    task = asyncio.ensure_future(send)
    _in_flight.add(task)
    task.add_done_callback(_in_flight.discard)


def _summary(offered: float, sent: int, rtts: list[float], elapsed: float) -> Result:
    ordered = sorted(rtts)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else float("nan")
    return Result(
        offered,
        len(rtts) / elapsed,
        statistics.median(ordered) * 1000 if ordered else float("nan"),
        p99 * 1000,
        sent - len(rtts),
    )


async def _schedule(
    rate: float, seconds: float, send_one: Callable[[int], None]
) -> tuple[int, float]:
    """Call send_one(i) ``rate`` times a second for ``seconds``; return how many were sent
    and how late, at p99, against the schedule (seconds)."""
    sent = 0
    late: list[float] = []
    start = time.perf_counter()
    while (now := time.perf_counter() - start) < seconds:
        due = int(now * rate)
        while sent < due:
            send_one(sent)
            late.append(now - sent / rate)
            sent += 1
        await asyncio.sleep(TICK)
    late.sort()
    return sent, late[min(len(late) - 1, int(len(late) * 0.99))] if late else 0.0


async def _settle(
    received: list[float],
    expected: int,
    refused: Callable[[], int] = lambda: 0,
    limit: float = 5.0,
) -> None:
    """Wait until every message sent was seen or refused, for at most ``limit`` seconds. A
    refused message never arrives: waiting for it ran the step's clock to the limit and
    halved the rate it reported (a step at 4,000 msg/s with 32 refused read 1,987)."""
    deadline = time.perf_counter() + limit
    # Polling a counter keeps the receive path free of per-message bookkeeping.
    while len(received) + refused() < expected and time.perf_counter() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.05)


async def _close(sockets: list[ClientConnection], readers: list[asyncio.Task[None]]) -> None:
    """Close every socket at once, then stop the readers. The readers must still run while
    the sockets close: a socket nobody reads stops reading once its queue of frames is full,
    never sees the server's close frame, and waits out its close timeout (10 s each, one
    after the other: a full run once stalled here for over ten minutes)."""
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    for task in readers:
        task.cancel()
    await asyncio.gather(*readers, return_exceptions=True)


async def _open_loop(
    sockets: list[ClientConnection],
    sent_at: dict[str, float],
    rtts: list[float],
    rate: float,
    seconds: float,
    prefix: str,
    refused: Callable[[], int] = lambda: 0,
) -> Result:
    """Send `rate` messages a second round-robin over `sockets`; the readers fill `rtts`
    (and count, through ``refused``, the messages the server refused)."""

    def send_one(i: int) -> None:
        client_id = f"{prefix}{i}"
        sent_at[client_id] = time.perf_counter()
        frame = {"type": "message", "client_id": client_id, "text": f"bench {i}"}
        _spawn(sockets[i % len(sockets)].send(orjson.dumps(frame).decode()))

    start = time.perf_counter()
    sent, late = await _schedule(rate, seconds, send_one)
    await _settle(rtts, sent, refused)
    result = _summary(rate, sent, rtts, time.perf_counter() - start)
    return dataclasses.replace(result, late_p99_ms=late * 1000)


class SwitchboardLoad:
    """N widget customers and one logged-in console agent."""

    def __init__(self, base: str, customers: int) -> None:
        self.base = base
        self.ws_base = base.replace("http://", "ws://")
        self.count = customers
        self.customers: list[ClientConnection] = []
        self.console: ClientConnection | None = None
        self.sent_at: dict[str, float] = {}
        self.rtts: list[float] = []
        self.refused = 0
        self._tasks: list[asyncio.Task[None]] = []
        self._round = 0

    async def __aenter__(self) -> SwitchboardLoad:
        async with httpx.AsyncClient(base_url=self.base, timeout=30) as http:
            await http.post(
                "/console/api/login",
                json={"email": "agent@demo.switchboard.test", "password": "switchboard-demo"},
            )
            cookie = "; ".join(f"{k}={v}" for k, v in http.cookies.items())
            last = (await http.get("/console/api/conversations")).json()["last_event_id"]
            for _ in range(self.count):
                created = await http.post("/api/webchat/sessions", json={"inbox": "demo-web"})
                session = created.raise_for_status().json()
                ws = await connect(f"{self.ws_base}/ws/webchat", ping_interval=None)
                await ws.send(orjson.dumps({"type": "hello", "token": session["token"]}).decode())
                await ws.recv()
                self.customers.append(ws)
        self.console = await connect(
            f"{self.ws_base}/console/ws",
            ping_interval=None,
            additional_headers={"cookie": cookie},
            max_size=None,
        )
        # As the shipped console says hello (web_console/static/console.js): it reads the
        # frames queued for it together, as one batch frame.
        hello = {"type": "hello", "last_event_id": last, "batch": True}
        await self.console.send(orjson.dumps(hello).decode())
        self._tasks.append(asyncio.create_task(self._read_console()))
        self._tasks += [asyncio.create_task(self._drain(ws)) for ws in self.customers]
        return self

    async def __aexit__(self, *exc: object) -> None:
        await _close([*self.customers, *([self.console] if self.console else [])], self._tasks)

    async def _drain(self, ws: ClientConnection) -> None:
        async for raw in ws:
            if _has(raw, '"busy"'):
                self.refused += 1

    async def _read_console(self) -> None:
        assert self.console is not None
        async for raw in self.console:
            # Only message.created is timed: the other frames (a message's interpretation, a
            # conversation's new priority: as many again, and larger) are not parsed. The
            # generator shares the cores with the server it measures.
            if not _has(raw, '"message.created"'):
                continue
            frame = orjson.loads(raw)
            now = time.perf_counter()
            for one in frame["frames"] if frame.get("type") == "batch" else (frame,):
                if one.get("name") != "message.created":
                    continue
                message = one["data"]["message"]
                sent = self.sent_at.pop(message.get("client_id") or "", None)
                if sent is not None and message["author_kind"] == "customer":
                    self.rtts.append(now - sent)

    async def warm_up(self) -> None:
        """One message per customer opens each conversation, so the steps measure steady
        state (the first message of a conversation also writes the auto-reply). At most
        WARM_UP_RATE a second: a thousand customers opening in one second were partly
        refused, and their conversations then opened inside the first step."""
        rate = min(len(self.customers), WARM_UP_RATE)
        await self.run(rate, len(self.customers) / rate)

    async def run(self, rate: float, seconds: float) -> Result:
        self.rtts = []
        self.refused = 0
        self._round += 1
        result = await _open_loop(
            self.customers,
            self.sent_at,
            self.rtts,
            rate,
            seconds,
            f"r{self._round}-",
            lambda: self.refused,
        )
        return dataclasses.replace(result, refused=self.refused)


class EchoLoad:
    """The same customers and schedule against the bare echo server."""

    def __init__(self, url: str, customers: int) -> None:
        self.url = url
        self.count = customers
        self.sockets: list[ClientConnection] = []
        self.sent_at: dict[str, float] = {}
        self.rtts: list[float] = []
        self._tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> EchoLoad:
        self.sockets = [await connect(self.url, ping_interval=None) for _ in range(self.count)]
        self._tasks = [asyncio.create_task(self._read(ws)) for ws in self.sockets]
        return self

    async def __aexit__(self, *exc: object) -> None:
        await _close(self.sockets, self._tasks)

    async def warm_up(self) -> None:
        await self.run(len(self.sockets), 1.0)

    async def _read(self, ws: ClientConnection) -> None:
        async for raw in ws:
            sent = self.sent_at.pop(orjson.loads(raw)["client_id"], None)
            if sent is not None:
                self.rtts.append(time.perf_counter() - sent)

    async def run(self, rate: float, seconds: float) -> Result:
        self.rtts = []
        return await _open_loop(self.sockets, self.sent_at, self.rtts, rate, seconds, f"e{rate}-")
