"""Understand and decide: the step that follows a stored customer message, in order per
conversation. NLU (the engine, language, sentiment) → ``routing.decide`` (pure) → the bot's
answer or a handoff placed in a team's queue by the router, in one transaction → publish →
wake the router. A message is interpreted once, even when several nodes route it."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from uuid import UUID

import structlog

from channels.base import Capabilities, chosen_option, degrade
from nlu.base import BotTurn, Dialogue, Interpretation
from nlu.understanding import Understanding
from routing.decision import (
    BotPolicy,
    Decision,
    Situation,
    Texts,
    after_bot,
    decide,
    handoff,
    heard_language,
)
from routing.hours import BusinessHours
from server import events, store
from server.dispatch.router import Router
from server.errors import NotFound
from server.events import Event
from server.live.bus import EventBus
from server.metrics import Metrics
from server.payloads import EventData, MessageView
from server.pipeline.knowledge import Knowledge, Plan
from server.pipeline.messages import message_created, publish
from server.store import ConversationRow, Pool, activities, kb_feedback, queue, understood
from server.store.conversations import locked_rows
from server.store.group_commit import GroupCommit, each_alone
from server.store.messages import insert_outgoing
from server.store.nlu import Understood, routing_facts_of, store_interpretations

log = structlog.get_logger(__name__)

# How a customer picks one of the bot's options on a channel without buttons.
CHOOSE = {
    "en": "Reply with the number of your choice.",
    "fr": "Répondez par le numéro de votre choix.",
}
# A reply longer than this many digits is not a choice.
MAX_OPTIONS = 99
# Conversations whose last routing found a person involved (queued or assigned), with the
# status and language it left: their next message is understood in that language and
# recorded in one statement that checks both under the row lock (a conversation that moved
# on is routed the long way). A customer writing to their agent then costs one statement to
# route instead of two (bench/cost.py). Bounded; the oldest are forgotten.
WAITING_CONVERSATIONS = 10_000
# Statements writing those messages at once (each a batch of the messages that came
# together; server/store/understood.py): one connection each while a burst lasts.
WAITING_WRITERS = 2
# Channels whose handoffs (the conversation locked, the interpretation, the customer's
# acknowledgement, the activity, the placing in a queue) are written together: the handoffs
# decided at the same moment share one transaction, one durable commit and one statement for
# their events. Mail: nearly every mail opens a conversation that goes to a person; Slack:
# every top-level message opens a thread, so a conversation, and a drained batch of them
# (server/services/slack.py) opens many at once.
GROUPED_HANDOFFS = frozenset({"email", "slack"})
HANDOFF_WRITERS = 2
# Statements reading those messages' routing facts at once: one connection while a burst
# lasts (a read takes no lock and waits for no flush, so one reader keeps up).
FACTS_READERS = 1
# A handoff's outcome: its events (stored), the conversation, the situation and decision.
Recorded = tuple[list[Event], ConversationRow, Situation, Decision]


class _WaitingWrite:
    """A waiting conversation's message handed to the batch writer, and what became of it."""

    __slots__ = ("error", "item", "outcome")

    def __init__(self, item: understood.Waiting) -> None:
        self.item = item
        self.outcome: understood.Outcome = understood.CHANGED
        self.error: Exception | None = None


async def _record_waiting_writes(conn: store.Conn, writes: list[_WaitingWrite]) -> None:
    try:
        outcomes = await understood.record(conn, [w.item for w in writes])
    except store.DatabaseError:
        if len(writes) == 1:
            raise

        # One message the database refuses must not fail the others that came with it:
        # each alone, and only the refused ones fail.
        async def alone(write: _WaitingWrite) -> None:
            write.outcome = (await understood.record(conn, [write.item]))[0]

        await each_alone(writes, alone)
        return
    for write, outcome in zip(writes, outcomes, strict=True):
        write.outcome = outcome


class _FactsRead:
    """A message of a GROUPED_HANDOFFS channel whose routing facts are read with those of
    the messages routed at the same moment (one statement), and what was read."""

    __slots__ = ("conversation_id", "facts", "seq")

    def __init__(self, conversation_id: str, seq: int) -> None:
        self.conversation_id = conversation_id
        self.seq = seq
        self.facts: store.RoutingFacts | None = None


