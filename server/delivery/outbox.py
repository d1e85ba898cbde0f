"""Delivers outgoing messages on outbox channels (email now), from any node, at least once.

An outgoing message on such a channel is written with a ``deliveries`` row in its own
transaction (server/store/messages.py). Workers claim due rows (``FOR UPDATE SKIP LOCKED``,
then out of reach for a lease), hand each to its channel's deliverer, and record the outcome:
sent; suppressed (with why); retried later on a temporary failure, the wait doubling each time;
failed when the failure is permanent or the attempts run out. Every outcome is a stored
``message.delivery`` event, so the console shows it on the message. A new message wakes the
worker through the bus; a short poll covers retries that come due.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol, TypeVar

import structlog

from channels.base import DeliveryError
from server import events, store
from server.events import Event
from server.live.bus import EventBus
from server.metrics import Metrics
from server.store import Pool, deliveries, event_log
from server.store.group_commit import GroupCommit, each_alone

log = structlog.get_logger(__name__)

POLL_SECONDS = 1.0
BATCH = 20
# The longest wait between two attempts, whatever the attempt count or a remote's
# Retry-After says: a relay that comes back after a night's outage is tried within the hour.
MAX_RETRY_SECONDS = 3600.0
# An attempt's outcome that could not be written (the database restarting) is written again,
# after 0.5 s, 1 s, ... up to RECORD_WAIT_MAX between tries, for as long as the claim keeps
# the delivery from the other workers, less a margin: a message sent whose outcome is not
# recorded when the claim lapses is sent again (a duplicate the customer sees; mail keeps
# its Message-ID, so clients may fold the two). A database back within RECORD_WITHIN seconds
# costs no duplicate; only a node dying between the send and the record still can.
RECORD_WAIT_START = 0.5
RECORD_WAIT_MAX = 5.0
RECORD_WITHIN = deliveries.SENDING_LEASE_SECONDS - 20.0
# One batch of outcomes written at a time: the attempts of a pass end together (a pass sends
# up to BATCH at once), and those that end while a batch is written go into the next, one
# transaction and one durable commit for them all. It was one each: with a Slack handoff's
# acknowledgement for every new conversation, recording outcomes took 13 % of the node's
# CPU while it drained a flood of events, and a WAL flush each beside the webhooks' own.
RECORD_WRITERS = 1


def retry_wait(attempts: int, base: float, retry_after: float | None = None) -> float:
    """Seconds before the next attempt: doubling from ``base`` per attempt made, at least a
    remote's Retry-After, never more than MAX_RETRY_SECONDS."""
    # The exponent is capped first: 2 ** 1000 seconds is an OverflowError in a timedelta.
    doubling: float = base * 2 ** min(max(attempts - 1, 0), 30)
    return min(max(doubling, retry_after or 0.0), MAX_RETRY_SECONDS)


@dataclass(frozen=True, slots=True)
class Sent:
    external_id: str
    detail: str


@dataclass(frozen=True, slots=True)
class Suppressed:
    reason: str


class Deliverer(Protocol):
    async def deliver(self, message_id: int) -> Sent | Suppressed:
        """Send one stored message; raise DeliveryError when it could not be sent."""
        ...


P = TypeVar("P")


async def send_parts(
    pool: Pool,
    message_id: int,
    parts: Sequence[P],
    send: Callable[[P], Awaitable[str]],
) -> str:
    """Send what is left of a message that goes out as several channel messages (a long
    text, then files), counting each part once it is sent, so a retry after a failure
    part-way sends the rest and never a part twice. ``send`` returns the part's channel id;
    the message is known by its first part's."""
    async with pool.acquire() as conn:
        done = await deliveries.progress(conn, message_id)
    first = done.external_id
    for index in range(done.parts_sent, len(parts)):
        sent = await send(parts[index])
        first = first or sent
        async with pool.acquire() as conn:
            await deliveries.record_part(conn, message_id, index + 1, first)
    if first is None:  # counted as sent with no id: only a hand-edited row says so
        raise DeliveryError("no part of the message was recorded as sent", permanent=True)
    return first


class _Record:
    """An attempt's outcome handed to the batch writer, and what became of it."""

    __slots__ = ("conversation_id", "error", "outcome", "stored")

    def __init__(self, outcome: deliveries.Outcome, conversation_id: str) -> None:
        self.outcome = outcome
        self.conversation_id = conversation_id
        # Its message.delivery event, stored (none when the delivery is gone).
        self.stored: list[Event] = []
        self.error: Exception | None = None


async def _write_records(conn: store.Conn, records: list[_Record]) -> None:
    """The outcomes and their events, in one transaction: a statement for each."""
    async with conn.transaction():
        settled = {
            view["message_id"]: view
            for view in await deliveries.settle_many(conn, [r.outcome for r in records])
        }
        kept = [r for r in records if r.outcome.message_id in settled]
        stored = await event_log.store_events(
            conn,
            [
                Event(
                    events.MESSAGE_DELIVERY,
                    r.conversation_id,
                    {"delivery": settled[r.outcome.message_id]},
                )
                for r in kept
            ],
        )
    for record, event in zip(kept, stored, strict=True):
        record.stored = [event]


