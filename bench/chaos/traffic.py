"""Traffic through the proxy, every message followed from its send to each screen.

Customers are widgets as the real one behaves (channels/webchat/static): a message stays in
the outbox, sent again with the same client id, until it is acknowledged; a dropped socket
reconnects after a jittered back-off and resumes after the last seq it showed. Consoles resume
after the last event id they saw; each logs in as a different person (an admin, a supervisor
of the demo brand, an agent and a supervisor of the second brand), and every fourth widget
writes to the second brand, so what each console may see differs. Mail goes through the proxy's
SMTP port and is offered again, with the same Message-ID, until a 250; Telegram updates and
Slack events come signed through the proxy's webhooks and are delivered again until a 200.
Each message's text carries a token (``mark``), by which the ledger finds it in Postgres
afterwards: stored once, or lost, or duplicated.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import aiosmtplib
import httpx
import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

from bench import stand_ins
from bench.chaos.consoles import Consoles
from bench.chaos.ledger import (
    AGENT_PASSWORD,
    CONSOLE_AGENTS,
    INBOXES,
    Ledger,
    Sent,
    WidgetState,
    backoff,
)

MAIL_TO = "support@demo.switchboard.test"
# An unacknowledged message is offered again after this long (the widget's own timeout).
ACK_TIMEOUT = 10.0
TELEGRAM_PATH = "/channels/telegram/webhook"
SLACK_PATH = "/channels/slack/events"


@dataclass
class Traffic:
    """Customers, consoles and mail senders against ``url`` (and ``smtp_port``) until
    ``stop_sending`` is set; ``drain()`` then waits until every outbox is empty."""

    url: str
    smtp_port: int
    ledger: Ledger
    customers: int = 20
    consoles: int = 2
    mailers: int = 1
    # Telegram users whose updates come through the proxy's webhook (0: none).
    telegrams: int = 0
    telegram_secret: str = ""
    # Slack users whose signed events come through the proxy's webhook (0: none).
    slacks: int = 0
    interval: float = 1.0  # seconds between one customer's messages
    stop_sending: asyncio.Event = field(default_factory=asyncio.Event)
    finished: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _pending: int = 0
    _joined: int = 0
    _emptied: asyncio.Event = field(default_factory=asyncio.Event)
    cookies: dict[str, str] = field(default_factory=dict)
    _consoles: Consoles | None = None

    @property
    def ws(self) -> str:
        return self.url.replace("http://", "ws://")

    async def start(self) -> None:
        for email, _ in CONSOLE_AGENTS[: self.consoles]:
            self.cookies[email] = await self._login(email)
        consoles = self._consoles = Consoles(self.url, self.ledger, self.cookies)
        for i in range(self.consoles):
            self._tasks.append(asyncio.create_task(consoles.run(i)))
        # The consoles are there before the first message: one that read the event log's end
        # while an event with a lower id was still uncommitted would never see that event
        # (ids are handed out in one order and committed in another; see the report).
        async with asyncio.timeout(120):
            while len(consoles.welcomed) < self.consoles:  # noqa: ASYNC110 (a count, not one event)
                await asyncio.sleep(0.05)
        for i in range(self.customers):
            self._tasks.append(asyncio.create_task(self._customer(i)))
        for i in range(self.mailers):
            self._tasks.append(asyncio.create_task(self._mailer(i)))
        for i in range(self.telegrams):
            self._tasks.append(asyncio.create_task(self._telegram(i)))
        for i in range(self.slacks):
            self._tasks.append(asyncio.create_task(self._slack(i)))
        self._pending = self.customers + self.mailers + self.telegrams + self.slacks

    def join(self, count: int) -> None:
        """``count`` more widgets, from now (while a fault is on: their first session
        request may be refused, and must be given once the fault is over)."""
        first = self.customers + self._joined
        for i in range(first, first + count):
            self._tasks.append(asyncio.create_task(self._customer(i)))
        self._joined += count
        self._pending += count

    async def drain(self, settle: float = 3.0, within: float = 180.0) -> None:
        """Stop new messages, wait until each sender's outbox is empty, then let the
        last frames arrive (``settle`` seconds) before closing everything."""
        self.stop_sending.set()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(within):
                await self._emptied.wait()
                # A console replaying a long gap (after the bus's resync) finishes first.
                while self._consoles is not None and self._consoles.catching_up:  # noqa: ASYNC110 (a set of consoles, not one event)
                    await asyncio.sleep(0.1)
        await asyncio.sleep(settle)
        self.finished.set()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _sender_done(self) -> None:
        self._pending -= 1
        if self._pending == 0:
            self._emptied.set()

    async def _retire(self) -> None:
        """A sender told to stop: counted as done, then kept until the run is over."""
        self._sender_done()
        await self.finished.wait()

    async def _login(self, email: str) -> str:
        """Log in and go online (the router offers an online agent conversations, and the
        presence sweep watches them); the session's cookie."""
        attempt = 0
        while True:
            with contextlib.suppress(httpx.HTTPError):
                async with httpx.AsyncClient(
                    base_url=self.url, timeout=10, headers={"origin": self.url}
                ) as http:
                    answer = await http.post(
                        "/console/api/login", json={"email": email, "password": AGENT_PASSWORD}
                    )
                    if answer.status_code == 200:
                        status = await http.post(
                            "/console/api/me/status", json={"status": "online"}
                        )
                        if status.status_code < 300:
                            return "; ".join(f"{k}={v}" for k, v in http.cookies.items())
            attempt += 1
            await asyncio.sleep(backoff(attempt))

    # -- a widget ----------------------------------------------------------------------------

    async def _customer(self, n: int) -> None:
        ledger = self.ledger
        seen = ledger.widget_seen.setdefault(n, [])
        acks = ledger.ack_times.setdefault(n, [])
        token = await self._session(INBOXES[n % len(INBOXES)])
        # As the widget keeps it: its conversation and the last seq it showed there.
        state = WidgetState()
        outbox: Sent | None = None
        attempt = 0
        # Random phases: the customers' sends do not fall on the same tick.
        await asyncio.sleep(random.uniform(0, self.interval))
        while True:
            try:
                async with connect(f"{self.ws}/ws/webchat", open_timeout=10) as ws:
                    await ws.send(_text({"type": "hello", "token": token,
                                         "conversation_id": state.conversation,
                                         "last_seq": state.last_seq}))  # fmt: skip
                    welcome = orjson.loads(await asyncio.wait_for(ws.recv(), 10))
                    if welcome.get("type") != "welcome":
                        raise ConnectionError(str(welcome))
                    state.conversation = welcome["conversation_id"]
                    state.last_seq = int(welcome["resume_after"])
                    attempt = 0
                    replies: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
                    reader = asyncio.create_task(self._widget_reader(ws, seen, state, replies))
                    try:
                        while True:
                            if outbox is None:
                                if self.stop_sending.is_set():
                                    await self._retire()
                                    return
                                outbox = ledger.new("webchat", n)
                            outbox.attempts += 1
                            await ws.send(_text({"type": "message", "client_id": outbox.mark,
                                                 "text": outbox.mark}))  # fmt: skip
                            answer = await _answer(replies, reader, outbox.mark)
                            if answer is None:  # the socket closed: reconnect, offer again
                                break
                            if answer["type"] == "ack":
                                outbox.acked_at = time.monotonic()
                                outbox.message_id = answer["message_id"]
                                acks.append(outbox.acked_at)
                                outbox = None
                                await asyncio.sleep(self.interval)
                            else:
                                code = answer.get("code", "timeout")
                                ledger.refused(f"webchat {code}")
                                if code == "timeout":  # no answer: the harness's own retry
                                    await asyncio.sleep(float(answer.get("retry_after") or 1.0))
                                else:
                                    await asyncio.sleep(retry_wait(answer))
                    finally:
                        reader.cancel()
                        with contextlib.suppress(asyncio.CancelledError, Exception):
                            await reader
            except (OSError, TimeoutError, WebSocketException, ConnectionError, ValueError):
                pass
            ledger.reconnects += 1
            attempt += 1
            await asyncio.sleep(backoff(attempt))

    async def _widget_reader(
        self,
        ws: ClientConnection,
        seen: list[tuple[int, int]],
        state: WidgetState,
        replies: asyncio.Queue[dict[str, Any]],
    ) -> None:
        async for raw in ws:
            frame = orjson.loads(raw)
            kind = frame.get("type")
            if kind in ("ack", "error"):
                await replies.put(frame)
            elif kind in ("message", "message-view"):
                message = frame["message"]
                seq = int(message["seq"])
                seen.append((int(message["id"]), seq))
                if message["conversation_id"] != state.conversation:
                    state.conversation, state.last_seq = message["conversation_id"], 0
                state.last_seq = max(state.last_seq, seq)

    async def _session(self, inbox: str) -> str:
        """As the widget asks for its session: one key for every try (a try that reached a
        node whose answer was lost gives the same visitor), again after a jittered back-off
        or the Retry-After given, until a 201. Each session given is counted, and how long
        it took when it was refused first (ledger.sessions)."""
        key = secrets.token_hex(16)
        began = time.monotonic()
        refused = False
        attempt = 0
        while True:
            wait = None
            try:
                async with httpx.AsyncClient(base_url=self.url, timeout=10) as http:
                    answer = await http.post(
                        "/api/webchat/sessions", json={"inbox": inbox, "key": key}
                    )
            except httpx.HTTPError:
                self.ledger.refused("session dropped")
            else:
                if answer.status_code == 201:
                    self.ledger.sessions.given(time.monotonic() - began, refused)
                    token: str = answer.json()["token"]
                    return token
                self.ledger.refused(f"session {answer.status_code}")
                with contextlib.suppress(ValueError):
                    wait = float(answer.headers.get("retry-after", ""))
            refused = True
            attempt += 1
            await asyncio.sleep(max(wait or 0.0, backoff(attempt)))

    # -- a mail sender -----------------------------------------------------------------------

    async def _mailer(self, n: int) -> None:
        while True:
            if self.stop_sending.is_set():
                await self._retire()
                return
            entry = self.ledger.new("mail", n)
            mail = EmailMessage()
            # People of this run's own: a conversation an earlier scenario handed to a person
            # keeps the bot silent, and this run's replies are what it counts.
            mail["From"] = f"customer{n}-{self.ledger.run}@mail.chaos.test"
            mail["To"] = MAIL_TO
            mail["Subject"] = f"chaos {entry.mark}"
            mail["Message-ID"] = f"<{entry.mark}@mail.chaos.test>"
            mail.set_content(f"{entry.mark}\n")
            attempt = 0
            # A sender keeps a mail until it is taken (a 4xx or a dropped line: again later).
            while True:
                entry.attempts += 1
                try:
                    await aiosmtplib.send(
                        mail, hostname="127.0.0.1", port=self.smtp_port, timeout=15,
                        start_tls=False, use_tls=False,
                    )  # fmt: skip
                except aiosmtplib.SMTPResponseException as exc:
                    self.ledger.refused(f"smtp {exc.code}")
                except (aiosmtplib.SMTPException, OSError, TimeoutError):
                    self.ledger.refused("smtp dropped")
                else:
                    entry.acked_at = time.monotonic()
                    break
                attempt += 1
                await asyncio.sleep(backoff(attempt, base=1.0))
            await asyncio.sleep(self.interval * 2)

    # -- a Telegram user -----------------------------------------------------------------------

    async def _telegram(self, n: int) -> None:
        """Telegram's side: an update is delivered again (same update_id) until a 200."""
        headers = {"X-Telegram-Bot-Api-Secret-Token": self.telegram_secret}
        async with httpx.AsyncClient(base_url=self.url, timeout=15) as http:
            while True:
                if self.stop_sending.is_set():
                    await self._retire()
                    return
                entry = self.ledger.new("telegram", n)
                # Ids of this run's own: Telegram's update_id and message_id are each stored
                # once, so a later run reusing them would be taken for a redelivery.
                unique = int(self.ledger.run, 16) % 10**6 * 10**6 + self.ledger.serial
                user = 7000 + n + int(self.ledger.run, 16) % 10**6 * 100
                update = stand_ins.telegram_update(unique, entry.mark, user)

                def post(_: int, update: dict[str, Any] = update) -> Awaitable[httpx.Response]:
                    return http.post(TELEGRAM_PATH, json=update, headers=headers)

                await self._until_acknowledged(entry, "telegram", post)
                await asyncio.sleep(self.interval * 2)

    # -- a Slack user --------------------------------------------------------------------------

    async def _slack(self, n: int) -> None:
        """Slack's side: a signed event is delivered again (same event_id, with
        X-Slack-Retry-Num) until a 200, after the Retry-After a 503 gives."""
        async with httpx.AsyncClient(base_url=self.url, timeout=15) as http:
            while True:
                if self.stop_sending.is_set():
                    await self._retire()
                    return
                entry = self.ledger.new("slack", n)
                serial = self.ledger.serial
                person = f"U{7000 + n}{self.ledger.run.upper()}"
                event = stand_ins.slack_event(serial, entry.mark, person)
                # This run's own ids: Slack's event_id and the message's ts are each kept
                # once, so another run reusing them would be taken for a redelivery.
                event["event_id"] = f"Ev{self.ledger.run}{serial:08d}"
                ts = f"{1700000000 + int(self.ledger.run, 16) % 10**8}.{serial:06d}"
                event["event"]["ts"] = event["event"]["event_ts"] = ts
                body = orjson.dumps(event)

                def post(attempt: int, body: bytes = body) -> Awaitable[httpx.Response]:
                    headers = stand_ins.slack_signed(body)
                    if attempt:
                        headers["X-Slack-Retry-Num"] = str(attempt)
                        headers["X-Slack-Retry-Reason"] = "http_error"
                    return http.post(SLACK_PATH, content=body, headers=headers)

                await self._until_acknowledged(entry, "slack", post)
                await asyncio.sleep(self.interval * 2)

    async def _until_acknowledged(
        self,
        entry: Sent,
        channel: str,
        post: Callable[[int], Awaitable[httpx.Response]],
    ) -> None:
        """As Telegram and Slack do: the same update or event again (``post`` gets the retry's
        number) until a 200, after the Retry-After a 503 gives, else a growing back-off."""
        attempt = 0
        while True:
            entry.attempts += 1
            wait = None
            try:
                answer = await post(attempt)
            except httpx.HTTPError:
                self.ledger.refused(f"{channel} dropped")
            else:
                if answer.status_code == 200:
                    entry.acked_at = time.monotonic()
                    return
                self.ledger.refused(f"{channel} {answer.status_code}")
                with contextlib.suppress(ValueError):
                    wait = float(answer.headers.get("retry-after", ""))
            attempt += 1
            await asyncio.sleep(wait if wait is not None else backoff(attempt, 1.0))


