"""The Telegram channel inside the server: connect, receive (webhook or long polling), deliver.

Connecting (getMe, then setWebhook or deleteWebhook) retries with backoff, so a Bot API that
cannot be reached at start does not stop the server; ``state()`` feeds /readyz. Every update
is stored before it counts as received: the webhook answers only after the store, and long
polling moves its offset (kept in Postgres) past an update only once it is stored, so a node
killed mid-stream loses nothing and a redelivery is stored once (the message's id is the
bot's id and the update_id). Replies leave through the outbox.

The webhook holds each update as Telegram sent it (``store.telegram_updates``, keyed by the
bot's id, which the token gives, and the update_id) and answers 200 once it is on disk: the
updates arriving together are written by one statement and one commit (group commit), and
nothing else happens before the answer. A drainer then reads them as messages (which needs
the bot's username: until the bot has connected they stay held), oldest first, a batch at a
time: a batch's chats are stored side by side, each chat's updates in their order, and the
batch is deleted in the transaction that locked it, so a node killed part-way leaves it held
for the next drain (the messages already stored are not stored twice). Updates held by a node
that stopped are taken by the next one that connects. Back-pressure: past MAX_HELD updates
waiting, the webhook answers 503 with Retry-After; the drainer itself waits while the
pipeline is saturated, so the held table, not memory, takes a burst.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from typing import Any

import structlog
from cachetools import TTLCache

from channels.base import Attachment, Busy, DeliveryError, InboundMessage, Sender
from channels.segments import segments
from channels.telegram.client import TelegramClient
from channels.telegram.port import RawUpdate
from channels.telegram.routes import WEBHOOK_PATH
from channels.telegram.translate import (
    MAX_TEXT,
    RATING_BUTTONS,
    Incoming,
    NotAnUpdate,
    external_id,
    incoming,
    kb_buttons,
)
from server import events, store
from server.delivery.outbox import Sent, Suppressed, send_parts
from server.delivery.reconnect import describe, keep_trying
from server.events import Event
from server.live.bus import EventBus
from server.metrics import Metrics
from server.pipeline.flow import Pipeline
from server.services.held_batches import DrainPace, all_or_first_error, woken
from server.store import Pool, csat, cursors, kb_feedback, queue, telegram_updates
from server.store.group_commit import GroupCommit
from server.store.telegram_updates import HeldUpdate

log = structlog.get_logger(__name__)

# Long polling's lease outlives a getUpdates by this much (the time to store what it got).
LEASE_MARGIN_SECONDS = 5
CHAT_CACHE_SECONDS = 60.0
# Conversations whose chat is remembered for typing (a bounded TTL cache).
CHAT_CACHE_SIZE = 10_000
# "typing…" calls to the Bot API at once; more agents typing at once are not shown.
TYPING_IN_FLIGHT = 100
# Held updates read in one transaction, and chats of a batch stored at once.
DRAIN_BATCH = 200
DRAIN_CHATS = 16
# Updates held and not yet read past which the webhook answers 503 (Retry-After): about two
# minutes of draining on two shared cores, some 100 MB in Postgres. A burst fills it at the
# webhook's pace; the fuller it is, the larger the share the drainer takes meanwhile (DrainPace).
MAX_HELD = 100_000
RETRY_AFTER = 1.0
# One batch of held updates written at a time, as Slack's events are (server/services/
# slack.py, HOLD_WRITERS): fewer, larger commits (0.13-0.15 an acknowledgement against
# 0.18-0.24 with three writers), p99 25-43 ms against 81-183 ms.
HOLD_WRITERS = 1
# How long the drainer waits before looking again while the pipeline is saturated.
SATURATED_PAUSE = 0.05


class TelegramService:
    def __init__(
        self,
        pool: Pool,
        pipeline: Pipeline,
        bus: EventBus,
        client: TelegramClient,
        *,
        webhook_url: str | None,
        webhook_secret: str | None,
        brand: str | None = None,
        path: str = WEBHOOK_PATH,
        poll_seconds: int = 25,
        metrics: Metrics | None = None,
    ) -> None:
        self._pool = pool
        self._metrics = metrics
        self.brand = brand
        # Where Telegram posts this bot's updates; the default bot has the plain path.
        self.path = path
        self.webhook_secret = webhook_secret
        self._pipeline = pipeline
        self._bus = bus
        self._client = client
        self._webhook_url = webhook_url
        self._webhook_secret = webhook_secret
        # Known from the token at once; the username only once getMe has answered.
        self._bot_id = client.bot_id
        self._username: str | None = None
        # Set once the held updates were drained after connecting ("connected" waits for it).
        self._caught_up = False
        self._held = asyncio.Event()
        self._holding: GroupCommit[HeldUpdate] = GroupCommit(pool, self._hold, writers=HOLD_WRITERS)
        # Held and not yet drained, as this node counts them (start: what Postgres holds).
        self._backlog = 0
        self._pace = DrainPace(DRAIN_BATCH, capacity=MAX_HELD)
        self._draining = asyncio.Lock()
        self._drainer: asyncio.Task[None] | None = None
        self._state: dict[str, Any] = {"ok": True, "status": "connecting"}
        self._task: asyncio.Task[None] | None = None
        self._chats: TTLCache[str, cursors.TelegramPlace | None] = TTLCache(
            maxsize=CHAT_CACHE_SIZE, ttl=CHAT_CACHE_SECONDS
        )
        # "typing…" calls in flight: owned, bounded (best effort: past the bound, skipped).
        self._typings: set[asyncio.Task[None]] = set()
        self._poll_seconds = poll_seconds
        # Who this node is to the polling lease (one node polls a bot; Telegram answers 409
        # Conflict to a second getUpdates).
        self._holder = f"node-{uuid.uuid4().hex[:12]}"

    @property
    def username(self) -> str | None:
        return self._username

    def state(self) -> dict[str, Any]:
        return {**self._state, "mode": "webhook" if self._webhook_url else "polling"}

    async def start(self) -> None:
        async with self._pool.acquire() as conn:
            self._backlog = await telegram_updates.held_count(conn, self._bot_id)
        self._bus.subscribe(self._on_event)
        self._task = asyncio.create_task(self._run(), name="telegram")
        self._drainer = asyncio.create_task(self._store_held(), name="telegram-held")

    async def close(self) -> None:
        for task in (self._task, self._drainer, *self._typings):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self._holding.close()
        if self._username is not None and self._webhook_url is None:
            # Hand polling over now rather than when the lease runs out.
            with contextlib.suppress(Exception):
                async with self._pool.acquire() as conn:
                    await queue.release_lease(conn, self._lease, self._holder)
        await self._client.close()

    async def _run(self) -> None:
        async def attempt() -> None:
            if self._username is None:
                await self._connect()
            if not self._caught_up:
                # Before "connected": a 200 from then on means the update is a message.
                await self._drain()
                self._state = {"ok": True, "status": "connected", "bot": self._username}
                log.info("telegram connected", bot=self._username, webhook=bool(self._webhook_url))
            if self._webhook_url is None:
                await self._poll()  # returns only by raising

        await keep_trying("telegram", attempt, self._retrying)

    def _retrying(self, error: str) -> None:
        self._state = {"ok": True, "status": "retrying", "error": error}

    async def _connect(self) -> None:
        username = await self._client.username()
        if self._webhook_url is not None:
            await self._client.set_webhook(self._webhook_url, self._webhook_secret)
        else:
            await self._client.delete_webhook()  # getUpdates refuses while a webhook is set
        async with self._pool.acquire() as conn:
            await store.ensure_inbox(
                conn, "telegram", username, f"Telegram @{username}", self.brand
            )
        self._username = username

    @property
    def _lease(self) -> str:
        return f"telegram-poll:{self._bot_id}"

    async def _poll(self) -> None:
        account = str(self._bot_id)
        username = self._username
        assert username is not None
        # Set afresh here too: after a failed poll keep_trying comes back to this loop, not to
        # _connect, and the state must not stay "retrying" once polling works again.
        connected = {"ok": True, "status": "connected", "bot": self._username}
        lease_seconds = 2 * self._poll_seconds + LEASE_MARGIN_SECONDS
        while True:
            async with self._pool.acquire() as conn:
                held = await queue.acquire_lease(conn, self._lease, self._holder, lease_seconds)
                done = await cursors.position(conn, "telegram", account)
            if not held:
                self._state = {**connected, "status": "standby", "detail": "another node polls"}
                await asyncio.sleep(self._poll_seconds)
                continue
            updates = await self._client.updates(
                None if done is None else done + 1, wait_seconds=self._poll_seconds
            )
            self._state = connected
            for update in updates:
                found = incoming(update, username)
                if found is not None:
                    await self._store(found)
                async with self._pool.acquire() as conn:
                    await cursors.advance(conn, "telegram", account, update.update_id)

    async def receive(self, update: RawUpdate) -> None:
        """The webhook's update, held (on disk) before it answers; read as a message by the
        drainer. Raises Busy past MAX_HELD waiting updates (nothing stored)."""
        if self._backlog >= MAX_HELD:
            if self._metrics is not None:
                self._metrics.refused.labels("telegram").inc()
            raise Busy(RETRY_AFTER)
        await self._holding.add(HeldUpdate(update.update_id, update.body))
        self._backlog += 1
        self._pace.arrived()
        if self._username is not None:
            self._held.set()

    async def _hold(self, conn: store.Conn, updates: list[HeldUpdate]) -> None:
        await telegram_updates.hold_many(conn, self._bot_id, updates)

    async def _store_held(self) -> None:
        """Owned task: each time it is woken (an update held just as the bot connected), and
        every few seconds anyway (``woken``), turn the held updates into messages."""
        while True:
            await woken(self._held)
            if self._username is not None:
                await keep_trying("telegram", self._drain, lambda error: None)

    async def _drain(self) -> None:
        """Every held update, oldest first, a batch at a time: each batch locked, its
        messages stored, then deleted, in one transaction (a node that dies part-way leaves
        the batch held; another node skips the batch one holds). One drain at a time on a
        node, so each chat's updates become messages in their order."""
        async with self._draining:
            while True:
                batch = await self._pace.before_batch(lambda: self._backlog)
                while self._pipeline.saturated:  # noqa: ASYNC110 (a gauge, no event to await)
                    await asyncio.sleep(SATURATED_PAUSE)
                started = time.monotonic()
                async with self._pool.acquire() as conn, conn.transaction():
                    held = await telegram_updates.take_oldest_many(conn, self._bot_id, batch)
                    if not held:
                        self._caught_up = True
                        return
                    await self._store_batch(held)
                    await telegram_updates.forget_many(
                        conn, self._bot_id, [h.update_id for h in held]
                    )
                self._pace.read(len(held), time.monotonic() - started)
                self._backlog = max(0, self._backlog - len(held))

    async def _store_batch(self, held: list[HeldUpdate]) -> None:
        """The batch's messages: its chats side by side (at most DRAIN_CHATS at once), each
        chat's in update order. A failure fails the batch (kept held, drained again)."""
        assert self._username is not None
        chats: dict[int, list[Incoming]] = {}
        for update in held:
            try:
                found = incoming(RawUpdate(update.update_id, update.body), self._username)
            except NotAnUpdate:
                # JSON with an update_id but not an update: kept, it would block the rest.
                log.error("a held Telegram update is unreadable", update_id=update.update_id)
                continue
            if found is not None:
                chats.setdefault(found.chat_id, []).append(found)
        slots = asyncio.Semaphore(DRAIN_CHATS)

        async def chat(messages: list[Incoming]) -> None:
            async with slots:
                for found in messages:
                    await self._store(found)

        await all_or_first_error([chat(messages) for messages in chats.values()])

    async def _store(self, found: Incoming) -> None:
        """Store the update's message (once)."""
        assert self._username is not None
        if "rating_question" in found.meta and not await self._survey_open(found):
            # A press is not a message: on a survey answered already (by a press or a typed
            # number) or closed (a day later, or the customer wrote again) nothing is stored,
            # and no new conversation opens saying "5". The press is still answered.
            with contextlib.suppress(Exception):
                await self._client.answer_callback(found.meta["callback_query_id"])
            return
        attachments = await self._download(found)
        await self._pipeline.ingest(
            InboundMessage(
                channel="telegram",
                inbox_address=self._username,
                external_id=external_id(self._bot_id, found.update_id),
                sender=Sender(external_id=str(found.user_id), name=found.name),
                text=found.text,
                thread=found.thread,
                attachments=attachments,
                meta={**found.meta, "username": found.username},
            )
        )
        if "callback_query_id" in found.meta:
            # A rating or yes/no button: stored (and answered in the chat); the press itself is
            # answered so the customer's app stops waiting. Best effort: an old press
            # Telegram no longer knows is refused, and that changes nothing.
            with contextlib.suppress(Exception):
                await self._client.answer_callback(found.meta["callback_query_id"])

    async def _survey_open(self, press: Incoming) -> bool:
        """Whether a press on a rating button would answer its survey now. A question
        Switchboard did not record sending (one sent in parts keys its last part) counts as
        open: the pipeline's own rules then decide, as for a typed number."""
        async with self._pool.acquire() as conn:
            asked = await csat.asked_as(conn, "telegram", str(press.meta["rating_question"]))
        return asked is None or asked["waiting"]

    async def _download(self, incoming: Incoming) -> tuple[Attachment, ...]:
        files = []
        for ref in incoming.files:
            try:
                content = await self._client.download(ref.file_id)
            except Exception as exc:
                # The message is stored anyway; the agent sees that a file did not come.
                log.warning("telegram file download failed", error=describe(exc))
                incoming.meta.setdefault("missing_files", []).append(ref.filename)
                continue
            files.append(Attachment(ref.filename, ref.content_type, content))
        return tuple(files)

    # -- outgoing ------------------------------------------------------------------------------

    async def deliver(self, message_id: int) -> Sent | Suppressed:
        async with self._pool.acquire() as conn:
            place = await cursors.telegram_place(conn, message_id)
            text = await store.message_text(conn, message_id)
            files = await store.attachments_of(conn, message_id)
            rating = await csat.is_question(conn, message_id)
            kb_language = await kb_feedback.answer_language(conn, message_id)
        if text is None:
            return Suppressed("the message no longer exists")
        if place is None:
            raise DeliveryError("no Telegram chat to answer in", permanent=True)
        # The text (in parts if long), then each file: every one a Telegram message, counted.
        texts = segments(text, MAX_TEXT) if text.strip() else []
        parts: list[str | Attachment] = [*texts, *files]
        if not parts:
            return Suppressed("nothing to send: no text and no files")

        # The rating question carries its 1-5 keyboard, the bot's articles their yes/no one
        # (on the last part).
        keyed = texts[-1] if (rating or kb_language) and texts else None
        keyboard = RATING_BUTTONS if rating else kb_buttons(kb_language)

        async def send(part: str | Attachment) -> str:
            buttons = keyboard if part is keyed else ()
            sent_id = await (
                self._client.send_text(place.chat, part, place.topic, buttons)
                if isinstance(part, str)
                else self._client.send_file(place.chat, part, place.topic)
            )
            return f"{place.chat}:{sent_id}"

        first = await send_parts(self._pool, message_id, parts, send)
        detail = "sent" if len(parts) == 1 else f"sent in {len(parts)} parts"
        return Sent(external_id=first, detail=detail)

    def _on_event(self, event: Event) -> None:
        data = event.data
        agent_typing = (
            event.name == events.TYPING and data.get("author_kind") == "agent" and data["active"]
        )
        if agent_typing and len(self._typings) < TYPING_IN_FLIGHT:
            task = asyncio.get_running_loop().create_task(self._typing(event.conversation_id))
            self._typings.add(task)
            task.add_done_callback(self._typings.discard)

    async def _typing(self, conversation_id: str) -> None:
        """Show "typing…" in the customer's chat while an agent types (best effort)."""
        if conversation_id not in self._chats:
            async with self._pool.acquire() as conn:
                address = await store.inbox_address_of_conversation(
                    conn, conversation_id, "telegram"
                )
                place = (
                    await cursors.telegram_place_of_conversation(conn, conversation_id)
                    if address is not None and address == self._username
                    else None
                )
            self._chats[conversation_id] = place
        place = self._chats.get(conversation_id)
        if place is not None:
            with contextlib.suppress(Exception):
                await self._client.typing(place.chat, place.topic)


class TelegramBots:
    """Every configured bot (each may serve another brand); the outbox's Telegram deliverer."""

    def __init__(self, pool: Pool, bots: list[TelegramService]) -> None:
        self._pool = pool
        self.bots = bots

    async def start(self) -> None:
        for bot in self.bots:
            await bot.start()

    async def close(self) -> None:
        for bot in self.bots:
            with contextlib.suppress(Exception):
                await bot.close()

    def state(self) -> dict[str, Any]:
        """Connected when every bot is; otherwise the first one's trouble."""
        states = [bot.state() for bot in self.bots]
        worst = next((s for s in states if s["status"] == "retrying"), None) or next(
            (s for s in states if s["status"] != "connected"), states[0]
        )
        return {**worst, "bots": states}

    async def deliver(self, message_id: int) -> Sent | Suppressed:
        async with self._pool.acquire() as conn:
            address = await store.inbox_address_of_message(conn, message_id)
        bot = next((b for b in self.bots if b.username == address), None)
        if bot is None:
            # The bot is configured but not connected yet, or no longer configured.
            raise DeliveryError(f"no connected bot for @{address}", permanent=False)
        return await bot.deliver(message_id)
