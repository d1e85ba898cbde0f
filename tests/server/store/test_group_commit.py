"""Group commit against real Postgres: rows handed over together are written together, each
caller returns only once its row is committed, a failed batch fails its callers (and only
them), and the held-update and held-event tables keep a redelivery once."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from server.store import group_commit, slack_events, telegram_updates
from server.store.group_commit import GroupCommit
from server.store.slack_events import HeldEvent
from server.store.telegram_updates import HeldUpdate
from server.store.views import Conn


async def test_rows_that_arrive_together_share_a_statement_and_are_committed_on_return(
    pool: asyncpg.Pool,
) -> None:
    await pool.execute("CREATE TABLE gc_rows (n int PRIMARY KEY)")
    statements: list[list[int]] = []

    async def write(conn: Conn, rows: list[int]) -> None:
        statements.append(rows)
        await conn.execute("INSERT INTO gc_rows SELECT unnest($1::int[])", rows)

    group: GroupCommit[int] = GroupCommit(pool, write, batch=50, writers=1)

    async def add(n: int) -> None:
        await group.add(n)
        # Returned: committed, so visible on another connection.
        assert await pool.fetchval("SELECT count(*) FROM gc_rows WHERE n = $1", n) == 1

    await asyncio.gather(*(add(n) for n in range(200)))
    assert sorted(n for rows in statements for n in rows) == list(range(200))
    assert len(statements) < 200  # shared: one writer, so the rest waited together
    assert max(len(rows) for rows in statements) <= 50
    assert group.waiting == 0
    await group.close()


async def test_a_failed_batch_fails_its_callers_and_the_next_batch_still_goes(
    pool: asyncpg.Pool,
) -> None:
    await pool.execute("CREATE TABLE gc_ok (n int PRIMARY KEY)")

    async def write(conn: Conn, rows: list[int]) -> None:
        if -1 in rows:
            raise RuntimeError("disk full")
        await conn.execute("INSERT INTO gc_ok SELECT unnest($1::int[])", rows)

    group: GroupCommit[int] = GroupCommit(pool, write, writers=1)
    with pytest.raises(RuntimeError, match="disk full"):
        await group.add(-1)
    await group.add(7)
    assert await pool.fetchval("SELECT count(*) FROM gc_ok") == 1
    await group.close()


async def test_held_updates_and_events_are_kept_once_however_often_they_come(
    pool: asyncpg.Pool,
) -> None:
    async with pool.acquire() as conn:
        updates = [HeldUpdate(n, b'{"update_id": %d}' % n) for n in (1, 2, 2, 3)]
        await telegram_updates.hold_many(conn, 42, updates)
        await telegram_updates.hold_many(conn, 42, updates[:2])  # delivered again
        assert await telegram_updates.held_count(conn, 42) == 3
        async with conn.transaction():
            taken = await telegram_updates.take_oldest_many(conn, 42, 2)
            assert [u.update_id for u in taken] == [1, 2]
            await telegram_updates.forget_many(conn, 42, [u.update_id for u in taken])
        assert await telegram_updates.held_count(conn, 42) == 1

        events = [HeldEvent(e, b"{}") for e in ("Ev1", "Ev2", "Ev1")]
        await slack_events.hold_many(conn, events)
        await slack_events.hold_many(conn, events[:1])
        assert await slack_events.held_count(conn) == 2
        async with conn.transaction():
            taken_events = await slack_events.take_oldest_many(conn, 10)
            assert [e.event_id for e in taken_events] == ["Ev1", "Ev2"]  # in arrival order
            await slack_events.forget_many(conn, ["Ev1", "Ev2"])
        assert await slack_events.held_count(conn) == 0


async def test_rows_with_one_key_never_share_a_batch_and_keep_their_order(
    pool: asyncpg.Pool,
) -> None:
    """Two messages of one sender take a seq each: with a key, the second waits for the
    next batch (the others of that batch still go together)."""
    statements: list[list[tuple[str, int]]] = []

    async def write(conn: Conn, rows: list[tuple[str, int]]) -> None:
        statements.append(rows)
        await conn.execute("SELECT 1")

    group: GroupCommit[tuple[str, int]] = GroupCommit(
        pool, write, writers=1, key=lambda row: row[0]
    )
    rows = [("a", 1), ("b", 1), ("a", 2), ("c", 1), ("a", 3), ("b", 2)]
    await asyncio.gather(*(group.add(row) for row in rows))
    for batch in statements:
        senders = [sender for sender, _ in batch]
        assert len(senders) == len(set(senders))
    written = [row for batch in statements for row in batch]
    assert sorted(written) == sorted(rows)
    for sender in "abc":
        assert [n for s, n in written if s == sender] == sorted(n for s, n in rows if s == sender)
    await group.close()


async def test_a_row_added_while_the_last_writer_gives_its_connection_back_is_written(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer that found nothing waiting gives its connection back, a round trip: a row
    handed over in that window starts a writer of its own instead of waiting forever."""
    monkeypatch.setattr(group_commit, "LINGER", 0.01)
    releasing = asyncio.Event()
    released = asyncio.Event()

    class SlowRelease:
        async def acquire(self) -> object:
            return await pool.acquire()

        async def release(self, conn: object) -> None:
            releasing.set()
            await released.wait()
            await pool.release(conn)  # type: ignore[arg-type]

    written: list[int] = []

    async def write(conn: Conn, rows: list[int]) -> None:
        written.extend(rows)

    group: GroupCommit[int] = GroupCommit(SlowRelease(), write, writers=1)  # type: ignore[arg-type]
    await group.add(1)
    await releasing.wait()  # the writer saw nothing more and is giving its connection back
    second = asyncio.create_task(group.add(2))
    await asyncio.sleep(0)
    released.set()
    await asyncio.wait_for(second, 5)
    assert written == [1, 2]
    await group.close()


class _Row:
    def __init__(self, name: str) -> None:
        self.name = name
        self.error: Exception | None = None


async def test_rows_written_alone_keep_their_outcome_when_the_connection_goes() -> None:
    """After a refused batch each row is written alone: a row the database refuses fails
    itself only; a connection lost at the third fails it and those after it, not the two
    already committed (their callers would write them again: a mail stored twice)."""
    rows = [_Row(n) for n in ("a", "refused", "lost", "d")]
    written: list[str] = []

    async def write(row: _Row) -> None:
        if row.name == "refused":
            raise asyncpg.DataError("invalid byte sequence")
        if row.name == "lost":
            raise ConnectionError("connection was closed in the middle of operation")
        written.append(row.name)

    await group_commit.each_alone(rows, write)
    assert written == ["a"]
    assert rows[0].error is None
    assert isinstance(rows[1].error, asyncpg.DataError)
    assert isinstance(rows[2].error, ConnectionError)
    assert rows[3].error is rows[2].error