class _Handoff:
    """A handoff handed to the batch writer (``Decider._record_locked_together``), and what
    became of it: None when the message was interpreted already."""

    __slots__ = ("asked", "error", "facts", "interpretation", "message", "outcome", "plan")

    def __init__(
        self,
        message: MessageView,
        interpretation: Interpretation,
        facts: store.RoutingFacts,
        asked: kb_feedback.Asked | None,
        plan: Plan | None,
    ) -> None:
        self.message = message
        self.interpretation = interpretation
        self.facts = facts
        self.asked = asked
        self.plan = plan
        self.outcome: Recorded | None = None
        self.error: Exception | None = None


@dataclass(frozen=True, slots=True)
class HandedOver:
    """A handoff written in the transaction that stored its message
    (``Decider.hand_over_opened``): ``recorded``'s events are still to be stored."""

    item: _Handoff
    recorded: Recorded


class Decider:
    """Routes one stored customer message at a time per conversation."""

    def __init__(
        self,
        pool: Pool,
        bus: EventBus,
        metrics: Metrics,
        understanding: Understanding,
        policy: BotPolicy,
        texts: Texts,
        hours: BusinessHours | None,
        clock: Callable[[], datetime],
        router: Router | None,
        capabilities: Mapping[str, Capabilities],
        knowledge: Knowledge | None = None,
    ) -> None:
        self._capabilities = capabilities
        # The knowledge-base step (None: the bot answers from its intents alone).
        self._knowledge = knowledge
        self._pool = pool
        self._bus = bus
        self._metrics = metrics
        self._understanding = understanding
        self._policy = policy
        self._texts = texts
        self._hours = hours
        self._clock = clock
        self._router = router
        # conversation id -> (its lock, how many routings hold or wait for it)
        self._conversation_locks: dict[str, tuple[asyncio.Lock, int]] = {}
        # conversation id -> (status, language) as its last routing left them
        self._waiting: OrderedDict[str, tuple[str, str | None]] = OrderedDict()
        # Their messages' writes, those that come together in one statement.
        self._waiting_writes: GroupCommit[_WaitingWrite] = GroupCommit(
            pool, _record_waiting_writes, writers=WAITING_WRITERS
        )
        # Handoffs of GROUPED_HANDOFFS channels, written together, and their messages'
        # routing facts, read together before (each batch one statement, no transaction).
        self._handoffs: GroupCommit[_Handoff] = GroupCommit(
            pool, self._record_locked_together, writers=HANDOFF_WRITERS
        )
        self._facts_reads: GroupCommit[_FactsRead] = GroupCommit(
            pool, self._read_facts_together, writers=FACTS_READERS
        )
        # Routings that failed: the pipeline routes what they left again (flow.py).
        self.failures = 0

    async def close(self) -> None:
        """Stop the batch writer (after the routing workers: nothing more is handed to it)."""
        await self._waiting_writes.close()
        await self._handoffs.close()
        await self._facts_reads.close()

    async def route(self, message: MessageView, *, swept: bool = False) -> None:
        """Understand and decide on ``message``; ``swept``: read back from Postgres by a
        sweep, so perhaps routed meanwhile by the node that stored it: it goes the long way,
        whose first read says so before any NLU (RoutingFacts.interpreted)."""
        conversation_id = message["conversation_id"]
        if swept:
            self._waiting.pop(conversation_id, None)
        lock, users = self._conversation_locks.get(conversation_id, (asyncio.Lock(), 0))
        self._conversation_locks[conversation_id] = (lock, users + 1)
        try:
            async with lock:
                await self._understand_and_decide(message)
        except Exception:
            # The message is stored and visible to agents; a routing failure must not be
            # silent, and must not stop the next message from being routed.
            log.exception("routing failed", conversation_id=conversation_id, seq=message["seq"])
            self.failures += 1
        finally:
            lock, users = self._conversation_locks[conversation_id]
            if users == 1:
                del self._conversation_locks[conversation_id]
            else:
                self._conversation_locks[conversation_id] = (lock, users - 1)

    async def _understand_and_decide(self, message: MessageView) -> None:
        conversation_id, seq = message["conversation_id"], message["seq"]
        text = message["text"]
        waiting = self._waiting.pop(conversation_id, None)
        if (
            waiting is not None
            and chosen_option(text, MAX_OPTIONS) is None
            and await self._record_waiting(message, *waiting)
        ):
            return
        facts = await self._routing_facts(message)
        if facts.interpreted:
            return  # routed already: by another node, or by an earlier try here
        if chosen_option(text, MAX_OPTIONS) is not None:
            # "2" after numbered options is the second button: NLU reads its payload.
            async with self._pool.acquire() as conn:
                offered = await store.offered_buttons(conn, conversation_id, seq)
            choice = chosen_option(text, len(offered))
            if choice is not None:
                text = offered[choice - 1].payload
        # Read with the facts: set when the bot has the conversation.
        asked = facts.asked if self._knowledge is not None else None
        started = time.perf_counter()
        interpretation = await self._understanding.understand(text, facts.language)
        self._metrics.nlu_seconds.observe(time.perf_counter() - started)
        interpreter = self._understanding.interpreter
        automated = bool(message.get("automated"))
        conv = facts.conversation
        situation = self._situation(conv, interpretation, facts, automated=automated)
        decision = decide(situation, self._policy, self._texts)
        # What is recorded and answered in: nonsense names no language. The decisions under
        # a lock below are taken again on ``interpretation``, lingua's guess and all.
        heard = self._heard(interpretation, situation)
        plan = None
        if self._knowledge is not None and asked is not None:
            # After the handoff signals (they are decide's), before the bot's own answer.
            language = heard.language or facts.language
            plan = await self._knowledge.plan(asked, situation, decision, interpretation, language)
            decision = self._with_plan(situation, decision, plan)
        grouped: Recorded | None = None
        if decision.action == "handoff" and message["channel"] in GROUPED_HANDOFFS:
            handoff = _Handoff(message, interpretation, facts, asked, plan)
            await self._handoffs.add(handoff)
            if handoff.error is not None:
                raise handoff.error
            if handoff.outcome is None:
                return  # routed already, by another node's start-up sweep
            grouped = handoff.outcome
            if grouped[3].action == "handoff":
                await publish(self._bus, grouped[0])
                if self._router:
                    self._router.wake()
                return
        async with self._pool.acquire() as conn:
            recorded: list[Event] | None = None
            if grouped is not None:
                # Decided otherwise under the lock (the conversation had moved on).
                recorded, conv, situation, decision = grouped
            elif decision.action != "handoff":
                # The common case: one statement, no explicit transaction.
                recorded = await self._record(conn, message, heard, conv, decision)
            if recorded is None:
                # A handoff, or the conversation changed since the facts were read: decide
                # again with the conversation locked.
                outcome = await self._record_locked(
                    conn, message, interpretation, facts, asked, plan
                )
                if outcome is None:
                    return  # routed already, by another node's start-up sweep
                recorded, conv, situation, decision = outcome
            await publish(self._bus, recorded)
            if decision.action == "handoff" and self._router:
                self._router.wake()
            elif decision.action == "wait" and conv["status"] == "queued" and self._router:
                # What the customer just said may change how urgent it is.
                self._router.reprioritise(conversation_id)
            if decision.action == "wait" and recorded:
                self._remember(conversation_id, conv["status"], heard, facts.language)
            if decision.action != "bot" or not recorded:
                return
            speaking = None
            if plan is not None and plan.speaks and asked is not None:
                speaking = (asked, plan)
            if speaking is not None or interpreter is None:
                history = None
            else:
                history = (
                    await store.dialogue_history(conn, conversation_id, seq)
                    if interpreter.wants_history
                    else []
                )
        if speaking is not None:
            # The knowledge base answers instead of the engine (its own connection: this
            # routing holds none meanwhile, so the pool cannot run dry of waiting routings).
            await self._speak(conversation_id, *speaking)
            return
        if interpreter is None or history is None:
            return
        turn = await interpreter.respond(
            Dialogue(
                conversation_id,
                heard,
                heard.language or "en",
                tuple(history),
                # A response's variations for this channel (webchat, telegram, slack...).
                channel=message["channel"],
            )
        )
        final = after_bot(
            replace(situation, language=heard.language), decision, turn.handoff, self._texts
        )
        async with self._pool.acquire() as conn, conn.transaction():
            conv = await store.conversation_row(conn, conversation_id, lock=True)
            if conv["status"] != "bot":
                # An agent took over while the bot was thinking: the bot stays silent.
                return
            pending = await self._bot_messages(conn, conv, turn, heard.language)
            if turn.slots or turn.events:
                await store.keep_dialogue_slots(conn, message["id"], dict(turn.slots), turn.events)
            if final.action == "handoff":
                pending += await self._apply(conn, conv, final, interpretation, turn)
            stored_events = await store.store_events(conn, pending)
        await publish(self._bus, stored_events)
        if final.action == "handoff" and self._router:
            self._router.wake()

    async def _routing_facts(self, message: MessageView) -> store.RoutingFacts:
        """``store.routing_facts`` of the message; for a GROUPED_HANDOFFS channel, read with
        those of the messages routed at the same moment (``_read_facts_together``)."""
        conversation_id, seq = message["conversation_id"], message["seq"]
        if message["channel"] not in GROUPED_HANDOFFS:
            async with self._pool.acquire() as conn:
                return await store.routing_facts(
                    conn, conversation_id, seq, self._policy.trend_window
                )
        read = _FactsRead(conversation_id, seq)
        await self._facts_reads.add(read)
        if read.facts is None:
            # Gone since it was stored (an erasure): this routing fails, not its batch's.
            raise NotFound(f"no conversation {conversation_id}")
        return read.facts

    async def _read_facts_together(self, conn: store.Conn, reads: list[_FactsRead]) -> None:
        """The routing facts of several messages in one statement (it was one each: issue
        14). A batch that fails fails each of its routings, which are routed again."""
        found = await routing_facts_of(
            conn, [(r.conversation_id, r.seq) for r in reads], self._policy.trend_window
        )
        for read in reads:
            read.facts = found.get((read.conversation_id, read.seq))

    def decides_at_once(self, channel: str) -> bool:
        """Whether a message of ``channel`` that opens a conversation can be routed in the
        transaction that stores it (``hand_over_opened``): its handoffs are grouped, and no
        engine is asked, so deciding needs only what Switchboard detects itself (language,
        sentiment, risk: CPU, no I/O)."""
        return channel in GROUPED_HANDOFFS and self._understanding.interpreter is None

    async def understand_first(self, text: str) -> Interpretation:
        """The interpretation of a message that opens a conversation (no language of its
        own yet), for ``hand_over_opened``."""
        started = time.perf_counter()
        interpretation = await self._understanding.understand(text, None)
        self._metrics.nlu_seconds.observe(time.perf_counter() - started)
        return interpretation

    async def hand_over_opened(
        self, conn: store.Conn, opened: list[tuple[MessageView, Interpretation]]
    ) -> dict[int, HandedOver]:
        """Route, inside the caller's transaction (the one storing them), messages that have
        just opened their conversations and are plain handoffs, as ``_record_locked_together``
        would a moment later: the facts read, the interpretations, acknowledgements,
        activities, placements and views written, each by one statement for them all. The
        events these leave to store and publish, by message id; a message not in it (the bot
        or the knowledge base would answer, or it was interpreted already) is routed as
        usual after the commit. Issue 14: a mail's routing had a transaction, a facts read,
        a durable commit and an events insert of its own."""
        facts = await routing_facts_of(
            conn,
            [(m["conversation_id"], m["seq"]) for m, _ in opened],
            self._policy.trend_window,
        )
        items = []
        for message, interpretation in opened:
            found = facts.get((message["conversation_id"], message["seq"]))
            if found is None or found.interpreted or found.language is not None:
                continue  # understood without a conversation language: it must have none
            automated = bool(message.get("automated"))
            situation = self._situation(
                found.conversation, interpretation, found, automated=automated
            )
            decision = decide(situation, self._policy, self._texts)
            if decision.action != "handoff" or decision.handoff_reason is None:
                continue
            asked = found.asked if self._knowledge is not None else None
            if (
                self._knowledge is not None
                and asked is not None
                and not self._knowledge.keeps(asked, decision, interpretation)
            ):
                continue  # the knowledge base may answer: it searches, after the commit
            items.append(_Handoff(message, interpretation, found, asked, None))
        if not items:
            return {}
        items.sort(key=lambda i: i.facts.conversation["id"])
        decided = await self._decide_locked_together(conn, items, fresh=True)
        return {
            item.message["id"]: HandedOver(item, d)
            for item, d in zip(items, decided, strict=True)
            if d is not None
        }

    def handed_over(self, done: list[HandedOver]) -> None:
        """After the commit of ``hand_over_opened``'s transaction: count and log the
        handoffs, and ask the router for an assignment pass (their events are published by
        the caller, with the messages')."""
        handoffs = [h for h in done if h.recorded[3].action == "handoff"]
        for handed in handoffs:
            self._counted_handoff(handed.item, handed.recorded)
        if handoffs and self._router is not None:
            self._router.wake()

    def waiting(self, conversation_id: str) -> tuple[str, str | None] | None:
        """(status, language) as the conversation's last routing left it waiting for (or
        with) a person; None when it did not, is forgotten, or a routing of it is under way."""
        return self._waiting.get(conversation_id)

    def decides_waiting_at_once(self, text: str) -> bool:
        """Whether a message with ``text`` to a conversation waiting for (or with) a person
        can be understood before it is stored (``understand_waiting``), and so routed by the
        statement that stores it (server/store/appends.py): no engine is asked (language and
        sentiment are CPU work, and the decision is "wait" whatever the text says), and it
        picks none of the bot's options (a number reads the option's payload, the long way)."""
        return self._understanding.interpreter is None and chosen_option(text, MAX_OPTIONS) is None

    async def understand_waiting(self, text: str, language: str | None) -> Interpretation:
        """The interpretation recorded for a message to a conversation waiting for (or with)
        a person, in ``language``: its language (or the conversation's) and sentiment."""
        started = time.perf_counter()
        read = await self._understanding.understand(text, language)
        self._metrics.nlu_seconds.observe(time.perf_counter() - started)
        return self._heard(read, self._bare_situation(read, language))

    def decided_waiting(
        self,
        conversation_id: str,
        status: str,
        interpretation: Interpretation,
        language: str | None,
    ) -> None:
        """After the commit of a message routed by the statement that stored it: what
        ``_record_waiting`` does after its write (the priority brought up to date, what the
        routing left remembered)."""
        if status == "queued" and self._router:
            self._router.reprioritise(conversation_id)
        self._remember(conversation_id, status, interpretation, language)

    async def _record_waiting(
        self, message: MessageView, status: str, language: str | None
    ) -> bool:
        """A message to a conversation its last routing left waiting for (or with) a person:
        the decision is "wait" whatever the message says (``routing.decide``), so only the
        language is read, and the one write checks that status and language still hold.
        False when they do not (nothing written): the caller routes it the long way."""
        conversation_id = message["conversation_id"]
        interpretation = await self.understand_waiting(message["text"], language)
        write = _WaitingWrite(
            understood.Waiting(message["id"], conversation_id, status, language, interpretation)
        )
        await self._waiting_writes.add(write)
        if write.error is not None:
            raise write.error
        recorded = write.outcome
        if recorded is understood.CHANGED:
            return False
        if recorded is None:
            return True  # routed already, by another node's start-up sweep
        view, event_id = recorded
        event = Event(events.MESSAGE_INTERPRETED, conversation_id, {"message": view}, id=event_id)
        await publish(self._bus, [event])
        self.decided_waiting(conversation_id, status, interpretation, language)
        return True

    def _remember(
        self,
        conversation_id: str,
        status: str,
        interpretation: Interpretation,
        language: str | None,
    ) -> None:
        """Keep what a "wait" routing left: the status, and the conversation's language as
        the write left it (the message's, or the one it had)."""
        if status not in ("queued", "assigned"):
            return
        self._waiting[conversation_id] = (status, interpretation.language or language)
        while len(self._waiting) > WAITING_CONVERSATIONS:
            self._waiting.popitem(last=False)

    async def _record(
        self,
        conn: store.Conn,
        message: MessageView,
        interpretation: Interpretation,
        conv: ConversationRow,
        decision: Decision,
    ) -> list[Event] | None:
        """Store a decision that tells nobody anything yet (the bot will answer, or the
        conversation waits for its agent): the interpretation, the bot's state and the
        message.interpreted event in one statement, provided the conversation is still as
        the decision saw it. Returns the events (none when the message was interpreted
        already), or None when the conversation changed meanwhile."""
        try:
            recorded = await store.record_understanding(
                conn,
                message["id"],
                interpretation,
                conversation_id=conv["id"],
                status=conv["status"],
                fallbacks=decision.fallbacks,
            )
        except store.StatusChanged:
            return None
        if recorded is None:
            return []
        understood, event_id = recorded
        return [Event(events.MESSAGE_INTERPRETED, conv["id"], {"message": understood}, id=event_id)]

    def _with_plan(self, situation: Situation, decision: Decision, plan: Plan | None) -> Decision:
        """The decision once the knowledge-base step has spoken: its handoff (kb_not_helpful,
        kb_no_answer), or the bot's turn for its message. A person's conversation stays
        theirs, whatever the plan was made on."""
        if plan is None or decision.action == "wait":
            return decision
        if plan.kind == "handoff":
            assert plan.reason is not None
            told = replace(situation, language=heard_language(situation, self._policy))
            return replace(handoff(told, plan.reason, self._texts), fallbacks=0)
        return Decision("bot", "bot", fallbacks=plan.fallbacks(situation))

    async def _speak(self, conversation_id: str, asked: kb_feedback.Asked, plan: Plan) -> None:
        """The knowledge-base step's message, unless an agent took over meanwhile."""
        assert self._knowledge is not None
        async with self._pool.acquire() as conn, conn.transaction():
            conv = await store.conversation_row(conn, conversation_id, lock=True)
            if conv["status"] != "bot":
                return
            said = await self._knowledge.speak(conn, conv, asked, plan, self._say)
            stored_events = await store.store_events(conn, [said])
        await publish(self._bus, stored_events)

    async def _record_locked(
        self,
        conn: store.Conn,
        message: MessageView,
        interpretation: Interpretation,
        facts: store.RoutingFacts,
        asked: kb_feedback.Asked | None = None,
        plan: Plan | None = None,
    ) -> Recorded | None:
        """Decide with the conversation locked and store the outcome in one transaction: a
        handoff (with its message to the customer, committed durably) or a decision the
        unlocked read raced. None when the message was interpreted already."""
        async with conn.transaction():
            decided = await self._decide_locked(conn, message, interpretation, facts, asked, plan)
            if decided is None:
                return None
            pending, conv, situation, decision = decided
            stored_events = await store.store_events(conn, pending)
            if decision.action != "handoff":
                # Derived data only (a handoff tells the customer and an agent): the message
                # is durable already; one fsync per message is the budget.
                await store.commit_without_flush(conn)
        return stored_events, conv, situation, decision

    async def _record_locked_together(self, conn: store.Conn, items: list[_Handoff]) -> None:
        """``_record_locked`` for several conversations in one transaction (locked in id
        order, so two batches never wait for each other in a circle), their events in one
        statement, one durable commit. When the batch fails (a row refused, a deadlock with
        another writer), it is rolled back and each is recorded alone, so only the one that
        fails again fails."""
        if len(items) > 1:
            ordered = sorted(items, key=lambda i: i.facts.conversation["id"])
            try:
                async with conn.transaction():
                    decided = await self._decide_locked_together(conn, ordered)
                    written = await store.store_events(
                        conn, [e for d in decided if d is not None for e in d[0]]
                    )
            except Exception:
                log.warning("a batch of handoffs failed; each is recorded alone", exc_info=True)
            else:
                at = 0
                for item, d in zip(ordered, decided, strict=True):
                    if d is None:
                        continue  # interpreted already
                    mine = written[at : at + len(d[0])]
                    at += len(d[0])
                    item.outcome = (mine, d[1], d[2], d[3])
                    self._counted_handoff(item, d)
                return
        for item in items:
            try:
                item.outcome = await self._record_locked(
                    conn, item.message, item.interpretation, item.facts, item.asked, item.plan
                )
            except Exception as exc:
                item.error = exc

    def _counted_handoff(self, item: _Handoff, decided: Recorded) -> None:
        """Count and log a handoff of a batch once the batch is committed: counted inside it,
        a batch that failed and was recorded one by one counted each handoff twice."""
        pending, conv, _, decision = decided
        if any(e.name == events.MESSAGE_CREATED for e in pending):
            self._metrics.messages_out.labels(conv["channel"], "system").inc()
        self._metrics.handoffs.labels(str(decision.handoff_reason)).inc()
        log.info(
            "conversation handed to a human",
            conversation_id=str(conv["id"]),
            reason=decision.handoff_reason,
            evidence=decision.evidence,
            intent=item.interpretation.intent,
            language=item.interpretation.language,
            bot_error=None,
        )

    async def _decide_locked_together(
        self, conn: store.Conn, items: list[_Handoff], *, fresh: bool = False
    ) -> list[Recorded | None]:
        """``_decide_locked`` for several conversations (in id order, one message each)
        inside the caller's transaction, set-based: the rows locked, the interpretations,
        the customers' acknowledgements, the activities, the placements and the views each
        written or read by one statement for them all, not one a conversation (issue 14:
        some eight statements a handoff, grouped or not). What is not a plain handoff under
        the lock (the conversation moved on, no reason) is decided alone as before.
        ``fresh``: the caller's transaction opened these conversations, so the rows in the
        items' facts are locked and current already (``hand_over_opened``)."""
        ids = [i.facts.conversation["id"] for i in items]
        if self._router is None or len(set(ids)) != len(ids):
            return [
                await self._decide_locked(
                    conn, i.message, i.interpretation, i.facts, i.asked, i.plan
                )
                for i in items
            ]
        # Conversations this transaction opened are locked and read already (their facts).
        rows = (
            {i.facts.conversation["id"]: i.facts.conversation for i in items}
            if fresh
            else await locked_rows(conn, ids)
        )
        decided: list[Recorded | None] = [None] * len(items)
        # index -> (its conversation, situation and handoff decision)
        plain: dict[int, tuple[ConversationRow, Situation, Decision]] = {}
        for n, item in enumerate(items):
            conv = rows[ids[n]]
            automated = bool(item.message.get("automated"))
            situation = self._situation(conv, item.interpretation, item.facts, automated=automated)
            decision = self._with_plan(
                situation, decide(situation, self._policy, self._texts), item.plan
            )
            if decision.action == "handoff" and decision.handoff_reason is not None:
                plain[n] = (conv, situation, decision)
            else:
                decided[n] = await self._decide_locked(
                    conn, item.message, item.interpretation, item.facts, item.asked, item.plan
                )
        if not plain:
            return decided
        understood = await store_interpretations(
            conn,
            [
                Understood(
                    items[n].message["id"],
                    ids[n],
                    self._heard(items[n].interpretation, situation),
                    decision.fallbacks,
                )
                for n, (_, situation, decision) in plain.items()
            ],
        )
        # Those interpreted already (another node routed them first) are left as they are.
        plain = {n: p for n, p in plain.items() if items[n].message["id"] in understood}
        if not plain:
            return decided
        replying = [n for n, (_, _, decision) in plain.items() if decision.reply is not None]
        replies = dict(
            zip(
                replying,
                await insert_outgoing(
                    conn, "system", [(ids[n], str(plain[n][2].reply)) for n in replying]
                )
                if replying
                else [],
                strict=True,
            )
        )
        reasons = [(ids[n], str(decision.handoff_reason)) for n, (_, _, decision) in plain.items()]
        shown = await activities.record_many(conn, "handed_off", reasons)
        # Queued and placed by one UPDATE (each reason weighs in its priority).
        await self._router.place_handed_over(conn, reasons)
        viewed = await queue.viewed_waiting_of(conn, [i for i, _ in reasons])
        ranks = {
            e.conversation_id: e
            for e in await self._router.queue_changes(
                conn, [i for i, _ in reasons], [w for _, ws in viewed.values() for w in ws]
            )
        }
        for n, (conv, situation, decision) in plain.items():
            item, conversation_id = items[n], ids[n]
            pending = [
                Event(
                    events.MESSAGE_INTERPRETED,
                    conversation_id,
                    {"message": understood[item.message["id"]]},
                )
            ]
            if n in replies:
                pending.append(message_created(conv, replies[n]))
            data: EventData = {
                "conversation": viewed[conversation_id][0],
                "activity": shown[conversation_id],
            }
            pending.append(Event(events.CONVERSATION_UPDATED, conversation_id, data))
            # Placed in the queue: consoles add it where it ranks, without reading the queue.
            pending.append(ranks[conversation_id])
            await self._judge_after_handoff(conn, conv, item.asked, item.plan)
            decided[n] = (pending, conv, situation, decision)
        return decided

    async def _judge_after_handoff(
        self,
        conn: store.Conn,
        conv: ConversationRow,
        asked: kb_feedback.Asked | None,
        plan: Plan | None,
    ) -> None:
        """What a handoff says of the articles the bot showed before it."""
        if self._knowledge is not None and plan is not None and plan.kind == "handoff":
            await self._knowledge.judge(conn, conv, plan)
        elif asked is not None and asked.awaiting:
            # A person asked for, or a risk, right after the articles: they did not
            # answer the question.
            await kb_feedback.judge_shown(
                conn, UUID(conv["id"]), asked.awaiting, "not_helpful", "follow_up"
            )

    async def _decide_locked(
        self,
        conn: store.Conn,
        message: MessageView,
        interpretation: Interpretation,
        facts: store.RoutingFacts,
        asked: kb_feedback.Asked | None = None,
        plan: Plan | None = None,
    ) -> Recorded | None:
        """``_record_locked``'s work inside the caller's transaction: the events it leaves
        to write (the first of the returned values). None when the message was interpreted
        already."""
        conversation_id = facts.conversation["id"]
        conv = await store.conversation_row(conn, conversation_id, lock=True)
        automated = bool(message.get("automated"))
        situation = self._situation(conv, interpretation, facts, automated=automated)
        decision = self._with_plan(situation, decide(situation, self._policy, self._texts), plan)
        understood = await store.store_interpretation(
            conn,
            message["id"],
            self._heard(interpretation, situation),
            conversation_id=conversation_id,
            fallbacks=decision.fallbacks,
        )
        if understood is None:
            return None
        pending = [Event(events.MESSAGE_INTERPRETED, conversation_id, {"message": understood})]
        if decision.action == "handoff":
            pending += await self._apply(conn, conv, decision, interpretation)
            await self._judge_after_handoff(conn, conv, asked, plan)
        return pending, conv, situation, decision

    def _heard(self, interpretation: Interpretation, situation: Situation) -> Interpretation:
        """The interpretation as recorded: its language ``routing.decision.heard_language``'s
        (lingua's guess, or the conversation's language when the text reads as no language)."""
        language = heard_language(situation, self._policy)
        if language == interpretation.language:
            return interpretation
        # Lingua's confidence was in the language dropped, not in this one.
        return replace(interpretation, language=language, language_confidence=0.0)

    def _bare_situation(
        self, interpretation: Interpretation, previous_language: str | None
    ) -> Situation:
        """What the interpretation alone says, for a conversation the bot has: the whole
        situation (``_situation``) adds the conversation's facts to it."""
        interpreter = self._understanding.interpreter
        return Situation(
            status="bot",
            intent=interpretation.intent,
            confidence=interpretation.confidence,
            language=interpretation.language,
            supported_languages=interpreter.languages if interpreter else frozenset(),
            sentiment=interpretation.sentiment,
            language_confidence=interpretation.language_confidence,
            text=interpretation.text,
            out_of_scope=interpretation.scope.out_of_scope if interpretation.scope else None,
            previous_language=previous_language,
        )

    def _situation(
        self,
        conv: ConversationRow,
        interpretation: Interpretation,
        facts: store.RoutingFacts,
        *,
        automated: bool,
    ) -> Situation:
        return replace(
            self._bare_situation(interpretation, facts.language),
            status=conv["status"],  # type: ignore[arg-type]
            earlier_sentiments=facts.earlier_sentiments,
            fallbacks=facts.fallbacks,
            vip=facts.vip,
            automated=automated,
            within_hours=self._hours is None or self._hours.contains(self._clock()),
            hours=self._hours.describe() if self._hours else "",
            earlier_texts=facts.earlier_texts,
            earlier_conversations=facts.earlier_conversations,
        )

    async def _bot_messages(
        self, conn: store.Conn, conv: ConversationRow, turn: BotTurn, language: str | None
    ) -> list[Event]:
        """The bot's messages as the customer's channel can show them: buttons and images it
        cannot carry become numbered options and a link (``channels.base.degrade``); the
        choices are kept in the message's meta, so a number in reply picks one. A message
        with nothing to show (a custom payload only) is not stored."""
        capabilities = self._capabilities.get(conv["channel"], Capabilities())
        choose = CHOOSE.get(language or "en", CHOOSE["en"])
        pending = []
        for said in turn.messages:
            titles = [b.title for b in said.buttons]
            text = degrade(said.text, titles, said.image, capabilities, choose=choose)
            if not text:
                continue
            meta: dict[str, Any] = {"action": said.action}
            if said.buttons:
                meta["buttons"] = [{"title": b.title, "payload": b.payload} for b in said.buttons]
            if said.image:
                meta["image"] = said.image
            pending.append(await self._say(conn, conv, "bot", text, meta))
        return pending

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
        return message_created(conv, message)

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
        shown = None
        if decision.reply is not None:
            pending.append(await self._say(conn, conv, "system", decision.reply))
        if decision.action == "handoff" and decision.handoff_reason is not None:
            shown = await activities.record(
                conn, conv["id"], "handed_off", detail=decision.handoff_reason
            )
            if self._router is not None:
                # Queued and placed by one UPDATE (the reason weighs in its priority).
                await self._router.place(
                    conn, conv["id"], queued_now=True, handoff_reason=decision.handoff_reason
                )
            else:
                await store.set_handoff(conn, conv["id"], decision.handoff_reason)
            self._metrics.handoffs.labels(decision.handoff_reason).inc()
            log.info(
                "conversation handed to a human",
                conversation_id=conv["id"],
                reason=decision.handoff_reason,
                evidence=decision.evidence,
                intent=interpretation.intent,
                language=interpretation.language,
                bot_error=turn.error if turn else None,
            )
        # The view and, once placed, the queue entry, read together.
        view, waiting = await queue.viewed_waiting(conn, conv["id"])
        data: EventData = {"conversation": view}
        if shown is not None:
            data["activity"] = shown
        pending.append(Event(events.CONVERSATION_UPDATED, conv["id"], data))
        if shown is not None and self._router is not None:
            # Placed in the queue: consoles add it where it ranks, without reading the queue.
            pending += await self._router.queue_changes(conn, [conv["id"]], waiting)
        return pending
