"""The outbox over a real Postgres: a message sent whose outcome could not be written at once
(the database restarting) is recorded once the database answers, within the claim, so no
other worker sends it again (issue 21)."""

from __future__ import annotations

import asyncpg
import pytest

from channels.base import Sender
from server import events, store
from server.delivery import outbox
from server.delivery.outbox import Outbox, Sent
from server.events import Event
from server.live.bus import InProcessBus
from server.metrics import Metrics
from server.services import demo
from server.store import deliveries


class _Relay:
    """A deliverer that takes every message, counting them."""

    def __init__(self) -> None:
        self.sent: list[int] = []

    async def deliver(self, message_id: int) -> Sent:
        self.sent.append(message_id)
        return Sent(f"<{message_id}@relay.test>", "250 taken")


async def _reply_to_mail(pool: asyncpg.Pool, customer: str = "ada@example.com") -> int:
    """An agent's reply in a mail conversation: a message with a pending delivery."""
    async with pool.acquire() as conn, conn.transaction():
        inbox = await store.inbox_by_address(conn, "email", demo.EMAIL_INBOX)
        sender = Sender(customer, email=customer)
        contact = await store.resolve_contact(conn, inbox["brand_id"], "email", sender)
        conv, _ = await store.lock_open_conversation(conn, inbox, contact)
        message = await store.insert_message(
            conn, conv["id"], direction="out", author_kind="bot", channel="email", text="hi"
        )
    assert message is not None
    return message["id"]


