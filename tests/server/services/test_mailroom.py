"""The mailroom's back-pressure against real Postgres, with a pipeline that stores only when
told to: at most MAX_PENDING accepted mails wait to reach the console; the next DATA waits
for room, is stored once there is, and is refused (Busy, the SMTP 451) with nothing stored
when none comes in time."""

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
from server.services import demo, mailroom
from server.services.mailroom import Mailroom
from server.store import mail as store_mail
from tests import mail
from tests.harness import until


class Parser:
    """The parser pool's interface, parsing in-process (the workers are tested apart)."""

    workers = 1

    async def parse(self, raw: bytes, mail_from: str) -> ParsedMail:
        return parse(raw, mail_from, Limits())

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


async def test_past_the_bound_a_data_waits_for_room_and_is_refused_when_none_comes(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mailroom, "MAX_PENDING", 2)
    monkeypatch.setattr(mailroom, "ROOM_SECONDS", 0.3)
    gate = Gate(pool)
    metrics = Metrics()
    room = Mailroom(
        pool,
        cast(Pipeline, gate),
        InProcessBus(metrics),
        metrics,
        cast(ParserPool, Parser()),
    )
    rcpt = [demo.EMAIL_INBOX]
    try:
        for n in (1, 2):
            await room.store_raw("127.0.0.1", "ada@example.com", rcpt, _raw(n))
        with pytest.raises(Busy):  # two wait to reach the console: no room in time
            await room.store_raw("127.0.0.1", "ada@example.com", rcpt, _raw(3))
        assert await pool.fetchval("SELECT count(*) FROM mail_receipts") == 2  # none stored
        monkeypatch.setattr(mailroom, "ROOM_SECONDS", 30.0)
        waiting = asyncio.create_task(room.store_raw("127.0.0.1", "ada@example.com", rcpt, _raw(3)))
        await until(lambda: _held(room))
        assert not waiting.done()  # held, not refused, while room may still come
        gate.open.set()  # the first two reach the console
        await asyncio.wait_for(waiting, 30)
        await room.settled()
        subjects = sorted(m.subject or "" for m in gate.ingested)
        assert subjects == ["question 1", "question 2", "question 3"]
        states = await pool.fetch("SELECT state FROM mail_receipts")
        assert [r["state"] for r in states] == ["stored"] * 3
    finally:
        await room.close()


