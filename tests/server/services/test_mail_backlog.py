"""The mail backlog's batch writer against a real Postgres (pgserver): a mail stored alone
after a refused batch is not answered 451 when the connection goes later in the batch."""

from __future__ import annotations

import asyncpg
import pytest

from server.services import mail_backlog
from server.store import mail


async def test_a_mail_stored_alone_keeps_its_receipt_when_the_connection_goes_later(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = mail.add_receipts
    calls: list[int] = []

    async def flaky(conn: asyncpg.Connection, arrivals: list[mail.Arrival]) -> list[int]:
        calls.append(len(arrivals))
        if len(calls) == 1:  # the batch: refused (a deadlock, say)
            raise asyncpg.DeadlockDetectedError("deadlock detected")
        if len(calls) == 3:  # the second alone: the connection goes
            raise ConnectionError("connection was closed in the middle of operation")
        return await real(conn, arrivals)

    monkeypatch.setattr(mail, "add_receipts", flaky)
    batch = [
        mail_backlog._Arrival(mail.Arrival("127.0.0.1", f"c{n}@example.com", ["s@x.test"], b"x"))
        for n in range(3)
    ]
    async with pool.acquire() as conn:
        await mail_backlog._store_arrivals(conn, batch)
    assert calls == [3, 1, 1]
    # The first is stored: answered 250, not 451 (a 451 would have it sent and stored again).
    assert batch[0].error is None
    assert (
        await pool.fetchval(
            "SELECT mail_from FROM mail_receipts WHERE id = $1", batch[0].receipt_id
        )
        == "c0@example.com"
    )
    assert all(isinstance(a.error, ConnectionError) for a in batch[1:])
    assert await pool.fetchval("SELECT count(*) FROM mail_receipts") == 1
