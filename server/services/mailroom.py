"""Inbound mail after SMTP: receipts parsed, threaded and handed to the pipeline.

The SMTP session stores the raw message (a receipt) before it answers 250 and waits for
nothing else (server/services/mail_backlog.py: the receipts waiting, in memory or in the
table, and the bound past which DATA is answered 451). Everything here happens after, in the
background, on whichever node holds the receipt: parse in a worker (channels.email.workers)
→ a delivery report is attached to the outgoing message it names → otherwise, for each of our
inboxes it was sent to, find its thread (plus-address token, then In-Reply-To/References —
each only if the sender is that conversation's contact) → the pipeline stores it once per
Message-ID. A receipt that cannot be parsed is quarantined with the reason; admins list,
download and retry it (server/admin.py, `switchboard mail`). Receipts a dead node left
unparsed are picked up at start and by a periodic sweep.

The processing takes the waiting receipts a batch at a time (DRAIN_BATCH, processed side by
side, so the pipeline stores them in a few grouped transactions) at the pace the webhooks'
drainers keep (server/services/held_batches.py, DrainPace): while mail pours in faster than
it is processed, a part of a batch once the arrivals pause or once a second, so that the SMTP
sessions keep the cores while a burst lasts, and whole batches back to back once it is over.
It also waits while the pipeline is saturated.

What one mail costs the database (bench/mail.py counts it): the raw mails of the sessions
that reach DATA together are stored by one multi-row INSERT and one commit (a group commit),
each already claimed by this node, which parses it from memory (no claim, no reading the raw
mail back). The mails processed together are stored in one transaction (the pipeline's
grouped ingest), and a mail to one inbox has its receipt settled in that same transaction
(``Pipeline.write_beside``): no statement or commit of its own. A duplicate, or a mail to
several of our inboxes, is settled after, by a batch of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import structlog

from channels.base import Busy
from channels.email.parsing import ParsedMail, Unparseable
from channels.email.workers import ParserPool
from server.live.bus import EventBus
from server.metrics import Metrics
from server.pipeline.flow import Pipeline
from server.services.held_batches import LOOK_AGAIN, DrainPace, woken
from server.services.mail_backlog import Job, MailBacklog
from server.services.mail_inbound import MailInbound
from server.store import Pool, mail

log = structlog.get_logger(__name__)

# How often receipts left by a node that died are looked for.
SWEEP_SECONDS = 30.0
# Receipts waiting past which DATA is answered 451 (settings.mail_max_waiting): about three
# minutes of processing on two shared cores, some 100 MB of raw mail in Postgres at the
# usual sizes, as the webhooks' MAX_HELD.
MAX_WAITING = 100_000
# Receipts processed side by side: each waits on Postgres for most of its time (thread,
# store, settle), and the pipeline stores those that reach it together in one transaction
# (64 at once gave about 32 mails a transaction, bench.mail, issue 14).
DRAIN_BATCH = 64
# How long the processing waits before looking again while the pipeline is saturated.
SATURATED_PAUSE = 0.05


class Mailroom:
    """Implements channels.email.port.MailBackend for the SMTP server."""

    def __init__(
        self,
        pool: Pool,
        pipeline: Pipeline,
        bus: EventBus,
        metrics: Metrics,
        parser: ParserPool,
        *,
        max_waiting: int = MAX_WAITING,
    ) -> None:
        self._pool = pool
        self._pipeline = pipeline
        self._bus = bus
        self._metrics = metrics
        self._parser = parser
        self._inbound = MailInbound(pool, pipeline, bus, metrics)
        self.backlog = MailBacklog(pool, max_waiting=max_waiting)
        self._pace = DrainPace(DRAIN_BATCH, capacity=max_waiting)
        self._arrived = asyncio.Event()
        # Whether a batch is being processed, and a change of that or of the backlog
        # (``settled`` waits for both to be empty).
        self._busy = False
        self._progress = asyncio.Condition()
        self._drainer: asyncio.Task[None] | None = None
        self._sweeper: asyncio.Task[None] | None = None
        # Each stage's histogram, looked up once (server.metrics.Metrics.stage_seconds).
        self._stage = {
            stage: metrics.stage_seconds.labels("email", stage)
            for stage in ("receipt", "queued", "parse", "console")
        }
        metrics.track_queue("mail", lambda: self.backlog.waiting)
        metrics.track_queue("mail-pending", lambda: self.backlog.in_memory)

    # -- the SMTP side -----------------------------------------------------------------------

    async def accepts(self, recipient: str) -> bool:
        return await self._inbound.inbox_for(recipient) is not None

    async def store_raw(self, peer: str, mail_from: str, rcpt_tos: list[str], raw: bytes) -> int:
        started = time.perf_counter()
        try:
            receipt_id = await self.backlog.accept(peer, mail_from, rcpt_tos, raw)
        except Busy:
            self._metrics.refused.labels("email").inc()
            raise
        self._stage["receipt"].observe(time.perf_counter() - started)
        self._metrics.mail_received.inc()
        self._pace.arrived()
        self._wake()
        return receipt_id

    # -- after the 250 -----------------------------------------------------------------------

    async def start(self) -> None:
        await self._parser.warm_up()
        async with self._pool.acquire() as conn:
            waiting = await mail.waiting_count(conn)
        queued = await self.sweep(steal=True)
        self.backlog.in_table = max(0, waiting - queued)
        self._wake()
        self._sweeper = asyncio.create_task(self._sweep_forever(), name="mail-sweep")

    async def sweep(self, *, steal: bool = False) -> int:
        """Queue the receipts no node holds (``steal``: every one not processed, as a node
        starting takes its dead predecessor's claims); returns how many were queued."""
        async with self._pool.acquire() as conn:
            pending = await mail.unclaimed_receipts(conn, steal=steal)
        queued = sum(self.backlog.by_id(receipt_id, steal=steal) for receipt_id in pending)
        if queued:
            log.info("parsing mail receipts left unparsed", count=queued)
            self._wake()
        return queued

    async def settled(self) -> None:
        """Wait until every receipt accepted or queued so far has been processed (tests,
        shutdown)."""
        self._wake()
        async with self._progress:
            await self._progress.wait_for(lambda: not (self.backlog.ready or self._busy))

    async def close(self) -> None:
        for task in (self._sweeper, self._drainer):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self.backlog.close()
        unprocessed = self.backlog.unprocessed()
        if unprocessed:
            # Another node may take them now rather than once their claims lapse.
            with contextlib.suppress(Exception):
                async with self._pool.acquire() as conn:
                    await mail.release_claims(conn, unprocessed)
        await self._inbound.close()
        self._parser.close()

    def process_soon(self, receipt_id: int) -> None:
        """Parse a receipt in the background (an admin's retry of a quarantined one)."""
        if self.backlog.by_id(receipt_id):
            self._wake()

    def _wake(self) -> None:
        self._arrived.set()
        if self._drainer is None or self._drainer.done():
            self._drainer = asyncio.create_task(self._drain_forever(), name="mail-drain")

    async def _drain_forever(self) -> None:
        """Owned task: process the waiting receipts a batch at a time, paced (DrainPace)."""
        while True:
            if not self.backlog.ready:
                async with self._progress:
                    self._progress.notify_all()
                await woken(self._arrived, LOOK_AGAIN)
                continue
            size = await self._pace.before_batch(lambda: self.backlog.waiting)
            while self._pipeline.saturated:  # noqa: ASYNC110 (a gauge, no event to await)
                await asyncio.sleep(SATURATED_PAUSE)
            self._busy = True
            try:
                jobs = await self.backlog.take(size)
                await asyncio.gather(*(self._process_item(job) for job in jobs))
            except Exception:
                # Claiming from the table failed (the database is away): look again soon.
                log.exception("taking waiting mail receipts failed")
                await asyncio.sleep(1.0)
            finally:
                self._busy = False
            async with self._progress:
                self._progress.notify_all()

    async def _process_item(self, job: Job) -> None:
        self._stage["queued"].observe(time.perf_counter() - job.queued_at)
        try:
            await self._process(job)
        finally:
            self._reached(job)

    def _reached(self, job: Job) -> None:
        """The receipt's mail is in the console (or never will be): its bytes are free."""
        if self.backlog.holds(job.receipt_id):
            if job.data_at:
                self._stage["console"].observe(time.perf_counter() - job.data_at)
            self.backlog.done(job)

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            if self.backlog.in_table:
                # Being claimed from the table a batch at a time, lapsed claims included: by
                # id as well, each would cost a statement of its own.
                continue
            try:
                await self.sweep()
            except Exception:
                log.exception("mail receipt sweep failed")

    async def _process(self, job: Job) -> None:
        receipt_id = job.receipt_id
        try:
            receipt = job.receipt
            if receipt is None:
                async with self._pool.acquire() as conn:
                    receipt = await mail.claim_receipt(conn, receipt_id, steal=job.steal)
            if receipt is None:
                return  # done already, or another node has it
            if receipt.attempts > mail.MAX_ATTEMPTS:
                await self._inbound.quarantine(
                    receipt_id,
                    f"gave up after {mail.MAX_ATTEMPTS} attempts: {receipt.last_failure}",
                )
                return
            outcome = await self._parse(receipt.raw, receipt.mail_from)
            if isinstance(outcome, Unparseable):
                await self._inbound.quarantine(receipt_id, str(outcome))
                return
            if isinstance(outcome, Exception):
                raise outcome
            parsed = outcome
            if parsed.report is not None:
                await self._inbound.attach_report(receipt_id, parsed)
            else:
                await self._inbound.deliver(
                    receipt_id, receipt.rcpt_tos, parsed, lambda: self._reached(job)
                )
        except Exception as exc:
            # The receipt stays 'received' and is retried by the sweep once its claim lapses;
            # after MAX_ATTEMPTS it is quarantined with this reason.
            log.exception("processing a mail receipt failed", receipt_id=receipt_id)
            with contextlib.suppress(Exception):
                async with self._pool.acquire() as conn:
                    await mail.note_failure(conn, receipt_id, f"processing failed: {exc!r}")

    async def _parse(self, raw: bytes, mail_from: str) -> ParsedMail | Exception:
        """The parsed mail, or why it could not be (Unparseable: quarantined; another error:
        retried), returned rather than raised."""
        started = time.perf_counter()
        try:
            parsed = await self._parser.parse(raw, mail_from)
        except Exception as exc:
            return exc
        self._stage["parse"].observe(time.perf_counter() - started)
        return parsed