async def test_the_raw_mails_held_are_bounded_in_bytes_too(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past PENDING_BYTES of raw mail waiting to reach the console, the next DATA waits for
    room as it does past MAX_PENDING mails, and is refused when none comes in time; a mail
    larger than the whole budget still goes through alone, once no other holds a place."""
    monkeypatch.setattr(mailroom, "PENDING_BYTES", len(_raw(1)) + 10)  # room for one mail
    monkeypatch.setattr(mailroom, "ROOM_SECONDS", 0.3)
    gate = Gate(pool)
    room = _room(pool, gate)
    rcpt = [demo.EMAIL_INBOX]
    big = mail.mail(subject="question 3", body="long " * 2000, message_id="pressure-3@x").as_bytes()
    try:
        await room.store_raw("127.0.0.1", "ada@example.com", rcpt, _raw(1))
        with pytest.raises(Busy):  # one place of MAX_PENDING taken, but no bytes left
            await room.store_raw("127.0.0.1", "ada@example.com", rcpt, _raw(2))
        assert await pool.fetchval("SELECT count(*) FROM mail_receipts") == 1
        monkeypatch.setattr(mailroom, "ROOM_SECONDS", 30.0)
        waiting = asyncio.create_task(room.store_raw("127.0.0.1", "ada@example.com", rcpt, big))
        await until(lambda: _held(room))
        assert not waiting.done()
        gate.open.set()  # the first reaches the console: the big one is alone, and fits
        await asyncio.wait_for(waiting, 30)
        await room.settled()
        assert sorted(m.subject or "" for m in gate.ingested) == ["question 1", "question 3"]
    finally:
        await room.close()


async def test_the_places_past_the_base_are_taken_only_while_the_pipeline_keeps_up(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past BASE_PENDING places, a DATA takes one (up to MAX_PENDING) only while the places
    lately freed were held less than PENDING_HELD_SECONDS on average (the pipeline keeps
    up); else it waits for room, and is refused when none comes in time."""
    monkeypatch.setattr(mailroom, "MAX_PENDING", 3)
    monkeypatch.setattr(mailroom, "BASE_PENDING", 1)
    monkeypatch.setattr(mailroom, "PENDING_HELD_SECONDS", 3600.0)
    monkeypatch.setattr(mailroom, "ROOM_SECONDS", 0.3)
    gate = Gate(pool)
    room = _room(pool, gate)
    rcpt = [demo.EMAIL_INBOX]
    try:
        for n in (1, 2):  # the base's one place, then one past it: the pipeline keeps up
            await room.store_raw("127.0.0.1", "ada@example.com", rcpt, _raw(n))
        monkeypatch.setattr(mailroom, "PENDING_HELD_SECONDS", 0.0)  # now it is behind
        with pytest.raises(Busy):  # one place of MAX_PENDING left, not taken
            await room.store_raw("127.0.0.1", "ada@example.com", rcpt, _raw(3))
        assert await pool.fetchval("SELECT count(*) FROM mail_receipts") == 2
        monkeypatch.setattr(mailroom, "ROOM_SECONDS", 30.0)
        waiting = asyncio.create_task(room.store_raw("127.0.0.1", "ada@example.com", rcpt, _raw(3)))
        await until(lambda: _held(room))
        gate.open.set()  # the first two reach the console: the base's place is free
        await asyncio.wait_for(waiting, 30)
        await room.settled()
        subjects = sorted(m.subject or "" for m in gate.ingested)
        assert subjects == ["question 1", "question 2", "question 3"]
    finally:
        await room.close()


def _room(pool: asyncpg.Pool, gate: Gate) -> Mailroom:
    metrics = Metrics()
    return Mailroom(
        pool, cast(Pipeline, gate), InProcessBus(metrics), metrics, cast(ParserPool, Parser())
    )


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


async def test_every_mail_holding_a_place_is_on_its_way_to_the_console(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The mails accepted up to the bound (MAX_PENDING) are all parsed and handed to the
    pipeline at once: none holds its place waiting for a worker while the pipeline is slow."""
    # Every place taken, however long the places are held (the pipeline is held shut here).
    monkeypatch.setattr(mailroom, "BASE_PENDING", mailroom.MAX_PENDING)
    gate = Gate(pool)
    room = _room(pool, gate)
    rcpt = [demo.EMAIL_INBOX]
    try:
        for n in range(mailroom.MAX_PENDING):
            await room.store_raw(f"10.0.1.{n}", f"held{n}@example.com", rcpt, _raw(100 + n))

        async def all_entered() -> bool:
            return gate.entered == mailroom.MAX_PENDING

        await until(all_entered)
        gate.open.set()
        await room.settled()
        assert len(gate.ingested) == mailroom.MAX_PENDING
    finally:
        gate.open.set()
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


async def _held(room: Mailroom) -> bool:
    return room.holding == 1


class CountingParser(Parser):
    """Parses in-process, counting the mails it was given."""

    parsed = 0

    async def parse(self, raw: bytes, mail_from: str) -> ParsedMail:
        self.parsed += 1
        return await super().parse(raw, mail_from)


async def test_a_mail_is_parsed_while_its_raw_mail_is_being_stored(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The parse starts with the DATA, not after the 250: while the raw mail's INSERT is held,
    the mail is parsed already, and the 250 still waits for the row. Once stored, the mail
    reaches the pipeline once, from that parse (not parsed again)."""
    release = asyncio.Event()
    insert = store_mail.add_receipts

    async def held(conn: Any, arrivals: list[store_mail.Arrival]) -> list[int]:
        await release.wait()
        return await insert(conn, arrivals)

    monkeypatch.setattr(store_mail, "add_receipts", held)
    gate = Gate(pool)
    gate.open.set()
    parser = CountingParser()
    metrics = Metrics()
    room = Mailroom(
        pool, cast(Pipeline, gate), InProcessBus(metrics), metrics, cast(ParserPool, parser)
    )
    try:
        accepted = asyncio.create_task(
            room.store_raw("127.0.0.1", "ada@example.com", [demo.EMAIL_INBOX], _raw(8))
        )

        async def parsed() -> bool:
            return parser.parsed == 1

        await until(parsed)
        assert not accepted.done()  # no 250 before the raw mail is stored
        release.set()
        receipt_id = await accepted
        await room.settled()
        assert [m.subject for m in gate.ingested] == ["question 8"]
        assert parser.parsed == 1
        state = await pool.fetchval("SELECT state FROM mail_receipts WHERE id = $1", receipt_id)
        assert state == "stored"
    finally:
        release.set()
        await room.close()


class StuckParser(Parser):
    """A parser whose every parse waits until ``free`` is set (busy workers)."""

    def __init__(self) -> None:
        self.free = asyncio.Event()
        self.started = 0

    async def parse(self, raw: bytes, mail_from: str) -> ParsedMail:
        self.started += 1
        await self.free.wait()
        return await super().parse(raw, mail_from)


async def test_a_mail_not_stored_leaves_no_parse_behind(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The review's finding (issue 14): a DATA whose raw mail the database does not take is
    answered 451, and its parse, started with the DATA, ends with it. Before, each one refused
    during an outage left a parse waiting for a worker, and they piled up."""

    async def outage(conn: Any, arrivals: list[store_mail.Arrival]) -> list[int]:
        raise asyncpg.CannotConnectNowError("the database system is starting up")

    monkeypatch.setattr(store_mail, "add_receipts", outage)
    gate = Gate(pool)
    gate.open.set()
    parser = StuckParser()
    metrics = Metrics()
    room = Mailroom(
        pool, cast(Pipeline, gate), InProcessBus(metrics), metrics, cast(ParserPool, parser)
    )
    try:
        for n in range(5):
            with pytest.raises(asyncpg.CannotConnectNowError):
                await room.store_raw("127.0.0.1", "ada@example.com", [demo.EMAIL_INBOX], _raw(n))

        async def none_left() -> bool:
            return room.parsing == 0

        await until(none_left)
        assert parser.started == 5  # each was started with its DATA, and ended with it
    finally:
        parser.free.set()
        await room.close()


async def test_a_place_is_freed_once_whichever_job_reaches_its_receipt_first(
    pool: asyncpg.Pool,
) -> None:
    """The sweep may process a receipt before its DATA's own job (its claim lapsed while the
    mail was on its way): the place and its bytes are freed then, not leaked (review), and
    the DATA's job frees nothing twice."""
    gate = Gate(pool)
    room = _room(pool, gate)
    try:
        receipt = await room.store_raw("127.0.0.1", "ada@example.com", [demo.EMAIL_INBOX], _raw(1))
        assert len(room._places) == 1
        assert room._held_bytes > 0
        # The sweep's job for it (no place of its own) reaches it first.
        await room._reached(mailroom._Job(receipt))
        assert (len(room._places), room._held_bytes) == (0, 0)
        gate.open.set()
        await room.settled()
        assert (len(room._places), room._held_bytes) == (0, 0)
    finally:
        await room.close()
