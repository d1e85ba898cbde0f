"""The one path every message takes, from every channel.

ingest: resolve contact → find or open conversation → persist, de-duplicated by the message's
unique channel id → commit → publish → (in the background, in order per conversation) route:
understand (NLU, language, sentiment) → decide → bot answer or handoff (placed in a team's
queue by the router, in the same transaction) → commit → publish → wake the router.
For a known sender with an open conversation, the persist step is one autocommit statement
(the hot path), and the channel acknowledges as soon as it returns: a slow or failed NLU never
delays or loses a message. Agent replies take the same write-then-publish path. Events are
published only after their commit, so a subscriber that sees an event can read its rows.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog

from channels.base import Attachment, InboundMessage
from nlu.base import BotTurn, Dialogue, Interpretation
from nlu.understanding import Understanding
from routing.decision import BotPolicy, Decision, Situation, Texts, after_bot, decide
from routing.hours import BusinessHours
from server import events, store
from server.dispatch.router import Router
from server.errors import Conflict, NotFound
from server.events import Event
from server.live.bus import EventBus
from server.metrics import Metrics
from server.store import ConversationRow, Pool, queue
from server.workers import WorkQueue

log = structlog.get_logger(__name__)

# How long an inbox lookup is reused; an edited inbox takes effect within this time.
INBOX_CACHE_SECONDS = 30.0
# Messages left unrouted by a node that died are routed at start-up if younger than this;
# older ones are an agent's business (they are in the console already).
UNROUTED_MAX_AGE_SECONDS = 24 * 3600.0
# Routing's concurrency and backlog: enough workers that one slow conversation (its lock held
# while Rasa answers) does not stall the others; a backlog past the queue waits in Postgres.
ROUTING_WORKERS = 32
ROUTING_QUEUE = 10_000


@dataclass(frozen=True, slots=True)
class Stored:
    """The stored message and whether it had been stored before (a retried delivery)."""

    message: dict[str, Any]
    duplicate: bool


class _AlreadyStored(Exception):
    """Raised inside a transaction to roll it back when a concurrent twin won the insert."""


class Pipeline:
    """Writes, then publishes. Owned by the composition root; shared by every channel."""

    def __init__(
        self,
        pool: Pool,
        bus: EventBus,
        metrics: Metrics,
        understanding: Understanding,
        policy: BotPolicy,
        texts: Texts,
        hours: BusinessHours | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        router: Router | None = None,
    ) -> None:
        self._pool = pool
        self._bus = bus
        self._metrics = metrics
        self._understanding = understanding
        self._policy = policy
        self._texts = texts
        self._hours = hours
        self._clock = clock
        # Places handed-over conversations in a queue; None: they wait unscored (tests).
        self._router = router
        self._inboxes: dict[tuple[str, str], tuple[float, store.Inbox]] = {}
        # Routing runs after the acknowledgement, one message at a time per conversation, on
        # a bounded queue: past its size a message waits in Postgres (unrouted) for the sweep.
        self._routing: WorkQueue[dict[str, Any]] = WorkQueue(
            "route", self._route, workers=ROUTING_WORKERS, size=ROUTING_QUEUE
        )
        self._resweep: asyncio.Task[None] | None = None
        # conversation id -> (its lock, how many routings hold or wait for it)
        self._conversation_locks: dict[str, tuple[asyncio.Lock, int]] = {}

    async def ingest(self, inbound: InboundMessage) -> Stored:
        """Store a customer's message once and publish it; routing follows in the background."""
        started = time.perf_counter()
        async with self._pool.acquire() as conn:
            inbox = await self._inbox(conn, inbound.channel, inbound.inbox_address)
            # The common case in one statement, committed on its own; de-duplication is the
            # unique (channel, external_id) key. Threads, files and details take the longer way.
            plain = inbound.thread is None and not inbound.attachments and not _meta(inbound)
            appended: Any = store.NO_OPEN_CONVERSATION
            if plain:
                appended = await store.append_to_open_conversation(
                    conn,
                    inbox,
                    inbound.sender.external_id,
                    external_id=inbound.external_id,
                    text=inbound.text,
                )
            if appended is store.NO_OPEN_CONVERSATION:
                try:
                    message, stored_events = await self._open_and_append(conn, inbox, inbound)
                except _AlreadyStored:
                    message = None
            else:
                conv, message, event_id = appended
                if message is not None:
                    stored_events = [_message_created(conv, message, event_id)]
            if message is None:
                earlier = await store.message_by_external_id(
                    conn, inbound.channel, inbound.external_id
                )
                assert earlier is not None
                return Stored(earlier, duplicate=True)
        await self._publish(stored_events)
        self._metrics.messages_in.labels(inbound.channel).inc()
        self._metrics.ingest_seconds.observe(time.perf_counter() - started)
        self._schedule_routing(message)
        return Stored(message, duplicate=False)

    def _schedule_routing(self, message: dict[str, Any]) -> None:
        if self._routing.offer(message) or self._resweep is not None:
            return
        log.warning("routing queue full; the rest is routed from the database once it drains")
        self._resweep = asyncio.create_task(self._route_refused(), name="route-resweep")

    async def _route_refused(self) -> None:
        """Once the queue has drained, route what it refused (still unrouted in Postgres),
        again until a pass is refused nothing. Refusals meanwhile are counted, not spawned."""
        try:
            while True:
                await self._routing.settled()
                refused = self._routing.refused
                await self.route_unrouted()
                if self._routing.refused == refused:
                    break
        except Exception:
            log.exception("routing the refused messages failed")
        finally:
            # No await between the last check and here: nothing can be refused unnoticed.
            self._resweep = None

    async def route_unrouted(self) -> int:
        """Route the messages a node stored and acknowledged but died before routing (at
        start-up). Safe on several nodes at once: a message is interpreted only once."""
        async with self._pool.acquire() as conn:
            pending = await store.unrouted_messages(conn, UNROUTED_MAX_AGE_SECONDS)
        for message in pending:
            self._schedule_routing(message)  # in seq order: the per-conversation lock keeps it
        if pending:
            log.info("routing messages left unrouted", count=len(pending))
        return len(pending)

    async def settled(self) -> None:
        """Wait until every message ingested so far has been routed (tests, shutdown)."""
        while True:
            await self._routing.settled()
            if self._resweep is None:
                return
            await asyncio.gather(self._resweep, return_exceptions=True)

    async def close(self) -> None:
        if self._resweep is not None:
            self._resweep.cancel()
        await self._routing.close()

    async def _open_and_append(
        self, conn: store.Conn, inbox: store.Inbox, inbound: InboundMessage
    ) -> tuple[dict[str, Any], list[Event]]:
        """A first message from a sender, or one after their conversation was resolved: resolve
        the contact, open a conversation and store, in one transaction."""
        async with conn.transaction():
            contact_id = await store.resolve_contact(
                conn, inbox["brand_id"], inbound.channel, inbound.sender
            )
            if inbound.thread is None:
                conv, opened = await store.lock_open_conversation(conn, inbox, contact_id)
                how = "opened" if opened else "open"
            else:
                conv, how = await store.lock_thread_conversation(
                    conn, inbox, contact_id, inbound.thread, inbound.subject
                )
            message = await store.insert_message(
                conn,
                conv["id"],
                direction="in",
                author_kind="customer",
                channel=inbound.channel,
                external_id=inbound.external_id,
                text=inbound.text,
                meta=_meta(inbound),
            )
            if message is None:
                raise _AlreadyStored  # rolls the transaction back
            if inbound.attachments:
                await store.insert_attachments(conn, message["id"], inbound.attachments)
            pending = [_message_created(conv, message)]
            if how != "open":
                view = await store.conversation(conn, conv["id"])
                name = (
                    events.CONVERSATION_CREATED if how == "opened" else events.CONVERSATION_UPDATED
                )
                pending.append(Event(name, conv["id"], {"conversation": view}))
            stored_events = await store.store_events(conn, pending)
        return message, stored_events

    async def _route(self, message: dict[str, Any]) -> None:
        conversation_id = message["conversation_id"]
        lock, users = self._conversation_locks.get(conversation_id, (asyncio.Lock(), 0))
        self._conversation_locks[conversation_id] = (lock, users + 1)
        try:
            async with lock:
                await self._understand_and_decide(message)
        except Exception:
            # The message is stored and visible to agents; a routing failure must not be
            # silent, and must not stop the next message from being routed.
            log.exception("routing failed", conversation_id=conversation_id, seq=message["seq"])
        finally:
            lock, users = self._conversation_locks[conversation_id]
            if users == 1:
                del self._conversation_locks[conversation_id]
            else:
                self._conversation_locks[conversation_id] = (lock, users - 1)

    async def _understand_and_decide(self, message: dict[str, Any]) -> None:
        conversation_id, seq = message["conversation_id"], message["seq"]
        window = self._policy.trend_window
        async with self._pool.acquire() as conn:
            vip, fallbacks, language, earlier = await store.routing_facts(
                conn, conversation_id, seq, window
            )
        started = time.perf_counter()
        interpretation = await self._understanding.understand(message["text"], language)
        self._metrics.nlu_seconds.observe(time.perf_counter() - started)
        interpreter = self._understanding.interpreter
        async with self._pool.acquire() as conn:
            async with conn.transaction():
                conv = await store.conversation_row(conn, conversation_id, lock=True)
                understood = await store.store_interpretation(conn, message["id"], interpretation)
                if understood is None:
                    return  # routed already, by another node's start-up sweep
                situation = self._situation(
                    conv,
                    interpretation,
                    earlier,
                    fallbacks,
                    vip=vip,
                    automated=bool(message.get("automated")),
                )
                decision = decide(situation, self._policy, self._texts)
                await store.set_bot_state(
                    conn,
                    conversation_id,
                    fallbacks=decision.fallbacks,
                    language=interpretation.language,
                )
                pending = [
                    Event(events.MESSAGE_INTERPRETED, conversation_id, {"message": understood})
                ]
                if decision.action == "handoff":
                    pending += await self._apply(conn, conv, decision, interpretation)
                elif decision.action == "wait" and conv["status"] == "queued" and self._router:
                    # What the customer just said may change how urgent it is.
                    await self._router.place(conn, conversation_id, queued_now=False)
                    view = await store.conversation(conn, conversation_id)
                    pending.append(
                        Event(events.CONVERSATION_UPDATED, conversation_id, {"conversation": view})
                    )
                stored_events = await store.store_events(conn, pending)
            await self._publish(stored_events)
            if decision.action == "handoff" and self._router:
                self._router.wake()
            if decision.action != "bot" or interpreter is None:
                return
            history = (
                await store.dialogue_history(conn, conversation_id, seq)
                if interpreter.wants_history
                else []
            )
        turn = await interpreter.respond(
            Dialogue(
                conversation_id, interpretation, interpretation.language or "en", tuple(history)
            )
        )
        final = after_bot(situation, decision, turn.handoff, self._texts)
        async with self._pool.acquire() as conn, conn.transaction():
            conv = await store.conversation_row(conn, conversation_id, lock=True)
            if conv["status"] != "bot":
                # An agent took over while the bot was thinking: the bot stays silent.
                return
            pending = await self._bot_messages(conn, conv, turn)
            if final.action == "handoff":
                pending += await self._apply(conn, conv, final, interpretation, turn)
            stored_events = await store.store_events(conn, pending)
        await self._publish(stored_events)
        if final.action == "handoff" and self._router:
            self._router.wake()

    def _situation(
        self,
        conv: ConversationRow,
        interpretation: Interpretation,
        earlier_sentiments: tuple[float, ...],
        fallbacks: int,
        *,
        vip: bool,
        automated: bool = False,
    ) -> Situation:
        interpreter = self._understanding.interpreter
        return Situation(
            status=conv["status"],  # type: ignore[arg-type]
            intent=interpretation.intent,
            confidence=interpretation.confidence,
            language=interpretation.language,
            supported_languages=interpreter.languages if interpreter else frozenset(),
            sentiment=interpretation.sentiment,
            language_confidence=interpretation.language_confidence,
            earlier_sentiments=earlier_sentiments,
            fallbacks=fallbacks,
            vip=vip,
            automated=automated,
            within_hours=self._hours is None or self._hours.contains(self._clock()),
            hours=self._hours.describe() if self._hours else "",
        )

    async def _bot_messages(
        self, conn: store.Conn, conv: ConversationRow, turn: BotTurn
    ) -> list[Event]:
        return [
            await self._say(conn, conv, "bot", said.text, {"action": said.action})
            for said in turn.messages
            if said.text  # images and buttons have no plain-text channel yet
        ]

    async def _say(
        self,
        conn: store.Conn,
        conv: ConversationRow,
        author_kind: str,
        text: str,
        meta: dict[str, Any] | None = None,
    ) -> Event:
        """Store an outgoing bot or system message; returns its event."""
        message = await store.insert_message(
            conn,
            conv["id"],
            direction="out",
            author_kind=author_kind,
            channel=conv["channel"],
            text=text,
            meta=meta,
        )
        assert message is not None  # no external id, so no conflict is possible
        self._metrics.messages_out.labels(conv["channel"], author_kind).inc()
        return _message_created(conv, message)

    async def _apply(
        self,
        conn: store.Conn,
        conv: ConversationRow,
        decision: Decision,
        interpretation: Interpretation,
        turn: BotTurn | None = None,
    ) -> list[Event]:
        """A handoff's effects, inside the caller's transaction; returns the events."""
        pending = []
        if decision.reply is not None:
            pending.append(await self._say(conn, conv, "system", decision.reply))
        if decision.action == "handoff" and decision.handoff_reason is not None:
            await store.set_handoff(conn, conv["id"], decision.handoff_reason)
            if self._router is not None:
                await self._router.place(conn, conv["id"], queued_now=True)
            self._metrics.handoffs.labels(decision.handoff_reason).inc()
            log.info(
                "conversation handed to a human",
                conversation_id=conv["id"],
                reason=decision.handoff_reason,
                intent=interpretation.intent,
                language=interpretation.language,
                bot_error=turn.error if turn else None,
            )
        view = await store.conversation(conn, conv["id"])
        pending.append(Event(events.CONVERSATION_UPDATED, conv["id"], {"conversation": view}))
        return pending

    async def _inbox(self, conn: store.Conn, channel: str, address: str) -> store.Inbox:
        """Inboxes change rarely and are read on every message: cache them briefly."""
        key = (channel, address)
        cached = self._inboxes.get(key)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        inbox = await store.inbox_by_address(conn, channel, address)
        self._inboxes[key] = (time.monotonic() + INBOX_CACHE_SECONDS, inbox)
        return inbox

    async def reply(
        self,
        agent_id: str,
        conversation_id: str,
        text: str,
        client_id: str,
        attachments: tuple[Attachment, ...] = (),
    ) -> Stored:
        """Store an agent's reply (and its files) once (by client id), claiming the
        conversation, and publish.

        Raises Conflict when the conversation is resolved or another agent holds it: no two
        agents ever answer one conversation.
        """
        external_id = f"{agent_id}:{client_id}"
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                earlier = await store.message_by_external_id(conn, "console", external_id)
                if earlier is not None:
                    return Stored(earlier, duplicate=True)
                conv = await store.conversation_row(conn, conversation_id, lock=True)
                if conv["status"] == "resolved":
                    raise Conflict("the conversation is resolved")
                if conv["assignee_id"] not in (None, agent_id):
                    raise Conflict("the conversation is assigned to another agent")
                message = await store.insert_message(
                    conn,
                    conversation_id,
                    direction="out",
                    author_kind="agent",
                    channel="console",
                    external_id=external_id,
                    text=text,
                    author_id=agent_id,
                    meta={"attachments": listing(attachments)} if attachments else None,
                )
                if message is None:
                    raise _AlreadyStored
                if attachments:
                    # In the message's transaction: the outbox sees the row only with its files.
                    await store.insert_attachments(conn, message["id"], attachments)
                pending = [_message_created(conv, message)]
                await queue.first_response(conn, conversation_id, self._clock())
                if conv["status"] != "assigned":
                    # Replying takes the conversation: an agent's explicit act, so it is
                    # not held to their capacity the way the router's offers are.
                    refused = await queue.claim(
                        conn,
                        conversation_id,
                        agent_id,
                        "reply",
                        self._clock(),
                        statuses=("bot", "queued"),
                        check_capacity=False,
                    )
                    if refused is not None:
                        raise Conflict(refused)
                    view = await store.conversation(conn, conversation_id)
                    pending.append(
                        Event(events.CONVERSATION_UPDATED, conversation_id, {"conversation": view})
                    )
                stored_events = await store.store_events(conn, pending)
        except _AlreadyStored:
            async with self._pool.acquire() as conn:
                earlier = await store.message_by_external_id(conn, "console", external_id)
            assert earlier is not None
            return Stored(earlier, duplicate=True)
        await self._publish(stored_events)
        self._metrics.messages_out.labels(conv["channel"], "agent").inc()
        return Stored(message, duplicate=False)

    async def return_to_bot(self, agent_id: str, conversation_id: str) -> None:
        """An agent hands the conversation back to the bot: the bot answers the next message.
        Raises Conflict when it is resolved or held by another agent."""
        async with self._pool.acquire() as conn, conn.transaction():
            conv = await store.conversation_row(conn, conversation_id, lock=True)
            if conv["status"] == "resolved":
                raise Conflict("the conversation is resolved")
            if conv["assignee_id"] not in (None, agent_id):
                raise Conflict("the conversation is assigned to another agent")
            await store.return_to_bot(conn, conversation_id)
            view = await store.conversation(conn, conversation_id)
            stored_events = await store.store_events(
                conn,
                [Event(events.CONVERSATION_UPDATED, conversation_id, {"conversation": view})],
            )
        await self._publish(stored_events)

    async def merge_contacts(self, conversation_id: str, other: str) -> dict[str, Any]:
        """Merge the contact ``other`` names (an id, an email, "channel:external id") into the
        conversation's contact: one person, one history. Returns the conversation's view.
        Raises NotFound, Conflict or InvalidInput."""
        async with self._pool.acquire() as conn, conn.transaction():
            conv = await store.conversation_row(conn, conversation_id)
            brand = await store.brand_of_contact(conn, conv["contact_id"])
            other_id = await store.contact_id_by_reference(conn, brand, other)
            moved = await store.merge_contacts(conn, conv["contact_id"], other_id)
            views = await store.conversations_by_id(conn, moved)
            stored_events = await store.store_events(
                conn,
                [
                    Event(
                        events.CONVERSATION_UPDATED,
                        v["id"],
                        {"conversation": v, "change": "merged"},
                    )
                    for v in views
                ],
            )
        await self._publish(stored_events)
        return next(v for v in views if v["id"] == conversation_id)

    async def typing(self, conversation_id: str, author_kind: str, active: bool) -> None:
        """Typing is live-only: published, never stored. Unknown conversations are ignored."""
        async with self._pool.acquire() as conn:
            try:
                conv = await store.conversation_row(conn, conversation_id)
            except NotFound:
                return
        await self._bus.publish(
            Event(
                events.TYPING,
                conversation_id,
                {
                    "author_kind": author_kind,
                    "active": active,
                    "inbox_id": conv["inbox_id"],
                    "contact_id": conv["contact_id"],
                },
            )
        )

    async def _publish(self, stored_events: list[Event]) -> None:
        for event in stored_events:
            await self._bus.publish(event)


def _meta(inbound: InboundMessage) -> dict[str, Any]:
    """What is kept with the message beside its text: the channel's details, the subject, why
    a machine sent it, and the list of its attachments (the files go to their own table)."""
    meta: dict[str, Any] = dict(inbound.meta)
    if inbound.subject:
        meta["subject"] = inbound.subject
    if inbound.automated:
        meta["automated"] = inbound.automated
    if inbound.attachments:
        meta["attachments"] = listing(inbound.attachments)
    return meta


def listing(attachments: tuple[Attachment, ...]) -> list[dict[str, Any]]:
    """Attachments as a message's meta lists them (the bytes are in their own table)."""
    return [
        {"n": n, "filename": a.filename, "content_type": a.content_type, "size": len(a.content)}
        for n, a in enumerate(attachments)
    ]


def _message_created(
    conv: ConversationRow, message: dict[str, Any], event_id: int | None = None
) -> Event:
    # The inbox and contact ride along so every node's hubs can route without a query.
    return Event(
        events.MESSAGE_CREATED,
        conv["id"],
        {"message": message, "inbox_id": conv["inbox_id"], "contact_id": conv["contact_id"]},
        id=event_id,
    )