async def test_an_outcome_the_database_refused_is_recorded_once_it_answers(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    message_id = await _reply_to_mail(pool)
    real = deliveries.settle_many
    refusals = [ConnectionError("connection was closed in the middle of operation")] * 2

    async def restarting(*args: object, **kwargs: object) -> object:
        if refusals:
            raise refusals.pop()
        return await real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(deliveries, "settle_many", restarting)
    monkeypatch.setattr(outbox, "RECORD_WAIT_START", 0.01)
    relay = _Relay()
    box = Outbox(
        pool,
        InProcessBus(Metrics()),
        Metrics(),
        {"email": relay},
        retry_seconds=1,
        max_attempts=5,
    )
    try:
        assert await box.run_once() == 1
    finally:
        await box.close()
    assert not refusals
    assert (
        await pool.fetchval("SELECT status FROM deliveries WHERE message_id = $1", message_id)
        == "sent"
    )
    # Due again as if the claim had lapsed: a sent message is not sent again.
    await pool.execute(
        "UPDATE deliveries SET next_attempt_at = now() WHERE message_id = $1", message_id
    )
    try:
        assert await box.run_once() == 0
    finally:
        await box.close()
    assert relay.sent == [message_id]


async def test_an_outcome_still_refused_when_the_claim_ends_is_raised(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past RECORD_WITHIN the claim lapses anyway: the error is raised (and logged by the
    outbox's loop) rather than recorded late over another worker's attempt."""
    await _reply_to_mail(pool)

    async def down(*args: object, **kwargs: object) -> object:
        raise ConnectionError("the database is away")

    monkeypatch.setattr(deliveries, "settle_many", down)
    monkeypatch.setattr(outbox, "RECORD_WAIT_START", 0.01)
    monkeypatch.setattr(outbox, "RECORD_WAIT_MAX", 0.02)
    monkeypatch.setattr(outbox, "RECORD_WITHIN", 0.1)
    box = Outbox(
        pool,
        InProcessBus(Metrics()),
        Metrics(),
        {"email": _Relay()},
        retry_seconds=1,
        max_attempts=5,
    )
    with pytest.raises(ConnectionError):
        await box.run_once()
    await box.close()


async def test_outcomes_of_a_pass_are_each_recorded_with_their_event(pool: asyncpg.Pool) -> None:
    """The attempts of a pass end together and are recorded together (one transaction):
    each delivery settled, each with one message.delivery event in its own conversation."""
    sent = [await _reply_to_mail(pool, f"customer{n}@example.com") for n in range(6)]
    published: list[Event] = []
    bus = InProcessBus(Metrics())
    bus.subscribe(published.append)
    box = Outbox(pool, bus, Metrics(), {"email": _Relay()}, retry_seconds=1, max_attempts=5)
    try:
        assert await box.run_once() == 6
    finally:
        await box.close()
    rows = await pool.fetch(
        "SELECT d.message_id, d.status, d.external_id, m.conversation_id FROM deliveries d"
        " JOIN messages m ON m.id = d.message_id ORDER BY d.message_id"
    )
    assert [(r["message_id"], r["status"], r["external_id"]) for r in rows] == [
        (m, "sent", f"<{m}@relay.test>") for m in sent
    ]
    delivered = [e for e in published if e.name == events.MESSAGE_DELIVERY]
    assert sorted(e.data["delivery"]["message_id"] for e in delivered) == sent
    assert all(e.id is not None for e in delivered)
    conversations = {r["message_id"]: str(r["conversation_id"]) for r in rows}
    assert all(
        e.conversation_id == conversations[e.data["delivery"]["message_id"]] for e in delivered
    )
    stored = await pool.fetch(
        "SELECT (data->'delivery'->>'message_id')::bigint AS m, count(*) FROM events"
        " WHERE name = $1 GROUP BY 1",
        events.MESSAGE_DELIVERY,
    )
    assert sorted((r["m"], r["count"]) for r in stored) == [(m, 1) for m in sent]


async def test_an_outcome_the_database_refuses_does_not_keep_the_others_from_being_recorded(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One outcome the database refuses (a row it will not take) fails its own attempt's
    record, not the others' that were written with it."""
    sent = [await _reply_to_mail(pool, f"customer{n}@example.com") for n in range(4)]
    refused = sent[2]
    real = deliveries.settle_many

    async def refusing(conn: object, outcomes: list[deliveries.Outcome]) -> object:
        if any(o.message_id == refused for o in outcomes):
            raise asyncpg.CheckViolationError("the row is refused")
        return await real(conn, outcomes)  # type: ignore[arg-type]

    monkeypatch.setattr(deliveries, "settle_many", refusing)
    monkeypatch.setattr(outbox, "RECORD_WAIT_START", 0.01)
    monkeypatch.setattr(outbox, "RECORD_WAIT_MAX", 0.02)
    monkeypatch.setattr(outbox, "RECORD_WITHIN", 0.1)
    box = Outbox(
        pool,
        InProcessBus(Metrics()),
        Metrics(),
        {"email": _Relay()},
        retry_seconds=1,
        max_attempts=5,
    )
    try:
        with pytest.raises(asyncpg.CheckViolationError):
            await box.run_once()
    finally:
        await box.close()
    rows = await pool.fetch("SELECT message_id, status FROM deliveries ORDER BY message_id")
    assert [(r["message_id"], r["status"]) for r in rows] == [
        (m, "pending" if m == refused else "sent") for m in sent
    ]


async def test_outcomes_written_alone_before_a_lost_connection_are_recorded_once(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The batch refused (a deadlock), then each outcome alone until the connection goes at
    the third: the two already committed keep their one event; the others write again.
    (The session's review of e7910e4: before, the whole batch wrote again.)"""
    sent = [await _reply_to_mail(pool, f"customer{n}@example.com") for n in range(4)]
    real = deliveries.settle_many
    calls: list[list[int]] = []

    async def flaky(conn: store.Conn, outcomes: list[deliveries.Outcome]) -> object:
        calls.append([o.message_id for o in outcomes])
        if len(calls) == 1:
            raise asyncpg.DeadlockDetectedError("deadlock detected")
        if len(calls) == 4:
            raise ConnectionError("connection was closed in the middle of operation")
        return await real(conn, outcomes)

    monkeypatch.setattr(deliveries, "settle_many", flaky)
    monkeypatch.setattr(outbox, "RECORD_WAIT_START", 0.01)
    box = Outbox(pool, InProcessBus(Metrics()), Metrics(), {"email": _Relay()},
                 retry_seconds=1, max_attempts=5)  # fmt: skip
    try:
        assert await box.run_once() == 4
    finally:
        await box.close()
    assert calls == [sent, sent[:1], sent[1:2], sent[2:3], sent[2:]]
    stored = await pool.fetch(
        "SELECT (data->'delivery'->>'message_id')::bigint AS m, count(*) AS n FROM events"
        " WHERE name = $1 GROUP BY 1 ORDER BY 1",
        events.MESSAGE_DELIVERY,
    )
    assert [(r["m"], r["n"]) for r in stored] == [(m, 1) for m in sent]
