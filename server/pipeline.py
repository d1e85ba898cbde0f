"""The one path every message takes, and the only place that publishes events.

ingest: resolve contact → find or open conversation → persist, de-duplicated by the message's
unique channel id → decide → persist the decision's effects → commit → publish. For a known
sender with an open conversation, everything up to "persist" is one autocommit statement (the
common case, and the hot path); a decision with effects gets a transaction of its own. Agent
replies take the same write-then-publish path. Events are published only after their commit,
so a subscriber that sees an event can always read its rows.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import asyncpg
import structlog

from channels.base import InboundMessage
from routing.decision import ConversationStatus, Decision, decide
from server import events, store
from server.bus import EventBus
from server.errors import Conflict, NotFound
from server.events import Event
from server.metrics import Metrics
from server.store import ConversationRow

log = structlog.get_logger(__name__)

# How long an inbox lookup is reused; an edited inbox takes effect within this time.
INBOX_CACHE_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class Stored:
    """The stored message and whether it had been stored before (a retried delivery)."""

    message: dict[str, Any]
    duplicate: bool


class _AlreadyStored(Exception):
    """Raised inside a transaction to roll it back when a concurrent twin won the insert."""


class Pipeline:
    """Writes, then publishes. Owned by the composition root; shared by every channel."""

    def __init__(self, pool: asyncpg.Pool, bus: EventBus, metrics: Metrics, ack_text: str) -> None:
        self._pool = pool
        self._bus = bus
        self._metrics = metrics
        self._ack_text = ack_text
        self._inboxes: dict[tuple[str, str], tuple[float, store.Inbox]] = {}

    async def ingest(self, inbound: InboundMessage) -> Stored:
        """Store a customer's message once, apply the routing decision, publish."""
        started = time.perf_counter()
        async with self._pool.acquire() as conn:
            inbox = await self._inbox(conn, inbound.channel, inbound.inbox_address)
            # The common case in one statement, committed on its own; de-duplication is the
            # unique (channel, external_id) key.
            appended = await store.append_to_open_conversation(
                conn,
                inbox,
                inbound.sender.external_id,
                external_id=inbound.external_id,
                text=inbound.text,
            )
            if appended is store.NO_OPEN_CONVERSATION:
                try:
                    message, decision, stored_events = await self._open_and_append(
                        conn, inbox, inbound
                    )
                except _AlreadyStored:
                    message = None
            else:
                conv, message, event_id = appended
                if message is not None:
                    stored_events = [_message_created(conv, message, event_id)]
                    decision = self._decide(conv, opened=False)
                    if _has_effects(decision, conv):
                        # e.g. a conversation still with the bot changes hands: the effects
                        # get a transaction of their own.
                        async with conn.transaction():
                            pending = await self._apply(conn, conv, decision, opened=False)
                            stored_events += await store.store_events(conn, pending)
            if message is None:
                earlier = await store.message_by_external_id(
                    conn, inbound.channel, inbound.external_id
                )
                assert earlier is not None
                return Stored(earlier, duplicate=True)
        await self._publish(stored_events)
        self._metrics.messages_in.labels(inbound.channel).inc()
        if decision.reply is not None:
            self._metrics.messages_out.labels(inbound.channel, "system").inc()
        self._metrics.ingest_seconds.observe(time.perf_counter() - started)
        return Stored(message, duplicate=False)

    async def _open_and_append(
        self, conn: store.Conn, inbox: store.Inbox, inbound: InboundMessage
    ) -> tuple[dict[str, Any], Decision, list[Event]]:
        """A first message from a sender, or one after their conversation was resolved: resolve
        the contact, open a conversation, store, decide, in one transaction."""
        async with conn.transaction():
            contact_id = await store.resolve_contact(
                conn, inbox["brand_id"], inbound.channel, inbound.sender
            )
            conv, opened = await store.lock_open_conversation(conn, inbox, contact_id)
            message = await store.insert_message(
                conn,
                conv["id"],
                direction="in",
                author_kind="customer",
                channel=inbound.channel,
                external_id=inbound.external_id,
                text=inbound.text,
            )
            if message is None:
                raise _AlreadyStored  # rolls the transaction back
            decision = self._decide(conv, opened=opened)
            pending = await self._apply(conn, conv, decision, opened=opened)
            stored_events = await store.store_events(
                conn, [_message_created(conv, message), *pending]
            )
        return message, decision, stored_events

    def _decide(self, conv: ConversationRow, *, opened: bool) -> Decision:
        status: ConversationStatus = conv["status"]  # type: ignore[assignment]
        return decide(status, opened_now=opened, ack_text=self._ack_text)

    async def _apply(
        self, conn: store.Conn, conv: ConversationRow, decision: Decision, *, opened: bool
    ) -> list[Event]:
        """Write a decision's effects inside the caller's transaction; return the events."""
        pending = []
        if decision.reply is not None:
            ack = await store.insert_message(
                conn,
                conv["id"],
                direction="out",
                author_kind="system",
                channel=conv["channel"],
                text=decision.reply,
            )
            assert ack is not None  # no external id, so no conflict is possible
            pending.append(_message_created(conv, ack))
        changed = decision.status != conv["status"]
        if changed:
            await store.set_status(conn, conv["id"], decision.status, conv["assignee_id"])
            log.info(
                "conversation routed",
                conversation_id=conv["id"],
                status=decision.status,
                reason=decision.handoff_reason,
            )
        # A plain new message needs no conversation event: message.created carries what the
        # console's list shows (preview, time).
        if opened or changed:
            view = await store.conversation(conn, conv["id"])
            name = events.CONVERSATION_CREATED if opened else events.CONVERSATION_UPDATED
            pending.append(Event(name, conv["id"], {"conversation": view}))
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

    async def reply(self, agent_id: str, conversation_id: str, text: str, client_id: str) -> Stored:
        """Store an agent's reply once (by client id), claiming the conversation, and publish.

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
                )
                if message is None:
                    raise _AlreadyStored
                pending = [_message_created(conv, message)]
                if conv["status"] != "assigned":
                    await store.set_status(conn, conversation_id, "assigned", agent_id)
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


def _has_effects(decision: Decision, conv: ConversationRow) -> bool:
    return decision.reply is not None or decision.status != conv["status"]


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
