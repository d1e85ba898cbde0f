"""The mailroom against real Postgres, with a pipeline that stores only when told to: a DATA
waits for its raw mail's commit and nothing else; the mails accepted are processed after, from
memory or, past the memory's bound, from the table; past ``max_waiting`` a DATA is refused
(Busy, the SMTP 451) with nothing stored."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, cast

import asyncpg
import pytest

from channels.base import Busy, InboundMessage
from channels.email.parsing import Limits, ParsedMail, parse
from channels.email.workers import ParserPool
from server.live.bus import InProcessBus
from server.metrics import Metrics
from server.pipeline.flow import Pipeline
from server.services import demo, mail_backlog, mailroom
from server.services.mailroom import Mailroom
from server.store import mail as store_mail
from tests import mail


class Parser:
    """The parser pool's interface, parsing in-process (the workers are tested apart)."""

    workers = 1

    async def parse(self, raw: bytes, mail_from: str) -> ParsedMail:
        return parse(raw, mail_from, Limits())

    async def warm_up(self) -> None:
        return None

    def close(self) -> None:
        return None


@dataclass
class Gate:
    """A pipeline that stores a mail only once ``open`` is set, and records each. What a
    channel writes beside its messages (``Pipeline.write_beside``: the receipt's settling)
    runs as the pipeline runs it, in a transaction of the mail's ingest."""

    pool: asyncpg.Pool
    open: asyncio.Event = field(default_factory=asyncio.Event)
    ingested: list[InboundMessage] = field(default_factory=list)
    beside: dict[str, Any] = field(default_factory=dict)
    # Mails handed to the pipeline so far, stored or still waiting for ``open``.
    entered: int = 0
    # While True the mailroom hands it nothing (Pipeline.saturated).
    saturated: bool = False

    def write_beside(self, channel: str, write: Any) -> None:
        self.beside[channel] = write

    async def ingest(self, inbound: InboundMessage) -> Any:
        self.entered += 1
        await self.open.wait()
        self.ingested.append(inbound)

        @dataclass
        class Stored:
            message: dict[str, Any]
            duplicate: bool = False

        stored = Stored({"conversation_id": None, "id": len(self.ingested)})
        write = self.beside.get(inbound.channel)
        if write is not None:
            async with self.pool.acquire() as conn, conn.transaction():
                await write(conn, [(inbound, stored.message)])
        return stored


def _raw(n: int) -> bytes:
    return mail.mail(subject=f"question {n}", message_id=f"pressure-{n}@example.com").as_bytes()


def _room(pool: asyncpg.Pool, gate: Gate, max_waiting: int = mailroom.MAX_WAITING) -> Mailroom:
    metrics = Metrics()
    return Mailroom(
        pool,
        cast(Pipeline, gate),
        InProcessBus(metrics),
        metrics,
        cast(ParserPool, Parser()),
        max_waiting=max_waiting,
    )


async def _count(pool: asyncpg.Pool, query: str) -> int:
    return int(await pool.fetchval(query))


