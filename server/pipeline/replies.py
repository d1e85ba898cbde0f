"""What agents do to a conversation through the pipeline: reply (once per client id, claiming
the conversation), hand it back to the bot, merge two contacts, and typing. Each writes, then
publishes, as ingest does."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from channels.base import Attachment
from server import events, store
from server.errors import Conflict, NotFound
from server.events import Event, left_queue
from server.live.bus import EventBus
from server.metrics import Metrics
from server.payloads import ConversationView, EventData, Named
from server.pipeline.messages import AlreadyStored, Stored, listing, message_created, publish
from server.store import Pool, activities, claims, clocks, queue


class Replies:
    def __init__(
        self, pool: Pool, bus: EventBus, metrics: Metrics, clock: Callable[[], datetime]
    ) -> None:
        self._pool = pool
        self._bus = bus
        self._metrics = metrics
        self._clock = clock

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
                    raise AlreadyStored
                if attachments:
                    # In the message's transaction: the outbox sees the row only with its files.
                    await store.insert_attachments(conn, message["id"], attachments)
                pending = [message_created(conv, message)]
                await queue.first_response(conn, conversation_id, self._clock())
                first = await clocks.first_human_response(conn, conversation_id, message["id"])
                if conv["status"] != "assigned":
                    # Replying takes the conversation: an agent's explicit act, so it is
                    # not held to their capacity the way the router's offers are.
                    refused = await claims.claim(
                        conn,
                        conversation_id,
                        agent_id,
                        "reply",
                        self._clock(),
                        statuses=("bot", "queued"),
                        check_capacity=False,
                        actor_id=agent_id,
                    )
                    if refused is not None:
                        raise Conflict(refused)
                    view = await store.conversation(conn, conversation_id)
                    shown = await activities.latest_assignments(conn, [conversation_id])
                    pending.append(
                        Event(
                            events.CONVERSATION_UPDATED,
                            conversation_id,
                            {"conversation": view, "activity": shown[conversation_id]},
                        )
                    )
                    if conv["status"] == "queued":
                        pending.append(left_queue(conversation_id))
                stored_events = await store.store_events(conn, pending)
        except AlreadyStored:
            async with self._pool.acquire() as conn:
                earlier = await store.message_by_external_id(conn, "console", external_id)
            assert earlier is not None
            return Stored(earlier, duplicate=True)
        await publish(self._bus, stored_events)
        self._metrics.messages_out.labels(conv["channel"], "agent").inc()
        if first is not None:
            self._metrics.first_response_seconds.labels(first.brand, first.channel).observe(
                first.seconds
            )
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
            shown = await activities.record(
                conn, conversation_id, "returned_to_bot", actor_id=agent_id
            )
            view = await store.conversation(conn, conversation_id)
            stored_events = await store.store_events(
                conn,
                [
                    Event(
                        events.CONVERSATION_UPDATED,
                        conversation_id,
                        {"conversation": view, "activity": shown},
                    ),
                    *([left_queue(conversation_id)] if conv["status"] == "queued" else []),
                ],
            )
        await publish(self._bus, stored_events)

    async def merge_contacts(self, conversation_id: str, other: str) -> ConversationView:
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
        await publish(self._bus, stored_events)
        return next(v for v in views if v["id"] == conversation_id)

    async def typing(
        self,
        conversation_id: str,
        author_kind: str,
        active: bool,
        author: Named | None = None,
    ) -> None:
        """Typing is live-only: published, never stored. Unknown conversations are ignored.
        An agent's typing names them for their colleagues; it reaches the customer only when
        they hold the conversation (a colleague looking in is not the one who will answer)."""
        async with self._pool.acquire() as conn:
            try:
                conv = await store.conversation_row(conn, conversation_id)
            except NotFound:
                return
        data: EventData = {
            "author_kind": author_kind,
            "active": active,
            "inbox_id": conv["inbox_id"],
            "contact_id": conv["contact_id"],
        }
        if author is not None:
            data["author"] = author
            data["to_customer"] = conv["assignee_id"] == author["id"]
        await self._bus.publish(Event(events.TYPING, conversation_id, data))

    async def viewing(self, conversation_id: str, author: Named, active: bool) -> None:
        """An agent opened (or left) the conversation in their console: live-only."""
        await self._bus.publish(
            Event(events.VIEWING, conversation_id, {"author": author, "active": active})
        )
