"""Mail accepted and not yet processed: what waits between the 250 and the console.

The 250 waits for the raw mail's durable commit only (a receipt; the DATAs that arrive
together share one INSERT and one commit, server/store/group_commit.py). Parsing, threading,
storing and routing follow in the background (server/services/mailroom.py), as a mail server
queues to disk and delivers after: so acceptance is not held to the pace of processing
(about 1.9 ms of CPU a mail, against a fraction of that to store the raw mail). A receipt
waits in one of three ways:

- in memory: stored already claimed by this node, which processes it from the bytes it came
  with (nothing read back), up to MEMORY_RECEIPTS mails and MEMORY_BYTES of raw mail;
- in the table: past that, stored unclaimed, and claimed back a batch at a time
  (``mail.claim_waiting``) once the mails in memory are through. While any wait there, new
  ones go there too, so the mails are processed in about the order they came (a customer's
  second mail naming the first finds its thread);
- by id: the receipts a sweep found (left by a node that died, or lapsed) and an admin's
  retries, claimed one by one.

Past ``max_waiting`` receipts waiting (a setting, 100,000 by default; this node's count,
the table's at start) a DATA is refused (Busy: the SMTP 451) with nothing stored, as the
webhooks answer 503 past theirs. A node that dies loses nothing acknowledged: its receipts
are 'received' in the table, and the next start (or another node's sweep, once their claims
lapse) processes them.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass

from channels.base import Busy
from server.store import DatabaseError, Pool, mail
from server.store.group_commit import GroupCommit, each_alone
from server.store.views import Conn

# Receipts held in memory (accepted here, not yet processed), and their raw mails' bytes:
# so that a burst of large mails (10 MB each at the size limit) does not hold gigabytes. A
# mail larger than the whole budget is still held when no other is. 1,000 mails are about
# two seconds of processing on two cores; more wait in the table, read back a batch a
# statement.
MEMORY_RECEIPTS = 1000
MEMORY_BYTES = 64 * 1024 * 1024
# Receipts found by a sweep or retried by an admin, waiting for their turn by id; past this
# many they stay in the table for the next sweep.
BY_ID = 1000
# How long a sender refused at the bound is asked to wait (SMTP 451 has no Retry-After:
# real senders retry on their own schedule, minutes later).
RETRY_AFTER = 60.0
# One batch of raw mails written at a time: waiting for the one being written gathers every
# DATA of that moment into the next INSERT and WAL flush (bench.mail: 0.28-0.29 WAL flushes a
# mail against 0.45-0.46 with two writers).
RECEIPT_WRITERS = 1


@dataclass(frozen=True, slots=True)
class Job:
    """A receipt to process: ``receipt`` with its raw mail when this node holds it claimed,
    None when it is to be claimed by id first (``steal``: even from a live claim, as a node
    starting does). ``data_at``: when its DATA ended here (perf_counter), 0 when unknown;
    ``queued_at``: when it began to wait."""

    receipt_id: int
    steal: bool = False
    receipt: mail.Receipt | None = None
    data_at: float = 0.0
    queued_at: float = 0.0


@dataclass(eq=False, slots=True)
class _Arrival:
    """A raw mail handed to the batch writer, and what became of it."""

    arrival: mail.Arrival
    receipt_id: int = 0
    error: Exception | None = None


async def _store_arrivals(conn: Conn, batch: list[_Arrival]) -> None:
    try:
        ids = await mail.add_receipts(conn, [a.arrival for a in batch])
    except DatabaseError:
        if len(batch) == 1:
            raise

        # A mail the database refuses (a NUL in its envelope, say) must not fail those that
        # came with it: each alone, and only the refused ones are answered 451.
        async def alone(one: _Arrival) -> None:
            one.receipt_id = (await mail.add_receipts(conn, [one.arrival]))[0]

        await each_alone(batch, alone)
        return
    for one, receipt_id in zip(batch, ids, strict=True):
        one.receipt_id = receipt_id


class MailBacklog:
    """The receipts waiting to be processed: stored by ``accept``, handed out by ``take``."""

    def __init__(self, pool: Pool, *, max_waiting: int) -> None:
        self._pool = pool
        self.max_waiting = max_waiting
        self._memory: deque[Job] = deque()
        self._by_id: deque[Job] = deque()
        # Waiting in the table (unclaimed) as this node counts them: its own spilled ones,
        # what the table held at start, what a sweep found; set right when a claim finds
        # fewer than it asked for.
        self.in_table = 0
        # Receipts this node holds (in memory, queued by id, or being processed), so that no
        # claim from the table takes one of them again; and the bytes of raw mail held, with
        # what the DATAs being stored will hold.
        self._held: dict[int, int] = {}
        self._held_bytes = 0
        self._storing = 0
        self._arrivals: GroupCommit[_Arrival] = GroupCommit(
            pool, _store_arrivals, writers=RECEIPT_WRITERS
        )

    @property
    def waiting(self) -> int:
        """Receipts accepted and not yet taken for processing (the bound's count)."""
        return len(self._memory) + len(self._by_id) + self.in_table + self._storing

    @property
    def in_memory(self) -> int:
        """Receipts whose raw mail this node holds (waiting, or being processed)."""
        return len(self._held)

    @property
    def ready(self) -> bool:
        """Whether ``take`` may find something."""
        return bool(self._memory or self._by_id or self.in_table)

    async def accept(self, peer: str, mail_from: str, rcpt_tos: list[str], raw: bytes) -> int:
        """Store the raw mail durably and return its receipt id; Busy past the bound."""
        if self.waiting >= self.max_waiting:
            raise Busy(RETRY_AFTER)
        data_at = time.perf_counter()
        size = len(raw)
        keep = not self.in_table and (
            not self._held_bytes
            or (
                len(self._held) + self._storing < MEMORY_RECEIPTS
                and self._held_bytes + size <= MEMORY_BYTES
            )
        )
        arrival = _Arrival(mail.Arrival(peer, mail_from, rcpt_tos, raw, claimed=keep))
        self._storing += 1
        if keep:
            self._held_bytes += size
        try:
            await self._arrivals.add(arrival)
            if arrival.error is not None:
                raise arrival.error
        except BaseException:
            if keep:
                self._held_bytes -= size
            raise
        finally:
            self._storing -= 1
        receipt_id = arrival.receipt_id
        if keep:
            receipt = mail.Receipt(receipt_id, mail_from[:500], list(rcpt_tos), raw, 1, None)
            self._held[receipt_id] = size
            self._memory.append(Job(receipt_id, False, receipt, data_at, time.perf_counter()))
        else:
            self.in_table += 1
        return receipt_id

    def by_id(self, receipt_id: int, *, steal: bool = False) -> bool:
        """Queue a receipt to be claimed and processed; False when held already or when
        BY_ID wait already (it stays in the table for a later sweep)."""
        if receipt_id in self._held or len(self._by_id) >= BY_ID:
            return False
        self._held[receipt_id] = 0
        self._by_id.append(Job(receipt_id, steal, queued_at=time.perf_counter()))
        return True

    async def take(self, n: int) -> list[Job]:
        """Up to ``n`` receipts to process, the oldest first: by id (what a sweep found: a
        dead node's, or this node's before a restart, all accepted before anything in
        memory), then those in memory, then claimed from the table (new mail goes there
        only while something waits there, so it is newer than what memory holds). Memory
        first put a restarted node's new mail ahead of what it had accepted before, and a
        reply could then be threaded before the mail it answers (the review's test)."""
        jobs: list[Job] = []
        while self._by_id and len(jobs) < n:
            jobs.append(self._by_id.popleft())
        while self._memory and len(jobs) < n:
            jobs.append(self._memory.popleft())
        wanted = n - len(jobs)
        if wanted > 0 and self.in_table:
            try:
                async with self._pool.acquire() as conn:
                    claimed = await mail.claim_waiting(conn, wanted, list(self._held))
            except BaseException:
                # Taken back, in their order: each is processed once the database answers.
                for job in reversed(jobs):
                    (self._memory if job.receipt is not None else self._by_id).appendleft(job)
                raise
            self.in_table = 0 if len(claimed) < wanted else max(0, self.in_table - wanted)
            now = time.perf_counter()
            for receipt in claimed:
                self._held[receipt.id] = len(receipt.raw)
                self._held_bytes += len(receipt.raw)
                jobs.append(Job(receipt.id, False, receipt, 0.0, now))
        return jobs

    def holds(self, receipt_id: int) -> bool:
        """Whether this node holds the receipt (waiting, or being processed)."""
        return receipt_id in self._held

    def done(self, job: Job) -> None:
        """The job is over (processed, or failed and left to a later sweep)."""
        self._held_bytes -= self._held.pop(job.receipt_id, 0)

    def unprocessed(self) -> list[int]:
        """The receipts held in memory and never taken (a node stopping gives them back)."""
        return [job.receipt_id for job in self._memory]

    async def close(self) -> None:
        await self._arrivals.close()


__all__ = ["Job", "MailBacklog"]