async def _record_together(conn: store.Conn, records: list[_Record]) -> None:
    try:
        await _write_records(conn, records)
    except store.DatabaseError:
        if len(records) == 1:
            raise

        # One outcome the database refuses must not fail the others: each alone, and only
        # the refused ones fail.
        async def alone(record: _Record) -> None:
            await _write_records(conn, [record])

        await each_alone(records, alone)


class Outbox:
    def __init__(
        self,
        pool: Pool,
        bus: EventBus,
        metrics: Metrics,
        deliverers: dict[str, Deliverer],
        *,
        retry_seconds: float,
        max_attempts: int,
    ) -> None:
        self._pool = pool
        self._bus = bus
        self._metrics = metrics
        self._deliverers = deliverers
        self._retry_seconds = retry_seconds
        self._max_attempts = max_attempts
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._records: GroupCommit[_Record] = GroupCommit(
            pool, _record_together, writers=RECORD_WRITERS
        )

    async def start(self) -> None:
        if not self._deliverers:
            return  # nothing to send with (no relay configured): messages wait, visibly
        self._bus.subscribe(self._on_event)
        self._task = asyncio.create_task(self._run(), name="outbox")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._records.close()

    def _on_event(self, event: Event) -> None:
        if event.name == events.MESSAGE_CREATED and event.data["message"].get("delivery"):
            self._wake.set()

    async def _run(self) -> None:
        while True:
            try:
                sent = await self.run_once()
            except Exception:
                log.exception("outbox pass failed")
                sent = 0
            if sent < BATCH:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), POLL_SECONDS)
                self._wake.clear()

    async def run_once(self) -> int:
        """Claim what is due and deliver it; returns how many were attempted."""
        async with self._pool.acquire() as conn:
            due = await deliveries.claim_due(conn, list(self._deliverers), BATCH)
        # Conversations in parallel, each one's messages in their order: a closing message
        # and the rating question after it must reach the customer in that order.
        threads: dict[str, list[deliveries.Due]] = {}
        for d in sorted(due, key=lambda d: d.message_id):
            threads.setdefault(d.conversation_id, []).append(d)
        await asyncio.gather(*(self._attempt_in_order(t) for t in threads.values()))
        return len(due)

    async def _attempt_in_order(self, thread: list[deliveries.Due]) -> None:
        for due in thread:
            await self._attempt(due)

    async def _attempt(self, due: deliveries.Due) -> None:
        deliverer = self._deliverers[due.channel]
        retry_at = None
        external_id = None
        try:
            outcome = await deliverer.deliver(due.message_id)
        except DeliveryError as exc:
            gave_up = exc.permanent or due.attempts >= self._max_attempts
            if gave_up:
                status = "failed"
                detail = (
                    exc.detail
                    if exc.permanent
                    else (f"gave up after {due.attempts} attempts: {exc.detail}")
                )
            else:
                status = "pending"
                wait = retry_wait(due.attempts, self._retry_seconds, exc.retry_after)
                retry_at = datetime.now(UTC) + timedelta(seconds=wait)
                detail = f"attempt {due.attempts} failed, retrying in {wait:.0f} s: {exc.detail}"
        except Exception as exc:  # a bug, not the channel: retried, and logged loudly
            log.exception("delivery crashed", message_id=due.message_id)
            status, detail = "pending", f"internal error: {exc.__class__.__name__}"
            retry_at = datetime.now(UTC) + timedelta(seconds=self._retry_seconds)
        else:
            if isinstance(outcome, Sent):
                status, detail, external_id = "sent", outcome.detail, outcome.external_id
            else:
                status, detail = "suppressed", outcome.reason
        stored = await self._record(due, status, detail, external_id, retry_at)
        for event in stored:
            await self._bus.publish(event)
        self._metrics.deliveries.labels(due.channel, status).inc()
        if status == "failed":
            log.warning("delivery failed", message_id=due.message_id, detail=detail)

    async def _record(
        self,
        due: deliveries.Due,
        status: str,
        detail: str,
        external_id: str | None,
        retry_at: datetime | None,
    ) -> list[Event]:
        """Write the attempt's outcome and its event, with those of the attempts that end at
        the same moment (``_record_together``), again while the database refuses (see
        RECORD_WITHIN); the stored events. Writing it twice (a commit whose answer was lost)
        only sets the same outcome again."""
        record = _Record(
            deliveries.Outcome(due.message_id, status, detail, external_id, retry_at),
            due.conversation_id,
        )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + RECORD_WITHIN
        wait = RECORD_WAIT_START
        while True:
            record.error = None
            try:
                await self._records.add(record)
                if record.error is not None:
                    raise record.error
                return record.stored
            except Exception as exc:
                if loop.time() + wait > deadline:
                    raise
                log.warning(
                    "delivery outcome not recorded; trying again",
                    message_id=due.message_id,
                    status=status,
                    error=f"{type(exc).__name__}: {exc}",
                )
            await asyncio.sleep(wait)
            wait = min(wait * 2, RECORD_WAIT_MAX)
