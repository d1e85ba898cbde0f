"""Inbound mail after SMTP: receipts parsed, threaded and handed to the pipeline.

The SMTP session stores the raw message (a receipt) before it answers 250; everything here
happens after, in the background, on whichever node holds the receipt: parse in a worker
(channels.email.workers) → a delivery report is attached to the outgoing message it names →
otherwise, for each of our inboxes it was sent to, find its thread (plus-address token, then
In-Reply-To/References — each only if the sender is that conversation's contact) → the
pipeline stores it once per Message-ID. A receipt that cannot be parsed is quarantined with
the reason; admins list, download and retry it (server/admin.py, `switchboard mail`).
Receipts a dead node left unparsed are picked up at start and by a periodic sweep.

Back-pressure: a node keeps at most MAX_PENDING receipts it accepted and has not yet handed
to the pipeline. Past that, the next DATA waits for room (the client is held, as a slow
server holds it) for up to ROOM_SECONDS and is then answered 451, so senders slow to the pace
mail reaches the console instead of a backlog growing behind a 250 (the bench's mail part
measured p99 8.7 s to the console when acceptance outran parsing and routing). Receipts are
processed RECEIPT_WORKERS at a time (threading and storing wait on Postgres); parsing alone
is limited to the parser pool's workers.

What one mail costs the database (bench/mail.py counts it): the raw mails of the sessions
that reach DATA together are stored by one multi-row INSERT and one commit (a group commit,
server/store/group_commit.py), each already claimed by this node, which parses it from
memory (no claim, no reading the raw mail back). The mails parsed together are stored in one
transaction (the pipeline's grouped ingest), and a mail to one inbox has its receipt settled
in that same transaction (``Pipeline.write_beside``): no statement or commit of its own. A
duplicate, or a mail to several of our inboxes, is settled after, by a batch of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, replace
from typing import Any

import structlog

from channels.base import Busy, InboundMessage, Sender
from channels.email import parsing
from channels.email.parsing import ParsedMail, Unparseable
from channels.email.workers import ParserPool
from server import events
from server.events import Event
from server.live.bus import EventBus
from server.metrics import Metrics
from server.payloads import MessageView
from server.pipeline.flow import Pipeline
from server.pipeline.messages import Stored
from server.store import Conn, DatabaseError, Pool, deliveries, event_log, mail
from server.store.group_commit import GroupCommit
from server.workers import WorkQueue

log = structlog.get_logger(__name__)

# Inboxes change rarely; recipients are checked on every RCPT.
INBOX_CACHE_SECONDS = 30.0
# How often receipts left by a node that died are looked for.
SWEEP_SECONDS = 30.0
# Receipt ids waiting for a parser; each is a few bytes (the raw mail stays in Postgres).
RECEIPT_QUEUE = 1000
# Receipts this node accepted and has not yet handed to the pipeline: at most this many, so
# a mail accepted reaches the console within a few receipts' processing time. A mail holds
# its place about 100 ms (receipt, parse, the grouped transaction), so the places bound the
# acceptance (Little's law) and make the pipeline's batches: with 16, 225-252 mails/s, about
# 8 mails a transaction and 4.7-5.3 ms of server and PostgreSQL CPU a mail; with 32, 290
# mails/s, 14 a transaction, 0.33 commits and 4.0 ms a mail, DATA -> console p99 353 ms
# against 336-407 (bench.mail, 18:05-18:11 UTC, issue 14; one run each, load 1.5). With 64,
# on a 2-core EPYC with the bench's lean client (3,000 mails, two rounds, load 1.1-1.7, the
# places' three sizes in turn): 564 and 729 mails/s against 535 and 515 with 32, p99 213 and
# 164 ms against 169 and 153, about 32 mails a transaction; the machine still had a core
# idle. 128 gave 574 and 879, p99 334 and 214 ms: more, but twice the wait a mail. Under
# load (a core kept busy, load average 5-8) 64 places gave no more (352 and 481 mails/s
# against 387 and 464) and twice the wait (p99 454 and 380 ms against 272 and 185), near the
# 500 ms a mail may take to the console: so the places past BASE_PENDING are taken only
# while the pipeline keeps up, that is while the mails lately freed held their places less
# than PENDING_HELD_SECONDS on average (a moving average over about the last ten). Places
# are held 60 ms with 32 and 80 ms with 64 on a machine with a core to spare, 115-155 ms
# with 32 and 200-230 ms with 64 under that load (the stage timings of those runs). The age
# of the oldest place held was tried first and let the 64 in under load: the grouped
# transaction frees about 30 places at once, and the oldest left was then young again.
MAX_PENDING = 64
BASE_PENDING = 32
PENDING_HELD_SECONDS = 0.1
# The weight of the latest place freed in that average.
HELD_WEIGHT = 0.1
# The raw mails those places hold in memory, each until its mail reaches the console: at
# most this many bytes as well, so that 64 mails at the size limit (10 MB each) do not hold
# 640 MB. A mail larger than the whole budget still takes a place when no other holds one.
PENDING_BYTES = 64 * 1024 * 1024
# Receipts processed at once: each waits on Postgres for most of its time (claim, thread,
# store, settle), so more than the parsers, which the parser pool limits on its own. As many
# as the places (MAX_PENDING): with fewer (8 before), half the accepted mails held a place
# while they waited for a worker, so DATA waited for room behind receipts nobody was working
# on, and the pipeline's batches were cut to the workers' number (bench.mail at 11:24-11:26
# UTC with 16: 1.55-1.62 commits a mail against 2.26, acceptance 200 and 247 mails/s against
# 215 twice).
RECEIPT_WORKERS = MAX_PENDING
# How long a DATA waits for room before the 451 (clients wait minutes for the answer to the
# end of DATA, RFC 5321 4.5.3.2.6; aiosmtplib's default is a minute).
ROOM_SECONDS = 10.0
# How long a sender is asked to wait when the parsers are a whole queue behind (SMTP 451;
# real senders retry on their own schedule, minutes later).
RETRY_AFTER = 60.0
# Statements storing raw mails at once, and settling receipts: each is a batch of whatever
# came together, on a connection of its own while a burst lasts. One batch of raw mails at a
# time (two before): a second writer took the next DATA alone, where waiting for the first
# to commit gathers every DATA of that moment into one INSERT and one WAL flush (bench.mail:
# 0.28-0.29 WAL flushes a mail against 0.45-0.46, the raw mail stored in 11.6-11.8 ms on
# average against 13.4-13.5, with OPEN_WRITERS likewise).
RECEIPT_WRITERS = 1
SETTLE_WRITERS = 1


@dataclass(eq=False, slots=True)
class _Arrival:
    """A raw mail handed to the batch writer, and what became of it."""

    arrival: mail.Arrival
    receipt_id: int = 0
    error: DatabaseError | None = None


async def _store_arrivals(conn: Conn, batch: list[_Arrival]) -> None:
    try:
        ids = await mail.add_receipts(conn, [a.arrival for a in batch])
    except DatabaseError:
        if len(batch) == 1:
            raise
        # A mail the database refuses (a NUL in its envelope, say) must not fail those that
        # came with it: each alone, and only the refused ones are answered 451.
        for one in batch:
            try:
                one.receipt_id = (await mail.add_receipts(conn, [one.arrival]))[0]
            except DatabaseError as exc:
                one.error = exc
        return
    for one, receipt_id in zip(batch, ids, strict=True):
        one.receipt_id = receipt_id


@dataclass(eq=False, slots=True)
class _Place:
    """A pending place (MAX_PENDING): the bytes of raw mail it holds, and since when."""

    size: int
    taken_at: float


@dataclass(frozen=True, slots=True)
class _Job:
    """A receipt to process: ``receipt`` when this node stored (and claimed) it and has its
    raw mail in memory; None when it is to be claimed from Postgres first. ``data_at``: when
    its DATA ended (perf_counter), for the stage timings, 0 when it did not come over SMTP
    here; ``queued_at``: when it was queued."""

    receipt_id: int
    steal: bool = False
    receipt: mail.Receipt | None = None
    data_at: float = 0.0
    queued_at: float = 0.0
    # The parse started with its DATA (``Mailroom.store_raw``), when it came over SMTP here.
    parsing: asyncio.Task[ParsedMail | Exception] | None = None


class Mailroom:
    """Implements channels.email.port.MailBackend for the SMTP server."""

    def __init__(
        self,
        pool: Pool,
        pipeline: Pipeline,
        bus: EventBus,
        metrics: Metrics,
        parser: ParserPool,
    ) -> None:
        self._pool = pool
        self._pipeline = pipeline
        self._bus = bus
        self._metrics = metrics
        self._parser = parser
        self._inboxes: dict[str, dict[str, Any]] = {}
        self._inboxes_until = 0.0
        # Receipts this node just stored come with their raw mail (MAX_PENDING of them at
        # most); others (the sweep's, an admin's retry) are ids, loaded when a worker takes
        # them. Past the queue, receipts wait in Postgres ('received') for the periodic sweep.
        self._work: WorkQueue[_Job] = WorkQueue(
            "mail-receipt",
            self._process_item,
            workers=max(RECEIPT_WORKERS, parser.workers),
            size=RECEIPT_QUEUE,
        )
        self._sweeper: asyncio.Task[None] | None = None
        # Parses started with their DATA (``store_raw``), until each ends.
        self._parses: set[asyncio.Task[ParsedMail | Exception]] = set()
        # Receipts accepted over SMTP here and not yet processed, each with the place it
        # holds: whichever job processes it first (its DATA's, or the sweep's after its claim
        # lapsed) frees that place. The places, with the DATA being stored, are MAX_PENDING
        # at most.
        self._pending: dict[int, _Place] = {}
        # The places taken, oldest first (a dict as an ordered set), and the raw mails'
        # bytes they hold (PENDING_BYTES at most).
        self._places: dict[_Place, None] = {}
        self._held_bytes = 0
        # How long the places lately freed were held, in seconds (HELD_WEIGHT).
        self._held_seconds = 0.0
        # DATA held waiting for a place (the SMTP session waits, up to ROOM_SECONDS).
        self.holding = 0
        self._room = asyncio.Condition()
        self._arrivals: GroupCommit[_Arrival] = GroupCommit(
            pool, _store_arrivals, writers=RECEIPT_WRITERS
        )
        self._settlements: GroupCommit[mail.Settlement] = GroupCommit(
            pool, mail.settle_receipts, writers=SETTLE_WRITERS
        )
        # How each receipt being stored is to be settled, by receipt id: settled in the
        # transaction that stores its message (``_settle_stored``), when it reaches one inbox.
        self._settling: dict[int, mail.Settlement] = {}
        pipeline.write_beside("email", self._settle_stored)
        # Each stage's histogram, looked up once (server.metrics.Metrics.stage_seconds).
        self._stage = {
            stage: metrics.stage_seconds.labels("email", stage)
            for stage in ("room", "receipt", "queued", "parse", "console")
        }
        metrics.track_queue("mail", lambda: self._work.depth)
        metrics.track_queue("mail-pending", lambda: len(self._places))
        metrics.track_queue("mail-held", lambda: self.holding)

    # -- the SMTP side -----------------------------------------------------------------------

    async def accepts(self, recipient: str) -> bool:
        return await self._inbox_for(recipient) is not None

    async def store_raw(self, peer: str, mail_from: str, rcpt_tos: list[str], raw: bytes) -> int:
        data_at = time.perf_counter()
        size = len(raw)
        place: _Place | None
        if not self.holding and self._room_for(size):
            # Room, and no DATA before this one waits for it: the place is taken at once,
            # without the condition's lock and a timer (the usual case; one event loop, so
            # nothing comes in between).
            place = self._take(size)
        else:
            place = await self._wait_for_place(size)
        if place is not None and self._work.full:
            await self._free_place(place)
            place = None
        if place is None:
            # The parsers are this far behind: the sender keeps the mail a while (451).
            self._metrics.refused.labels("email").inc()
            raise Busy(RETRY_AFTER)
        placed_at = time.perf_counter()
        self._stage["room"].observe(placed_at - data_at)
        # Parsed while its raw row is written, not after the 250: parsing needs nothing of
        # the row, and a mail that waited for its commit, then for a receipt worker, then for
        # a parser held its place through all three (issue 14). The result waits in its job.
        # Cancelled if the receipt is not stored or not queued after all, so no parse
        # outlives its place (a DATA refused during a database outage left one behind each
        # time); a cancelled parse costs no worker (channels.email.workers).
        parse = asyncio.create_task(self._parse(raw, mail_from), name="mail-parse")
        self._parses.add(parse)
        parse.add_done_callback(self._parses.discard)
        arrival = _Arrival(mail.Arrival(peer, mail_from, rcpt_tos, raw))
        try:
            await self._arrivals.add(arrival)
            if arrival.error is not None:
                raise arrival.error
        except BaseException:
            parse.cancel()
            await asyncio.shield(self._free_place(place))
            raise
        receipt_id = arrival.receipt_id
        stored_at = time.perf_counter()
        self._stage["receipt"].observe(stored_at - placed_at)
        self._metrics.mail_received.inc()
        self._pending[receipt_id] = place
        receipt = mail.Receipt(receipt_id, mail_from[:500], list(rcpt_tos), raw, 1, None)
        job = _Job(receipt_id, False, receipt, data_at, stored_at, parse)
        if not self._work.offer(job):
            # Filled meanwhile: the receipt waits in Postgres for the sweep, holding no place
            # (the sweep parses it again).
            parse.cancel()
            del self._pending[receipt_id]
            await self._free_place(place)
            with contextlib.suppress(Exception):
                async with self._pool.acquire() as conn:
                    await mail.release_claim(conn, receipt_id)
        return receipt_id

    def _room_for(self, size: int) -> bool:
        """Whether a place is free for a raw mail of ``size`` bytes."""
        taken = len(self._places)
        if taken == 0:
            return True
        if taken >= MAX_PENDING or self._held_bytes + size > PENDING_BYTES:
            return False
        return taken < BASE_PENDING or self._held_seconds < PENDING_HELD_SECONDS

    def _take(self, size: int) -> _Place:
        """The receipt's place, held until it is processed."""
        place = _Place(size, time.perf_counter())
        self._places[place] = None
        self._held_bytes += size
        return place

    async def _wait_for_place(self, size: int) -> _Place | None:
        """Wait (ROOM_SECONDS at most) for a place, in turn; None when none came. Only a
        place freed makes room (and moves the average time held), and each wakes one DATA:
        one that still does not fit waits for the next (there is one: places are held), and
        when none is held any more, whichever is woken fits."""
        self.holding += 1
        try:
            async with asyncio.timeout(ROOM_SECONDS), self._room:
                await self._room.wait_for(lambda: self._room_for(size))
                return self._take(size)
        except TimeoutError:
            return None
        finally:
            self.holding -= 1

    @property
    def parsing(self) -> int:
        """Parses started with their DATA and not yet ended: at most one a place."""
        return len(self._parses)

    async def _parse(self, raw: bytes, mail_from: str) -> ParsedMail | Exception:
        """The parsed mail, or why it could not be (Unparseable: quarantined; another error:
        retried), returned rather than raised: nobody awaits it if its receipt is not stored."""
        started = time.perf_counter()
        try:
            parsed = await self._parser.parse(raw, mail_from)
        except Exception as exc:
            return exc
        self._stage["parse"].observe(time.perf_counter() - started)
        return parsed

    async def _free_place(self, place: _Place) -> None:
        async with self._room:
            del self._places[place]
            self._held_bytes -= place.size
            held = time.perf_counter() - place.taken_at
            self._held_seconds += (held - self._held_seconds) * HELD_WEIGHT
            self._room.notify()

    # -- after the 250 -----------------------------------------------------------------------

    async def start(self) -> None:
        await self._parser.warm_up()
        await self.sweep(steal=True)
        self._sweeper = asyncio.create_task(self._sweep_forever(), name="mail-sweep")

    async def sweep(self, *, steal: bool = False) -> int:
        async with self._pool.acquire() as conn:
            pending = await mail.unclaimed_receipts(conn, steal=steal)
        for receipt_id in pending:
            self._spawn(receipt_id, steal=steal)
        if pending:
            log.info("parsing mail receipts left unparsed", count=len(pending))
        return len(pending)

    async def settled(self) -> None:
        """Wait until every receipt taken so far has been processed (tests, shutdown)."""
        await self._work.settled()

    async def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
        await self._work.close()
        for parse in self._parses:
            parse.cancel()
        await asyncio.gather(*self._parses, return_exceptions=True)
        await self._arrivals.close()
        await self._settlements.close()
        self._parser.close()

    def process_soon(self, receipt_id: int) -> None:
        """Parse a receipt in the background (an admin's retry of a quarantined one)."""
        self._spawn(receipt_id)

    def _spawn(self, receipt_id: int, *, steal: bool = False) -> None:
        self._work.offer(_Job(receipt_id, steal, queued_at=time.perf_counter()))

    async def _process_item(self, job: _Job) -> None:
        self._stage["queued"].observe(time.perf_counter() - job.queued_at)
        try:
            await self._process(job)
        finally:
            await self._reached(job)

    async def _reached(self, job: _Job) -> None:
        """The receipt's mail is in the console (or never will be): its place is free."""
        place = self._pending.pop(job.receipt_id, None)
        if place is not None:
            if job.data_at:
                self._stage["console"].observe(time.perf_counter() - job.data_at)
            await self._free_place(place)

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            try:
                await self.sweep()
            except Exception:
                log.exception("mail receipt sweep failed")

    async def _process(self, job: _Job) -> None:
        receipt_id = job.receipt_id
        try:
            receipt = job.receipt
            if receipt is None:
                async with self._pool.acquire() as conn:
                    receipt = await mail.claim_receipt(conn, receipt_id, steal=job.steal)
            if receipt is None:
                return  # done already, or another node has it
            if receipt.attempts > mail.MAX_ATTEMPTS:
                await self._quarantine(
                    receipt_id,
                    f"gave up after {mail.MAX_ATTEMPTS} attempts: {receipt.last_failure}",
                )
                return
            outcome = await (job.parsing or self._parse(receipt.raw, receipt.mail_from))
            if isinstance(outcome, Unparseable):
                await self._quarantine(receipt_id, str(outcome))
                return
            if isinstance(outcome, Exception):
                raise outcome
            parsed = outcome
            if parsed.report is not None:
                await self._attach_report(receipt_id, parsed)
            else:
                await self._deliver(job, receipt.rcpt_tos, parsed)
        except Exception as exc:
            # The receipt stays 'received' and is retried by the sweep once its claim lapses;
            # after MAX_ATTEMPTS it is quarantined with this reason.
            log.exception("processing a mail receipt failed", receipt_id=receipt_id)
            with contextlib.suppress(Exception):
                async with self._pool.acquire() as conn:
                    await mail.note_failure(conn, receipt_id, f"processing failed: {exc!r}")

    async def _quarantine(self, receipt_id: int, reason: str) -> None:
        async with self._pool.acquire() as conn:
            await mail.settle_receipt(conn, receipt_id, "quarantined", reason)
        self._metrics.mail_processed.labels("quarantined").inc()
        log.warning("mail quarantined", receipt_id=receipt_id, reason=reason)

    async def _attach_report(self, receipt_id: int, parsed: ParsedMail) -> None:
        report = parsed.report
        assert report is not None
        status = {"failed": "bounced", "delayed": "delayed", "delivered": "delivered"}[
            report.action
        ]
        found = None
        async with self._pool.acquire() as conn, conn.transaction():
            if report.original_message_id:
                found = await deliveries.report(
                    conn,
                    "email",
                    report.original_message_id,
                    status,
                    report.summary(),
                    {
                        "kind": report.kind,
                        "action": report.action,
                        "status": report.status,
                        "recipient": report.recipient,
                        "diagnostic": report.diagnostic,
                        "receipt_id": receipt_id,
                    },
                )
            reason = f"{report.kind} report: {report.summary()}"
            if found is None:
                reason += " (names no message of ours)"
            stored: list[Event] = []
            if found is not None:
                conversation_id, delivery = found
                stored = await event_log.store_events(
                    conn, [Event(events.MESSAGE_DELIVERY, conversation_id, {"delivery": delivery})]
                )
            await mail.settle_receipt(
                conn,
                receipt_id,
                "report",
                reason,
                message_id=parsed.message_id,
                subject=parsed.subject,
                conversation_id=found[0] if found else None,
            )
        for event in stored:
            await self._bus.publish(event)
        self._metrics.mail_processed.labels("report").inc()

    async def _deliver(self, job: _Job, rcpt_tos: list[str], parsed: ParsedMail) -> None:
        """One conversation message per inbox the mail was sent to (usually one)."""
        receipt_id = job.receipt_id
        targets: dict[str, tuple[dict[str, Any], str | None]] = {}
        for rcpt in rcpt_tos:
            found = await self._inbox_for(rcpt)
            if found is not None and found[0]["id"] not in targets:
                targets[found[0]["id"]] = found
        if not targets:
            await self._quarantine(receipt_id, "none of its recipients is an inbox any more")
            return
        conversation_id: str | None = None
        duplicate = True
        message_ids: list[int] = []
        settlement = mail.Settlement(
            receipt_id,
            "stored",
            f"automated: {parsed.automated}" if parsed.automated else None,
            message_id=parsed.message_id,
            subject=parsed.subject,
        )
        if len(targets) == 1:
            # The usual mail: settled with its message, in one commit (the other inboxes'
            # messages of a mail sent to several are settled below, once all are stored).
            self._settling[receipt_id] = settlement
        try:
            for inbox, token in targets.values():
                stored = await self._ingest(receipt_id, inbox, token, parsed)
                conversation_id = conversation_id or stored.message["conversation_id"]
                duplicate = duplicate and stored.duplicate
                message_ids.append(stored.message["id"])
        finally:
            self._settling.pop(receipt_id, None)
        # In the console now: the next DATA need not wait for the receipt's settling.
        await self._reached(job)
        if len(targets) == 1 and not duplicate:
            # Settled with the message (``_settle_stored``).
            self._metrics.mail_processed.labels("stored").inc()
            return
        if duplicate:
            # Stored before from this very receipt (its settling lost in a crash: it is not
            # waited for), or another delivery of the same mail?
            async with self._pool.acquire() as conn:
                duplicate = not await mail.came_from(conn, message_ids, receipt_id)
        state = "duplicate" if duplicate else "stored"
        await self._settlements.add(
            replace(settlement, state=state, conversation_id=conversation_id)
        )
        self._metrics.mail_processed.labels(state).inc()

    async def _settle_stored(
        self, conn: Conn, stored: list[tuple[InboundMessage, MessageView]]
    ) -> None:
        """In the transaction storing these mails' messages: settle the receipts they came
        from (those ``_deliver`` settles this way), so a receipt is 'stored' exactly when
        its message is, with no commit of its own."""
        settled = []
        for inbound, message in stored:
            settlement = self._settling.get(inbound.meta.get("receipt_id", 0))
            if settlement is not None:
                settled.append(replace(settlement, conversation_id=message["conversation_id"]))
        if settled:
            await mail.settle_stored(conn, settled)

    async def _ingest(
        self, receipt_id: int, inbox: dict[str, Any], token: str | None, parsed: ParsedMail
    ) -> Stored:
        """The mail as a message of one of our inboxes, stored once per Message-ID."""
        thread = await self._thread(inbox, token, parsed)
        return await self._pipeline.ingest(
            InboundMessage(
                channel="email",
                inbox_address=inbox["address"],
                external_id=mail.inbound_key(inbox["id"], parsed.message_id),
                sender=Sender(
                    external_id=parsed.from_address,
                    name=parsed.from_name,
                    email=parsed.from_address,
                ),
                text=parsed.text or "(no text)",
                thread=thread,
                subject=parsed.subject or None,
                attachments=parsed.attachments,
                automated=parsed.automated,
                meta={**parsing.as_json(parsed), "receipt_id": receipt_id},
            )
        )

    async def _thread(self, inbox: dict[str, Any], token: str | None, parsed: ParsedMail) -> str:
        """The thread key: the conversation the mail answers, else a new thread of its own."""
        sender = parsed.from_address
        # In-Reply-To names the parent; References the thread, newest first.
        ids = list(dict.fromkeys([*parsed.in_reply_to, *parsed.references]))
        if not token and not ids:
            return parsed.message_id  # a new thread: nothing to look up
        async with self._pool.acquire() as conn:
            found = None
            if token:
                found = await mail.thread_by_token(conn, inbox["id"], token, sender)
            if found is None:
                found = await mail.thread_by_message_ids(conn, inbox["id"], ids, sender)
        return found.thread_key if found is not None else parsed.message_id

    async def _inbox_for(self, address: str) -> tuple[dict[str, Any], str | None] | None:
        """The inbox an address reaches and its plus-address token, if any."""
        local, _, domain = address.strip().lower().rpartition("@")
        base, plus, token = local.partition("+")
        now = time.monotonic()
        if now >= self._inboxes_until:
            async with self._pool.acquire() as conn:
                self._inboxes = await mail.email_inbox_addresses(conn)
            self._inboxes_until = now + INBOX_CACHE_SECONDS
        inbox = self._inboxes.get(f"{base}@{domain}")
        if inbox is None:
            return None
        return inbox, (token or None) if plus else None
