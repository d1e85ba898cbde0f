"""What the cluster sent out, as the far side received it: the Telegram and Slack stand-ins
(bench/stand_ins.py, wrapped here so every call is recorded) and an SMTP relay (aiosmtpd).

Every reply the harness can follow carries the customer's mark (the fake Rasa answers
``Hello! <the customer's text>``), so a reply received twice is a duplicate the channel's
customer would see; mail is also counted by its Message-ID, which Switchboard keeps stable
across attempts (a mail client collapses repeats of one Message-ID, but they are reported
here, not hidden). ``count`` compares with what Postgres says was sent.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

MARK = re.compile(r"cx-[0-9a-f]{8}-[a-z]+-[0-9]+")

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass
class Received:
    """Per channel, each mark (and, for mail, each Message-ID) and how many times it came."""

    marks: dict[str, Counter[str]] = field(default_factory=dict)
    message_ids: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, channel: str, text: str, message_id: str | None = None) -> None:
        with self._lock:
            counter = self.marks.setdefault(channel, Counter())
            for mark in set(MARK.findall(text)):
                counter[mark] += 1
            if message_id:
                self.message_ids[message_id] += 1

    def of(self, channel: str, run: str) -> Counter[str]:
        with self._lock:
            found = self.marks.get(channel, Counter())
            return Counter({m: c for m, c in found.items() if m.startswith(f"cx-{run}-")})


class Recording:
    """An ASGI app that records the body of each Web API call that sends a message, then
    hands the request on unchanged."""

    def __init__(self, app: App, channel: str, received: Received, methods: set[str]) -> None:
        self.app, self.channel, self.received, self.methods = app, channel, received, methods

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].rsplit("/", 1)[-1] not in self.methods:
            await self.app(scope, receive, send)
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        self.received.record(self.channel, body.decode(errors="replace"))
        sent = False

        async def replay() -> MutableMapping[str, Any]:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


class _RelayHandler:
    def __init__(self, received: Received) -> None:
        self.received = received

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        msg = BytesParser(policy=policy.default).parsebytes(envelope.original_content or b"")
        assert isinstance(msg, EmailMessage)
        body = msg.get_body(("plain",))
        text = body.get_content() if body is not None else ""
        self.received.record("email", str(text), str(msg.get("Message-ID", "")).strip("<> "))
        return "250 OK"


class Relay:
    """The SMTP relay the nodes send replies through, in a thread of its own."""

    def __init__(self, received: Received) -> None:
        from bench.processes import free_port

        self.port = free_port()
        self._controller = Controller(
            _RelayHandler(received), hostname="127.0.0.1", port=self.port,
            server_hostname="relay.chaos.test",
        )  # fmt: skip

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}?starttls=never"

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()


@dataclass
class Delivered:
    """A scenario's outbound figures for one channel."""

    channel: str
    # Replies carrying a customer's mark stored for this run, and those the far side got.
    replies: int = 0
    received: int = 0
    # Stored replies whose delivery says sent and that never arrived, or still pending/failed.
    lost: int = 0
    pending: int = 0
    # Of those pending, the ones the far side has (sent, the outcome not written).
    pending_received: int = 0
    failed: int = 0
    # Arrivals past the first of one reply (mail: also by Message-ID).
    duplicated: int = 0

    def line(self) -> str:
        return (
            f"{self.channel} out: {self.received}/{self.replies} received, {self.lost} lost,"
            f" {self.duplicated} dup, {self.pending} pending ({self.pending_received} of them"
            f" received), {self.failed} failed"
        )


async def until_settled(check: Callable[[], Awaitable[bool]], within: float) -> None:
    """Poll ``check`` each half second until it holds or ``within`` seconds pass."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await check() and loop.time() < deadline:  # noqa: ASYNC110 (Postgres, polled)
        await asyncio.sleep(0.5)