async def _answer(
    replies: asyncio.Queue[dict[str, Any]], reader: asyncio.Task[None], client_id: str
) -> dict[str, Any] | None:
    """The ack or error for ``client_id``; a timeout as an error; None if the socket closed."""
    deadline = time.monotonic() + ACK_TIMEOUT
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return {"type": "error", "code": "timeout", "retry_after": 0.1}
        getter = asyncio.ensure_future(replies.get())
        done, _ = await asyncio.wait({getter, reader}, timeout=left, return_when="FIRST_COMPLETED")
        if getter not in done:
            getter.cancel()
            if reader in done:
                return None
            continue
        frame = getter.result()
        if frame.get("client_id") == client_id:
            return frame


# widget.js: a message refused as busy is offered again after the server's hint (at least
# 1 s) and up to half of it more; one refused as unavailable (the database away), after 3 s.
UNAVAILABLE_AGAIN = 3.0


def retry_wait(error: dict[str, Any]) -> float:
    """How long the widget waits before offering a refused message again, ``error`` being
    the server's frame (busy: its ``retry_after``, at least 1 s, and a random half of it
    more; unavailable: 3 s)."""
    if error.get("code") != "busy":
        return UNAVAILABLE_AGAIN
    hint = max(1.0, float(error.get("retry_after") or 1.0))
    return hint * random.uniform(1.0, 1.5)


def _text(frame: dict[str, Any]) -> str:
    return orjson.dumps(frame).decode()
