"""The outbox over a real Postgres: a message sent whose outcome could not be written at once
(the database restarting) is recorded once the database answers, within the claim, so no
other worker sends it again (issue 21)."""

from __future__ import annotations

import asyncpg
import pytest

from channels.base import Sender
from server import store
from server.delivery import outbox
from server.delivery.outbox import Outbox, Sent
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


async def _reply_to_mail(pool: asyncpg.Pool) -> int:
    """An agent's reply in a mail conversation: a message with a pending delivery."""
    async with pool.acquire() as conn, conn.transaction():
        inbox = await store.inbox_by_address(conn, "email", demo.EMAIL_INBOX)
        sender = Sender("ada@example.com", email="ada@example.com")
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
    real = deliveries.settle
    refusals = [ConnectionError("connection was closed in the middle of operation")] * 2

    async def restarting(*args: object, **kwargs: object) -> object:
        if refusals:
            raise refusals.pop()
        return await real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(deliveries, "settle", restarting)
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
    assert await box.run_once() == 1
    assert not refusals
    assert (
        await pool.fetchval("SELECT status FROM deliveries WHERE message_id = $1", message_id)
        == "sent"
    )
    # Due again as if the claim had lapsed: a sent message is not sent again.
    await pool.execute(
        "UPDATE deliveries SET next_attempt_at = now() WHERE message_id = $1", message_id
    )
    assert await box.run_once() == 0
    assert relay.sent == [message_id]


async def test_an_outcome_still_refused_when_the_claim_ends_is_raised(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past RECORD_WITHIN the claim lapses anyway: the error is raised (and logged by the
    outbox's loop) rather than recorded late over another worker's attempt."""
    await _reply_to_mail(pool)

    async def down(*args: object, **kwargs: object) -> object:
        raise ConnectionError("the database is away")

    monkeypatch.setattr(deliveries, "settle", down)
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