async def test_a_burst_past_the_memory_is_accepted_at_once_and_all_of_it_processed(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each DATA waits for its raw mail's commit only, not for the pipeline (held shut here):
    the first MEMORY_RECEIPTS are held in memory, claimed by this node; the rest wait in the
    table unclaimed, and are claimed back once the pipeline moves. Every mail reaches it
    once, and every receipt is settled."""
    monkeypatch.setattr(mail_backlog, "MEMORY_RECEIPTS", 3)
    gate = Gate(pool, saturated=True)
    room = _room(pool, gate)
    rcpt = [demo.EMAIL_INBOX]
    try:
        for n in range(10):
            await room.store_raw("127.0.0.1", "ada@example.com", rcpt, _raw(n))
        assert gate.entered == 0  # accepted, none processed yet
        claimed = "SELECT count(*) FROM mail_receipts WHERE claimed_until IS NOT NULL"
        assert await _count(pool, claimed) == 3
        assert await _count(pool, "SELECT count(*) FROM mail_receipts") == 10
        assert room.backlog.waiting == 10
        gate.saturated = False
        gate.open.set()
        await room.settled()
        assert sorted(m.subject or "" for m in gate.ingested) == sorted(
            f"question {n}" for n in range(10)
        )
        states = await pool.fetch("SELECT state FROM mail_receipts")
        assert [r["state"] for r in states] == ["stored"] * 10
        assert (room.backlog.waiting, room.backlog.in_memory) == (0, 0)
    finally:
        gate.open.set()
        await room.close()


async def test_while_mail_waits_in_the_table_new_mail_waits_there_too(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the memory's bytes, mail goes to the table, and so does the mail after it while
    any waits there (processed in the order it came); once the table is through, mail is
    held in memory again."""
    monkeypatch.setattr(mail_backlog, "MEMORY_BYTES", len(_raw(1)) + 10)  # room for one
    gate = Gate(pool, saturated=True)
    room = _room(pool, gate)
    rcpt = [demo.EMAIL_INBOX]
    try:
        for n in range(3):
            await room.store_raw("127.0.0.1", "ada@example.com", rcpt, _raw(n))
        unclaimed = "SELECT count(*) FROM mail_receipts WHERE claimed_until IS NULL"
        assert await _count(pool, unclaimed) == 2
        assert room.backlog.in_table == 2
        gate.saturated = False
        gate.open.set()
        await room.settled()
        assert sorted(m.subject or "" for m in gate.ingested) == [f"question {n}" for n in range(3)]
        await room.store_raw("127.0.0.1", "ada@example.com", rcpt, _raw(3))
        assert room.backlog.in_table == 0
        await room.settled()
        assert len(gate.ingested) == 4
    finally:
        gate.open.set()
        await room.close()


async def test_past_the_bound_a_data_is_refused_with_nothing_stored(pool: asyncpg.Pool) -> None:
    """Past ``max_waiting`` receipts accepted and not yet processed, the next DATA is refused
    (Busy: the SMTP 451) and stores nothing; once mail is processed, DATA is accepted again."""
    gate = Gate(pool, saturated=True)
    room = _room(pool, gate, max_waiting=2)
    rcpt = [demo.EMAIL_INBOX]
    try:
        for n in (1, 2):
            await room.store_raw("127.0.0.1", "ada@example.com", rcpt, _raw(n))
        with pytest.raises(Busy):
            await room.store_raw("127.0.0.1", "ada@example.com", rcpt, _raw(3))
        assert await _count(pool, "SELECT count(*) FROM mail_receipts") == 2
        gate.saturated = False
        gate.open.set()
        await room.settled()
        await room.store_raw("127.0.0.1", "ada@example.com", rcpt, _raw(3))
        await room.settled()
        assert sorted(m.subject or "" for m in gate.ingested) == [
            "question 1",
            "question 2",
            "question 3",
        ]
    finally:
        gate.open.set()
        await room.close()


async def test_mail_left_waiting_by_a_node_that_stops_is_processed_by_the_next(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A node that stops with mail in memory and in the table, none processed, gives its
    claims back; the next node's start counts the table as waiting and processes each mail
    once."""
    monkeypatch.setattr(mail_backlog, "MEMORY_RECEIPTS", 2)
    gate = Gate(pool, saturated=True)
    room = _room(pool, gate)
    rcpt = [demo.EMAIL_INBOX]
    for n in range(5):
        await room.store_raw("127.0.0.1", "ada@example.com", rcpt, _raw(n))
    await room.close()
    assert await _count(pool, "SELECT count(*) FROM mail_receipts WHERE state = 'received'") == 5
    claimed = "SELECT count(*) FROM mail_receipts WHERE claimed_until IS NOT NULL"
    assert await _count(pool, claimed) == 0  # given back
    again = Gate(pool)
    again.open.set()
    restarted = _room(pool, again)
    try:
        await restarted.start()
        await restarted.settled()
        assert sorted(m.subject or "" for m in again.ingested) == [
            f"question {n}" for n in range(5)
        ]
        states = await pool.fetch("SELECT state FROM mail_receipts")
        assert [r["state"] for r in states] == ["stored"] * 5
    finally:
        await restarted.close()


async def test_mail_accepted_before_a_restart_is_processed_before_mail_after_it(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a node left accepted and unprocessed goes before what its successor accepts
    after starting (a reply must not be threaded before the mail it answers). Two a batch,
    so the batches show the order (the review's proof, 6b613d9 took new mail first)."""
    monkeypatch.setattr(mailroom, "DRAIN_BATCH", 2)
    rcpt = [demo.EMAIL_INBOX]
    first = _room(pool, Gate(pool, saturated=True))
    for n in range(3):  # answered 250, not processed: the node stops
        await first.store_raw("127.0.0.1", "ada@example.com", rcpt, _raw(n))
    await first.close()
    gate = Gate(pool, saturated=True)
    gate.open.set()
    restarted = _room(pool, gate)
    try:
        await restarted.start()  # finds the three
        for n in range(10, 14):  # new mail after the restart
            await restarted.store_raw("127.0.0.1", "ada@example.com", rcpt, _raw(n))
        gate.saturated = False
        await restarted.settled()
        order = [m.subject or "" for m in gate.ingested]
        # Batches of two, each processed together (in either order): the old three fill
        # the first batch and half the second.
        assert set(order[:2]) == {"question 0", "question 1"}, order
        assert "question 2" in order[2:4], order
        assert len(order) == 7
    finally:
        await restarted.close()


async def test_mails_accepted_together_are_each_stored_once_and_reach_the_pipeline(
    pool: asyncpg.Pool,
) -> None:
    """Sessions reaching DATA at once share one INSERT: each gets its own receipt, holding its
    own bytes, and each mail reaches the pipeline once, parsed from the bytes it came with."""
    gate = Gate(pool)
    gate.open.set()
    room = _room(pool, gate)
    rcpt = [demo.EMAIL_INBOX]
    try:
        receipts = await asyncio.gather(
            *(
                room.store_raw(f"10.0.0.{n}", f"sender{n}@example.com", rcpt, _raw(n))
                for n in range(12)
            )
        )
        await room.settled()
        assert len(set(receipts)) == 12
        for n, receipt_id in enumerate(receipts):
            row = await pool.fetchrow("SELECT * FROM mail_receipts WHERE id = $1", receipt_id)
            assert row is not None
            assert row["raw"] == _raw(n)
            assert (row["peer"], row["mail_from"]) == (f"10.0.0.{n}", f"sender{n}@example.com")
            assert row["rcpt_tos"] == rcpt
            assert (row["state"], row["message_id"]) == ("stored", f"pressure-{n}@example.com")
            assert row["claimed_until"] is None
        subjects = sorted(m.subject or "" for m in gate.ingested)
        assert subjects == sorted(f"question {n}" for n in range(12))
    finally:
        await room.close()


async def test_a_mail_the_database_refuses_fails_alone(pool: asyncpg.Pool) -> None:
    """One envelope Postgres cannot store (a NUL in the sender) in a batch: that session is
    refused (the SMTP 451), the mails that came with it are stored."""
    gate = Gate(pool)
    gate.open.set()
    room = _room(pool, gate)
    rcpt = [demo.EMAIL_INBOX]
    try:
        results = await asyncio.gather(
            *(
                room.store_raw(
                    "127.0.0.1",
                    "bad\x00@example.com" if n == 2 else "ok@example.com",
                    rcpt,
                    _raw(n),
                )
                for n in range(5)
            ),
            return_exceptions=True,
        )
        await room.settled()
        assert isinstance(results[2], asyncpg.PostgresError)
        assert all(isinstance(r, int) for n, r in enumerate(results) if n != 2)
        stored = await pool.fetch("SELECT message_id FROM mail_receipts ORDER BY id")
        assert sorted(r["message_id"] for r in stored) == [
            f"pressure-{n}@example.com" for n in (0, 1, 3, 4)
        ]
    finally:
        await room.close()


async def test_a_receipt_being_processed_is_not_swept_but_a_restart_takes_it(
    pool: asyncpg.Pool,
) -> None:
    """A receipt this node stored is its own from the start: a sweep elsewhere leaves it;
    if the node stops before processing it, the next start takes it, and it is stored once."""
    gate = Gate(pool)  # closed: the mail never gets past the pipeline
    room = _room(pool, gate)
    receipt_id = await room.store_raw("127.0.0.1", "ada@example.com", [demo.EMAIL_INBOX], _raw(7))
    other = _room(pool, Gate(pool))
    try:
        assert await other.sweep() == 0  # claimed by the first node
        await room.close()  # the first node stops with the mail unprocessed
        state = await pool.fetchval("SELECT state FROM mail_receipts WHERE id = $1", receipt_id)
        assert state == "received"
        again = Gate(pool)
        again.open.set()
        restarted = _room(pool, again)
        try:
            assert await restarted.sweep(steal=True) == 1  # a start-up takes every claim
            await restarted.settled()
            assert [m.subject for m in again.ingested] == ["question 7"]
            state = await pool.fetchval("SELECT state FROM mail_receipts WHERE id = $1", receipt_id)
            assert state == "stored"
        finally:
            await restarted.close()
    finally:
        await other.close()


async def test_mail_taken_while_the_table_cannot_be_read_is_processed_once_it_can(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch taking mail from memory and from the table, whose claim from the table fails
    (the database away): the mails from memory are put back, not dropped, and every mail is
    processed once the table can be read."""
    monkeypatch.setattr(mail_backlog, "MEMORY_RECEIPTS", 1)
    claim = store_mail.claim_waiting
    failures = [asyncpg.CannotConnectNowError("the database system is starting up")]

    async def flaky(conn: Any, limit: int, skip: list[int]) -> list[store_mail.Receipt]:
        if failures:
            raise failures.pop()
        return await claim(conn, limit, skip)

    monkeypatch.setattr(store_mail, "claim_waiting", flaky)
    gate = Gate(pool, saturated=True)
    gate.open.set()
    room = _room(pool, gate)
    try:
        for n in range(3):
            await room.store_raw("127.0.0.1", "ada@example.com", [demo.EMAIL_INBOX], _raw(n))
        gate.saturated = False
        await room.settled()
        assert not failures  # the claim failed once
        assert sorted(m.subject or "" for m in gate.ingested) == [f"question {n}" for n in range(3)]
        assert (room.backlog.waiting, room.backlog.in_memory) == (0, 0)
    finally:
        await room.close()
