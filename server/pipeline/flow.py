"""The one path every message takes, from every channel.

ingest: resolve contact → find or open conversation → persist, de-duplicated by the message's
unique channel id → commit → publish → (in the background, in order per conversation) route:
understand (NLU, language, sentiment) → decide → bot answer or handoff (placed in a team's
queue by the router, in the same transaction) → commit → publish → wake the router.
For a known sender with an open conversation, the persist step is one autocommit statement
(the hot path), and the channel acknowledges as soon as it returns: a slow or failed NLU never
delays or loses a message. When that conversation waits for (or has) a person and no engine
is asked, the decision is "wait" whatever the message says: its language and sentiment are
read before that statement, which then routes it too (server/store/appends.py). A mail that
opens a conversation when no engine is asked (the decision needs only language, sentiment
and risk, all CPU) is routed in the transaction that stores it instead
(Decider.hand_over_opened): one transaction, one commit. Agent replies take the same
write-then-publish path. Events are published only after their commit, so a
subscriber that sees an event can read its rows.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog

from channels.base import Attachment, Busy, Capabilities, InboundMessage
from nlu.base import Interpretation
from nlu.understanding import Understanding
from routing.decision import BotPolicy, Texts
from routing.hours import BusinessHours
from server import events, store
from server.dispatch.router import Router
from server.events import Event
from server.live.bus import EventBus
from server.metrics import Metrics
from server.payloads import ConversationView, EventData, MessageView, Named
from server.pipeline.decide import Decider, HandedOver
from server.pipeline.knowledge import Knowledge
from server.pipeline.messages import AlreadyStored, Stored, message_created, meta_of, publish
from server.pipeline.orphans import Orphans
from server.pipeline.pressure import LoopLag
from server.pipeline.replies import Replies
from server.pipeline.survey import Survey
from server.store import Pool, activities, appends, contacts, csat
from server.store.conversations import Thread, lock_threads, reopen_thread
from server.store.group_commit import GroupCommit, each_alone
from server.store.messages import Incoming, insert_incoming
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
# Back-pressure: past this many messages waiting for the database at once, or this many
# stored messages waiting to be understood (two to three seconds of routing on two cores), a
# channel's sender is told to try again in RETRY_AFTER seconds (channels.base.Busy). Storing
# is faster than understanding: without the second bound a node accepts more than it can
# route, and agents see intents and priorities later and later. 500 refused bursts a node
# routes without trouble (measured: a third of 1,000 msg/s refused).
MAX_IN_FLIGHT = 256
# After a routing fails, what is left unrouted is routed again after 1 s, 2 s, ... up to this.
ROUTE_RETRY_MAX_SECONDS = 30.0
MAX_UNROUTED = 2000
RETRY_AFTER = 1.0
# Statements storing customer messages at once, each a batch of those that came together:
# while one waits for its WAL flush, the next batch is written (server/store/group_commit.py).
APPEND_WRITERS = 2
# Channels whose messages that open or thread a conversation (the longer way) are stored
# together: the mails that arrive together share one transaction and one durable commit
# (each mail starts or continues a thread of its own, so none of them takes the hot path).
# Slack likewise: each top-level message is a thread of its own, and the drainer stores a
# batch's threads side by side (server/services/slack.py). Each was a transaction and a
# durable commit to store, then another to route; grouped, draining 2,000 held events (the
# bench's shape, NLU off, a loaded machine) cost PostgreSQL 2.2 ms of CPU an event against
# 4.5, and the node 2.3 ms against 3.2 (2026-12-07, issue 14).
GROUPED_OPENS = frozenset({"email", "slack"})
# One batch at a time: the mails that arrive while it is written make the next one. With two
# writers the second started on the next mail alone and the batches stayed small (4.3 mails
# on average), so each mail paid more of a batch's eighteen round trips and its commit; one
# writer makes them 7-8 mails (bench.mail, four paired runs 15:45-15:50 UTC on a saturated
# machine: 0.61 commits a mail against 0.96, PostgreSQL 1.6-1.8 ms against 2.3-2.4 ms a
# mail, acceptance 114-122 against 101-107 mails/s, with RECEIPT_WRITERS likewise).
OPEN_WRITERS = 1
# Senders whose open conversation the last append found, remembered so that their next
# message can be understood before it is stored (``Pipeline._understood``). Bounded; the
# oldest are forgotten (their next message is routed after the commit).
SENDERS_REMEMBERED = 10_000


class _Append:
    """A message handed to the ingest's batch writer, and what became of it."""

    __slots__ = ("error", "item", "outcome")

    def __init__(self, item: appends.Append) -> None:
        self.item = item
        self.outcome: appends.Appended = store.NO_OPEN_CONVERSATION
        self.error: Exception | None = None


async def _append_together(conn: store.Conn, writes: list[_Append]) -> None:
    try:
        outcomes = await appends.append_many(conn, [w.item for w in writes])
    except store.DatabaseError:
        if len(writes) == 1:
            raise

        # One message the statement cannot take (two senders of one contact in the batch,
        # a row the database refuses) must not fail the others: each alone, and only the
        # refused ones fail, with their own error.
        async def alone(write: _Append) -> None:
            write.outcome = (await appends.append_many(conn, [write.item]))[0]

        await each_alone(writes, alone)
        return
    for write, outcome in zip(writes, outcomes, strict=True):
        write.outcome = outcome


# What a channel writes beside its messages stored the longer way, in their transaction
# (mail: each one's receipt, settled), given each message with what it was made from.
Beside = Callable[[store.Conn, list[tuple[InboundMessage, MessageView]]], Awaitable[None]]


class _Open:
    """A message for the longer way (a new or threaded conversation) handed to the batch
    writer, and what became of it."""

    __slots__ = ("error", "handed", "inbound", "inbox", "result", "understood")

    def __init__(
        self,
        inbox: store.Inbox,
        inbound: InboundMessage,
        understood: Interpretation | None = None,
    ) -> None:
        self.inbox = inbox
        self.inbound = inbound
        # Its interpretation, read before the transaction: if it opens a conversation and
        # is a plain handoff, it is routed in the transaction that stores it.
        self.understood = understood
        self.result: _Opened | None = None
        # Its routing, when the transaction that stored it did it (committed with it).
        self.handed: HandedOver | None = None
        # AlreadyStored (a twin won the insert) or what the database refused.
        self.error: Exception | None = None

    @property
    def order(self) -> tuple[str, str, str]:
        """Batches take their rows' locks (contact, thread) in this order, so two batches
        never wait for each other in a circle."""
        return (self.inbound.sender.external_id, self.inbound.thread or "", self.inbox["id"])


@dataclass(frozen=True, slots=True)
class _Opened:
    """What storing one message the longer way gave: the message, the events still to
    write (``pending``) and those written already, and whether it answered a survey.
    ``announce``: the event that tells of the conversation opened or reopened, whose view
    (``conversation_event``) the caller reads, for several conversations at once."""

    message: MessageView
    pending: list[Event]
    stored: list[Event]
    answered: bool
    announce: Event | None = None


def _announced(opened: _Opened, views: Mapping[str, ConversationView]) -> list[Event]:
    """The events still to write, with the opened conversation's view in its event."""
    event = opened.announce
    if event is None:
        return opened.pending
    data: EventData = {"conversation": views[event.conversation_id], **event.data}
    return [*opened.pending, Event(event.name, event.conversation_id, data)]


def _threads_apart(items: list[_Open]) -> bool:
    """Whether these messages can be stored set-based (``Pipeline._open_threads``): each
    continues or starts a thread, a thread of its own, and none answers a survey (a rating
    takes the survey's way, ``_open_in``)."""
    threads = {(i.inbox["id"], i.inbound.thread) for i in items if i.inbound.thread is not None}
    return len(threads) == len(items) and not any(
        csat.answer_of(i.inbound.text) is not None for i in items
    )


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
        capabilities: Mapping[str, Capabilities] | None = None,
        knowledge: Knowledge | None = None,
        overload_lag: float | None = None,
    ) -> None:
        self._pool = pool
        self._bus = bus
        self._metrics = metrics
        self._inboxes: dict[tuple[str, str], tuple[float, store.Inbox]] = {}
        # (inbox id, sender) -> their open conversation, as the last append found it
        # (SENDERS_REMEMBERED).
        self._senders: OrderedDict[tuple[str, str], str] = OrderedDict()
        # Router: places handed-over conversations in a queue; None: they wait unscored (tests).
        self._decider = Decider(
            pool,
            bus,
            metrics,
            understanding,
            policy,
            texts,
            hours,
            clock,
            router,
            capabilities or {},
            knowledge,
        )
        # Customer messages to open conversations, stored together (server/store/appends.py).
        self._appends: GroupCommit[_Append] = GroupCommit(
            pool, _append_together, writers=APPEND_WRITERS, key=lambda w: w.item.sender
        )
        # First and threaded messages of GROUPED_OPENS channels, stored together.
        self._opens: GroupCommit[_Open] = GroupCommit(
            pool, self._open_together, writers=OPEN_WRITERS
        )
        self._beside: dict[str, Beside] = {}
        self._replies = Replies(pool, bus, metrics, clock)
        self._survey = Survey(pool, bus, metrics)
        # Routing runs after the acknowledgement, one message at a time per conversation, on
        # a bounded queue: past its size a message waits in Postgres (unrouted) for the sweep.
        self._routing: WorkQueue[MessageView] = WorkQueue(
            "route", self._route, workers=ROUTING_WORKERS, size=ROUTING_QUEUE
        )
        self._resweep: asyncio.Task[None] | None = None
        self._retry: asyncio.Task[None] | None = None
        # The messages in the routing queue, by id, and whether a sweep read them back: a
        # sweep does not queue one twice (bounded by the queue's size).
        self._queued: dict[int, bool] = {}
        # conversation id -> its messages in the routing queue or being routed on this node:
        # while there are any, the next message of it is not routed as it is stored
        # (``_understood``), so it cannot be understood before one stored earlier.
        self._routing_of: dict[str, int] = {}
        # The lease by which this node's death is noticed, and others' (orphans.py).
        self._orphans = Orphans(pool, self.route_unrouted)
        self._router = router
        self._in_flight = 0
        # The event loop's own lateness (pressure.py): None, not watched (tests that drive a
        # pipeline on a busy machine; the composition root always passes the setting's).
        self._lag = LoopLag(overload_lag) if overload_lag else None
        if self._lag is not None:
            lag = self._lag
            metrics.loop_lag.set_function(lambda: lag.lag)
        metrics.track_queue("ingest", lambda: self._in_flight)
        metrics.track_queue("route", lambda: self._routing.depth)

    def _stage(self, channel: str, stage: str, started: float) -> None:
        """Observe how long a message spent in a stage (server.metrics' stage_seconds)."""
        self._metrics.stage_seconds.labels(channel, stage).observe(time.perf_counter() - started)

    def write_beside(self, channel: str, write: Beside) -> None:
        """Have ``write`` run in the transaction that stores a message of ``channel`` the
        longer way (opening or threading a conversation), after the message is in: what it
        writes commits with the message, or not at all."""
        self._beside[channel] = write

    async def _write_beside(
        self, conn: store.Conn, opened: list[tuple[InboundMessage, _Opened]]
    ) -> None:
        by_channel: dict[str, list[tuple[InboundMessage, MessageView]]] = {}
        for inbound, o in opened:
            if inbound.channel in self._beside:
                by_channel.setdefault(inbound.channel, []).append((inbound, o.message))
        for channel, stored in by_channel.items():
            await self._beside[channel](conn, stored)

    def admit(self, channel: str) -> None:
        """Raise Busy when a new message would only wait: too many already wait for the
        database, the messages stored are not being understood as fast as they come, or the
        event loop itself runs late (frames wait unread in the sockets: pressure.py).
        Channels call it before they store anything; what is already durable (a mail receipt,
        a held update) is never refused."""
        if (
            self._in_flight >= MAX_IN_FLIGHT
            or self._routing.depth >= MAX_UNROUTED
            or (self._lag is not None and self._lag.refuse())
        ):
            self._metrics.refused.labels(channel).inc()
            raise Busy(RETRY_AFTER)

    @property
    def saturated(self) -> bool:
        """Whether ``admit`` would refuse now (nothing counted): a channel that keeps its own
        durable backlog (held webhook updates) feeds the pipeline only while this is False."""
        return (
            self._in_flight >= MAX_IN_FLIGHT
            or self._routing.depth >= MAX_UNROUTED
            or (self._lag is not None and self._lag.overloaded)
        )

    async def ingest(self, inbound: InboundMessage) -> Stored:
        """Store a customer's message once and publish it; routing follows in the background."""
        started = time.perf_counter()
        self._in_flight += 1
        try:
            stored = await self._store(inbound)
        finally:
            self._in_flight -= 1
        if not stored.duplicate:
            self._metrics.messages_in.labels(inbound.channel).inc()
            self._metrics.ingest_seconds.observe(time.perf_counter() - started)
            if not stored.survey_answer and not stored.routed:
                self._schedule_routing(stored.message)
        elif stored.unrouted and stored.message["id"] not in self._queued:
            # A redelivery of a message stored but never routed (``_stored_before``): routed
            # now, the long way, whose first read says whether another node did meanwhile.
            self._schedule_routing(stored.message, swept=True)
        return stored

    async def _store(self, inbound: InboundMessage) -> Stored:
        inbox = await self._inbox(inbound.channel, inbound.inbox_address)
        # The common case: a known sender writes into their open conversation, one row of a
        # statement shared with the messages that arrive together (server/store/appends.py),
        # committed durably before this returns; de-duplication is the unique (channel,
        # external_id) key. Threads and files, and a first message, take the longer way.
        appended: appends.Appended = store.NO_OPEN_CONVERSATION
        handed: HandedOver | None = None
        understood: appends.Understood | None = None
        # (the conversation's status, the interpretation) of a message routed as it was stored
        decided: tuple[str, appends.Understood] | None = None
        if inbound.thread is None and not inbound.attachments:
            understood = await self._understood(inbox, inbound)
            append = _Append(
                appends.Append(
                    inbox,
                    inbound.sender.external_id,
                    inbound.external_id,
                    inbound.text,
                    meta_of(inbound),
                    understood,
                )
            )
            await self._appends.add(append)
            if append.error is not None:
                raise append.error
            appended = append.outcome
        if appended is store.NO_OPEN_CONVERSATION:
            try:
                if inbound.channel in GROUPED_OPENS:
                    message, stored_events, answered, handed = await self._open_grouped(
                        inbox, inbound
                    )
                else:
                    async with self._pool.acquire() as conn:
                        message, stored_events, answered, _ = await self._open_and_append(
                            conn, inbox, inbound
                        )
            except AlreadyStored:
                # Read once the connection is back: fifty twins at once must not each hold
                # one while waiting for another.
                return await self._stored_before(inbound)
        else:
            conv = appended.conversation
            self._remember_sender(inbox, inbound, conv["id"])
            if appended.message is None:
                return await self._stored_before(inbound)
            message, answered = appended.message, False
            stored_events = [message_created(conv, message, appended.event_id)]
            if appended.interpreted_event_id is not None:
                # Routed by the statement that stored it (server/store/appends.py).
                assert understood is not None
                stored_events.append(
                    Event(
                        events.MESSAGE_INTERPRETED,
                        conv["id"],
                        {"message": message},
                        id=appended.interpreted_event_id,
                    )
                )
                decided = (conv["status"], understood)
        published = time.perf_counter()
        await publish(self._bus, stored_events)
        if inbound.channel in GROUPED_OPENS:
            self._stage(inbound.channel, "publish", published)
        if handed is not None:
            self._decider.handed_over([handed])
        if decided is not None:
            status, how = decided
            self._decider.decided_waiting(
                message["conversation_id"], status, how.interpretation, how.language
            )
        routed = handed is not None or decided is not None
        return Stored(message, duplicate=False, survey_answer=answered, routed=routed)

    async def _understood(
        self, inbox: store.Inbox, inbound: InboundMessage
    ) -> appends.Understood | None:
        """The message's interpretation, made before it is stored, when the last routing of
        its sender's open conversation left it waiting for (or with) a person and no engine
        is asked (``Decider.decides_waiting_at_once``): the statement that stores it then
        routes it too, if the conversation is still so (server/store/appends.py). None: it
        is routed after the commit."""
        conversation_id = self._senders.get((inbox["id"], inbound.sender.external_id))
        if conversation_id is None or conversation_id in self._routing_of:
            return None
        if not self._decider.decides_waiting_at_once(inbound.text):
            return None
        # None while a message of the conversation is being routed: this one waits its turn.
        waiting = self._decider.waiting(conversation_id)
        if waiting is None:
            return None
        language = waiting[1]
        try:
            interpretation = await self._decider.understand_waiting(inbound.text, language)
        except Exception:
            # Stored first, understood after the commit, as any other message.
            log.warning("understanding before storing failed", exc_info=True)
            return None
        return appends.Understood(language, interpretation)

    def _remember_sender(
        self, inbox: store.Inbox, inbound: InboundMessage, conversation_id: str
    ) -> None:
        key = (inbox["id"], inbound.sender.external_id)
        self._senders.pop(key, None)
        self._senders[key] = conversation_id
        while len(self._senders) > SENDERS_REMEMBERED:
            self._senders.popitem(last=False)

    async def _stored_before(self, inbound: InboundMessage) -> Stored:
        """A redelivery (the same channel id): the message as it was stored, and whether it
        is still to be routed though no node has it queued. That happens when the first
        try's commit reached Postgres while its answer did not (the database went away at
        that moment): the sender was told to try again, and nothing queued the message (the
        chaos run's "postgres down" left one such message unrouted until a node restarted).
        Only such a message, in an open conversation, as the start-up sweep would route it:
        not another node's backlog, nor a survey answer (its conversation is resolved)."""
        async with self._pool.acquire() as conn:
            earlier = await store.message_by_external_id(conn, inbound.channel, inbound.external_id)
            assert earlier is not None
            unrouted = (
                earlier["nlu"] is None
                and earlier["id"] not in self._queued
                and await store.is_unrouted(conn, earlier["id"], UNROUTED_MAX_AGE_SECONDS)
            )
        return Stored(earlier, duplicate=True, unrouted=unrouted)

    async def _route(self, message: MessageView) -> None:
        failures = self._decider.failures
        try:
            await self._decider.route(message, swept=self._queued.get(message["id"], False))
        finally:
            self._queued.pop(message["id"], None)
            conversation_id = message["conversation_id"]
            left = self._routing_of.pop(conversation_id, 1) - 1
            if left > 0:
                self._routing_of[conversation_id] = left
        if self._decider.failures != failures and self._retry is None:
            self._retry = asyncio.create_task(self._route_failed(), name="route-retry")

    async def _route_failed(self) -> None:
        """A routing failed (the database went away half-way, say): its message is stored
        and acknowledged but not understood, so its conversation reaches neither the bot nor
        a queue. Route what is left unrouted once the database answers again, and again
        while routings keep failing, rather than at the next start of a node (issue 21)."""
        delay = 1.0
        try:
            while True:
                failures = self._decider.failures
                await asyncio.sleep(delay)
                try:
                    await self.route_unrouted()
                except Exception as exc:
                    log.warning("routing again what failed: not yet", error=str(exc))
                else:
                    await asyncio.sleep(delay)
                    if self._decider.failures == failures:
                        return
                delay = min(delay * 2, ROUTE_RETRY_MAX_SECONDS)
        finally:
            self._retry = None

    def _schedule_routing(self, message: MessageView, swept: bool = False) -> None:
        if self._routing.offer(message):
            self._queued[message["id"]] = swept
            conversation_id = message["conversation_id"]
            self._routing_of[conversation_id] = self._routing_of.get(conversation_id, 0) + 1
            return
        if self._resweep is not None:
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

    async def start(self) -> None:
        """At the node's start: keep the lease by which the nodes route what one of them
        leaves when it dies, and route what was left unrouted when it can be no living
        node's (orphans.py)."""
        await self._orphans.start()

    async def route_unrouted(self) -> int:
        """Route the messages a node stored and acknowledged but died before routing (at
        start-up, after another node's death, after a failure). Safe on several nodes at
        once: a message is interpreted only once. Those already in this node's queue are
        not queued again. Returns how many it queued."""
        async with self._pool.acquire() as conn:
            pending = await store.unrouted_messages(conn, UNROUTED_MAX_AGE_SECONDS)
        queued = 0
        for message in pending:
            if message["id"] not in self._queued:
                # In seq order: the per-conversation lock keeps it.
                self._schedule_routing(message, swept=True)
                queued += 1
        if queued:
            log.info("routing messages left unrouted", count=queued)
        return queued

    async def settled(self) -> None:
        """Wait until every message ingested so far has been routed and the priorities it
        changed are up to date (tests, shutdown)."""
        while True:
            await self._routing.settled()
            if self._resweep is None:
                break
            await asyncio.gather(self._resweep, return_exceptions=True)
        if self._router is not None:
            await self._router.settled()

    async def close(self) -> None:
        await self._orphans.close()
        if self._resweep is not None:
            self._resweep.cancel()
        if self._retry is not None:
            self._retry.cancel()
        await self._routing.close()
        await self._appends.close()
        await self._opens.close()
        await self._decider.close()
        if self._lag is not None:
            await self._lag.close()

    async def _open_and_append(
        self,
        conn: store.Conn,
        inbox: store.Inbox,
        inbound: InboundMessage,
        understood: Interpretation | None = None,
    ) -> tuple[MessageView, list[Event], bool, HandedOver | None]:
        """A first message from a sender, or one after their conversation was resolved: resolve
        the contact, open a conversation and store, in one transaction. A rating sent back to
        a just-resolved conversation's survey answers it instead (the third value: True).
        ``understood``: the message's interpretation, when it is to be routed in the same
        transaction if it opens its conversation (the last value: its routing, if done)."""
        async with conn.transaction():
            language = understood.language if understood is not None else None
            opened = await self._open_in(conn, inbox, inbound, language=language)
            await self._write_beside(conn, [(inbound, opened)])
            views = {}
            if opened.announce is not None:
                conversation_id = opened.announce.conversation_id
                views[conversation_id] = await store.conversation(conn, conversation_id)
            pending = _announced(opened, views)
            handed = None
            if understood is not None:
                item = _Open(inbox, inbound, understood)
                handed = (await self._hand_over_opened(conn, [item], [opened])).get(
                    inbound.external_id
                )
                if handed is not None:
                    pending = pending + handed.recorded[0]
            stored_events = opened.stored + await store.store_events(conn, pending)
        return opened.message, stored_events, opened.answered, handed

    async def _open_grouped(
        self, inbox: store.Inbox, inbound: InboundMessage
    ) -> tuple[MessageView, list[Event], bool, HandedOver | None]:
        """``_open_and_append`` in a transaction shared with the messages that come
        together (``_open_together``); returns once that transaction is committed, with the
        message's routing when that transaction did it."""
        understood = None
        if self._decider.decides_at_once(inbound.channel):
            started = time.perf_counter()
            try:
                understood = await self._decider.understand_first(inbound.text)
            except Exception:
                # Stored first, understood after the commit, as any other message.
                log.warning("understanding before storing failed", exc_info=True)
            self._stage(inbound.channel, "understand", started)
        item = _Open(inbox, inbound, understood)
        started = time.perf_counter()
        await self._opens.add(item)
        self._stage(inbound.channel, "store", started)
        if item.error is not None:
            raise item.error
        assert item.result is not None
        return item.result.message, item.result.stored, item.result.answered, item.handed

    async def _open_together(self, conn: store.Conn, items: list[_Open]) -> None:
        """Store each item the longer way, all in one transaction (one commit, one WAL flush,
        the events in one statement). A twin stored meanwhile, or a row the database refuses,
        rolls the whole batch back, and each item is then stored alone in its own
        transaction, as ``_open_and_append`` does, so only that one fails."""
        started = time.perf_counter()
        try:
            await self._open_batch(conn, items)
        finally:
            self._stage(items[0].inbound.channel, "batch", started)

    async def _open_batch(self, conn: store.Conn, items: list[_Open]) -> None:
        """``_open_together``'s work (timed there)."""
        if len(items) > 1:
            ordered = sorted(items, key=lambda i: i.order)
            try:
                async with conn.transaction():
                    # The senders' contacts (those met for the first time created), and the
                    # opened conversations' views, each in one statement for the whole batch.
                    identities: list[tuple[str, str]] = [
                        (i.inbound.channel, i.inbound.sender.external_id) for i in ordered
                    ]
                    known = await contacts.identified_contacts(conn, identities)
                    first_met = [
                        contacts.NewSender(i.inbox["brand_id"], i.inbound.channel, i.inbound.sender)
                        for i, identity in zip(ordered, identities, strict=True)
                        if identity not in known
                    ]
                    if first_met:
                        known.update(await contacts.create_contacts(conn, first_met))
                    contact_ids: list[str | None] = [known[identity] for identity in identities]
                    if _threads_apart(ordered):
                        opened = await self._open_threads(conn, ordered, contact_ids)
                    else:
                        opened = [
                            await self._open_in(
                                conn,
                                item.inbox,
                                item.inbound,
                                contact_id,
                                item.understood.language if item.understood else None,
                            )
                            for item, contact_id in zip(ordered, contact_ids, strict=True)
                        ]
                    await self._write_beside(
                        conn, [(item.inbound, o) for item, o in zip(ordered, opened, strict=True)]
                    )
                    announced = [o.announce.conversation_id for o in opened if o.announce]
                    views = {
                        view["id"]: view
                        for view in (
                            await store.conversations_by_id(conn, announced) if announced else []
                        )
                    }
                    pending = [_announced(o, views) for o in opened]
                    handed = await self._hand_over_opened(conn, ordered, opened)
                    for mine, item in zip(pending, ordered, strict=True):
                        if item.inbound.external_id in handed:
                            mine += handed[item.inbound.external_id].recorded[0]
                    written = await store.store_events(conn, [e for p in pending for e in p])
            except (AlreadyStored, store.DatabaseError):
                pass
            else:
                at = 0
                for item, o, mine in zip(ordered, opened, pending, strict=True):
                    events_of = written[at : at + len(mine)]
                    at += len(mine)
                    item.result = _Opened(o.message, [], o.stored + events_of, o.answered)
                    item.handed = handed.get(item.inbound.external_id)
                return
        for item in items:
            try:
                message, stored_events, answered, routed = await self._open_and_append(
                    conn, item.inbox, item.inbound, item.understood
                )
            except (AlreadyStored, store.DatabaseError) as exc:
                item.error = exc
            else:
                item.result = _Opened(message, [], stored_events, answered)
                item.handed = routed

    async def _hand_over_opened(
        self, conn: store.Conn, items: list[_Open], opened: list[_Opened]
    ) -> dict[str, HandedOver]:
        """Route, in this transaction, the items that opened their conversation and came
        with their interpretation (``Decider.hand_over_opened``); by external id."""
        first = {
            o.message["id"]: (item, o)
            for item, o in zip(items, opened, strict=True)
            if item.understood is not None
            and o.announce is not None
            and o.announce.name == events.CONVERSATION_CREATED
        }
        if not first:
            return {}
        try:
            # In a savepoint: routing that fails (a row refused, a deadlock, a bug) must not
            # take the messages with it. They are then stored unrouted, and routed after the
            # commit like any other, as they were before routing joined this transaction.
            async with conn.transaction():
                handed = await self._decider.hand_over_opened(
                    conn,
                    [(o.message, item.understood) for item, o in first.values() if item.understood],
                )
        except Exception:
            log.warning("routing as they were stored failed; routed after", exc_info=True)
            return {}
        return {first[i][0].inbound.external_id: h for i, h in handed.items()}

    async def _open_threads(
        self, conn: store.Conn, items: list[_Open], contact_ids: list[str | None]
    ) -> list[_Opened]:
        """``_open_in`` for messages of threads apart (``_threads_apart``), set-based: the
        threads' conversations found, locked or opened by one statement, and the messages
        inserted by one (it was one of each a mail: issue 14). Raises AlreadyStored when one
        of them was stored before (the caller rolls back and stores each alone)."""
        resolved = []
        for item, contact_id in zip(items, contact_ids, strict=True):
            if contact_id is None:
                contact_id = await store.resolve_contact(
                    conn, item.inbox["brand_id"], item.inbound.channel, item.inbound.sender
                )
            resolved.append(contact_id)
        wanted = [
            Thread(item.inbox, contact_id, str(item.inbound.thread), item.inbound.subject)
            for item, contact_id in zip(items, resolved, strict=True)
        ]
        found = await lock_threads(conn, wanted)
        convs: list[tuple[store.ConversationRow, str]] = []
        for thread in wanted:
            row = found.get((thread.inbox["id"], thread.thread))
            if row is None:
                # Opened by another transaction meanwhile: lock theirs, as alone.
                convs.append(
                    await store.lock_thread_conversation(
                        conn, thread.inbox, thread.contact_id, thread.thread, thread.subject
                    )
                )
            elif row[1]:
                convs.append((row[0], "opened"))
            elif row[0]["status"] == "resolved":
                convs.append((await reopen_thread(conn, row[0]["id"]), "reopened"))
            else:
                convs.append((row[0], "open"))
        inserted = await insert_incoming(
            conn,
            [
                Incoming(
                    conv["id"],
                    item.inbound.channel,
                    item.inbound.external_id,
                    item.inbound.text,
                    meta_of(item.inbound),
                    item.understood.language if item.understood else None,
                )
                for item, (conv, _) in zip(items, convs, strict=True)
            ],
        )
        if inserted is None:
            raise AlreadyStored  # rolls the transaction back
        opened = []
        for item, (conv, how), message in zip(items, convs, inserted, strict=True):
            if item.inbound.attachments:
                await store.insert_attachments(conn, message["id"], item.inbound.attachments)
            announce = None
            if how != "open":
                name = (
                    events.CONVERSATION_CREATED if how == "opened" else events.CONVERSATION_UPDATED
                )
                data: EventData = {}
                if how == "reopened":
                    data["activity"] = await activities.record(conn, conv["id"], "reopened")
                announce = Event(name, conv["id"], data)
            opened.append(_Opened(message, [message_created(conv, message)], [], False, announce))
        return opened

    async def _open_in(
        self,
        conn: store.Conn,
        inbox: store.Inbox,
        inbound: InboundMessage,
        contact_id: str | None = None,
        language: str | None = None,
    ) -> _Opened:
        """``_open_and_append``'s work inside the caller's transaction; the events it leaves
        to write are in ``pending`` and ``announce``. ``contact_id``: the sender's contact,
        when the caller has read it. ``language``: the message's, when it was understood
        before the transaction (inserted with it, its search words are stemmed once, as
        ``_open_threads`` does). Raises AlreadyStored when the message was stored before
        (the caller rolls back)."""
        if contact_id is None:
            contact_id = await store.resolve_contact(
                conn, inbox["brand_id"], inbound.channel, inbound.sender
            )
        rating = csat.answer_of(inbound.text)
        if rating is not None:
            surveyed = await csat.waiting_answer(conn, inbox["id"], contact_id, inbound.thread)
            if surveyed is not None:
                answer, answered = await self._survey.answer(conn, surveyed, inbound, *rating)
                return _Opened(answer, [], answered, True)
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
            meta=meta_of(inbound),
            language=language,
        )
        if message is None:
            raise AlreadyStored  # rolls the transaction back
        if inbound.attachments:
            await store.insert_attachments(conn, message["id"], inbound.attachments)
        pending = [message_created(conv, message)]
        announce = None
        if how != "open":
            name = events.CONVERSATION_CREATED if how == "opened" else events.CONVERSATION_UPDATED
            data: EventData = {}
            if how == "reopened":
                data["activity"] = await activities.record(conn, conv["id"], "reopened")
            announce = Event(name, conv["id"], data)
        return _Opened(message, pending, [], False, announce)

    async def _inbox(self, channel: str, address: str) -> store.Inbox:
        """Inboxes change rarely and are read on every message: cache them briefly."""
        key = (channel, address)
        cached = self._inboxes.get(key)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        async with self._pool.acquire() as conn:
            inbox = await store.inbox_by_address(conn, channel, address)
        self._inboxes[key] = (time.monotonic() + INBOX_CACHE_SECONDS, inbox)
        return inbox

    # -- what agents do (server.pipeline.replies) ----------------------------------------------

    async def reply(
        self,
        agent_id: str,
        conversation_id: str,
        text: str,
        client_id: str,
        attachments: tuple[Attachment, ...] = (),
    ) -> Stored:
        return await self._replies.reply(agent_id, conversation_id, text, client_id, attachments)

    async def return_to_bot(self, agent_id: str, conversation_id: str) -> None:
        await self._replies.return_to_bot(agent_id, conversation_id)

    async def merge_contacts(self, conversation_id: str, other: str) -> ConversationView:
        return await self._replies.merge_contacts(conversation_id, other)

    async def typing(
        self,
        conversation_id: str,
        author_kind: str,
        active: bool,
        author: Named | None = None,
    ) -> None:
        await self._replies.typing(conversation_id, author_kind, active, author)

    async def viewing(self, conversation_id: str, author: Named, active: bool) -> None:
        await self._replies.viewing(conversation_id, author, active)

    async def ask_rating(self, conversation_id: str, agent_id: str | None) -> None:
        """After a resolve: ask the customer to rate the conversation (server.pipeline.survey)."""
        await self._survey.ask(conversation_id, agent_id)

    async def comment_rating(self, conversation_id: str, inbound: InboundMessage) -> bool:
        """A comment sent apart from its rating (server.pipeline.survey); False if not kept."""
        return await self._survey.comment(conversation_id, inbound)
