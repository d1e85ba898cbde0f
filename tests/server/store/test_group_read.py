"""Group read against real Postgres: keys asked for while a read is in flight are read
together by the next statement, each caller gets its own answer (None for nothing found), a
key asked twice is read once, and a failed read fails its callers only."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from server.store.group_read import GroupRead
from server.store.views import Conn


async def _squares(conn: Conn, keys: list[int]) -> dict[int, int]:
    rows = await conn.fetch(
        "SELECT n, n * n AS square FROM unnest($1::int[]) AS n WHERE n >= 0", keys
    )
    return {row["n"]: row["square"] for row in rows}


async def test_keys_asked_together_share_a_statement_and_each_gets_its_answer(
    pool: asyncpg.Pool,
) -> None:
    statements: list[list[int]] = []

    async def read(conn: Conn, keys: list[int]) -> dict[int, int]:
        statements.append(keys)
        return await _squares(conn, keys)

    group: GroupRead[int, int] = GroupRead(pool, read, batch=50, readers=1)
    answers = await asyncio.gather(*(group.get(n) for n in [*range(200), 3, -1]))
    assert answers == [n * n for n in range(200)] + [9, None]
    assert sorted(n for keys in statements for n in keys) == [-1, *range(200)]  # 3 read once
    assert len(statements) < 200  # shared: one reader, so the rest waited together
    assert max(len(keys) for keys in statements) <= 50
    assert group.waiting == 0
    # Alone, a key is read on its own (by the reader that kept the connection).
    assert await group.get(12) == 144
    assert statements[-1] == [12]
    await group.close()


async def test_a_failed_read_fails_its_callers_and_the_next_read_still_goes(
    pool: asyncpg.Pool,
) -> None:
    async def read(conn: Conn, keys: list[int]) -> dict[int, int]:
        if 13 in keys:
            raise RuntimeError("unlucky")
        return await _squares(conn, keys)

    group: GroupRead[int, int] = GroupRead(pool, read, readers=1)
    with pytest.raises(RuntimeError, match="unlucky"):
        await group.get(13)
    assert await group.get(4) == 16
    await group.close()


async def test_a_caller_gone_while_waiting_leaves_the_others_their_answers(
    pool: asyncpg.Pool,
) -> None:
    reading, release = asyncio.Event(), asyncio.Event()

    async def read(conn: Conn, keys: list[int]) -> dict[int, int]:
        reading.set()
        await release.wait()
        return await _squares(conn, keys)

    group: GroupRead[int, int] = GroupRead(pool, read, readers=1)
    first = asyncio.create_task(group.get(1))
    await reading.wait()  # 1 is being read; 2 and 3 wait for the next read
    gone = asyncio.create_task(group.get(2))
    kept = asyncio.create_task(group.get(3))
    await asyncio.sleep(0)  # both tasks run up to their wait
    assert group.waiting == 2
    gone.cancel()
    release.set()
    assert await first == 1
    assert await kept == 9
    with pytest.raises(asyncio.CancelledError):
        await gone
    await group.close()


async def test_closing_cancels_a_read_in_flight_and_its_callers(pool: asyncpg.Pool) -> None:
    """At shutdown a storm's hellos may still be reading: close() ends the read and cancels
    its callers, so no reader outlives the pool it reads from."""
    reading = asyncio.Event()

    async def read(conn: Conn, keys: list[int]) -> dict[int, int]:
        reading.set()
        await asyncio.Event().wait()  # a read that never answers
        return {}

    group: GroupRead[int, int] = GroupRead(pool, read, readers=1)
    caller = asyncio.create_task(group.get(1))
    await reading.wait()
    await group.close()
    with pytest.raises(asyncio.CancelledError):
        await caller
    assert not [t for t in asyncio.all_tasks() if t.get_name() == "group-read"]


class _Counting:
    """The pool, counting the connections taken from it; ``release`` waits for ``released``
    once ``releasing`` is set (to hold a reader in the act of giving its connection back)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.taken = 0
        self.releasing = asyncio.Event()
        self.released = asyncio.Event()
        self.released.set()

    async def acquire(self) -> object:
        self.taken += 1
        return await self.pool.acquire()

    async def release(self, conn: object) -> None:
        self.releasing.set()
        await self.released.wait()
        await self.pool.release(conn)  # type: ignore[arg-type]


async def test_a_burst_of_batches_is_read_on_one_connection(pool: asyncpg.Pool) -> None:
    """A storm's hellos come in batch after batch: the reader keeps its connection while keys
    wait, rather than queueing for one from the pool (behind the routing's work) each time."""
    counting = _Counting(pool)
    batches: list[list[int]] = []

    async def read(conn: Conn, keys: list[int]) -> dict[int, int]:
        batches.append(keys)
        return await _squares(conn, keys)

    group: GroupRead[int, int] = GroupRead(counting, read, batch=10, readers=1)  # type: ignore[arg-type]
    answers = await asyncio.gather(*(group.get(n) for n in range(100)))
    assert answers == [n * n for n in range(100)]
    assert len(batches) == 10
    assert counting.taken == 1
    await group.close()


async def test_a_key_asked_while_the_reader_gives_its_connection_back_is_read(
    pool: asyncpg.Pool,
) -> None:
    """A reader that found nothing waiting gives its connection back, a round trip: a key
    asked in that window starts a reader of its own instead of waiting forever."""
    counting = _Counting(pool)
    group: GroupRead[int, int] = GroupRead(counting, _squares, readers=1)  # type: ignore[arg-type]
    counting.released.clear()
    first = asyncio.create_task(group.get(2))
    await counting.releasing.wait()  # read, and the reader is giving its connection back
    assert await first == 4
    second = asyncio.create_task(group.get(3))
    await asyncio.sleep(0)
    counting.released.set()
    assert await asyncio.wait_for(second, 5) == 9
    await group.close()


async def test_keys_that_come_one_by_one_in_a_burst_share_a_read(pool: asyncpg.Pool) -> None:
    """A node greets a storm's hellos a few a second, each alone: once a read is done its
    reader keeps the connection, and a key that comes to it waits for the others of the
    burst, so they are read together, on that one connection; the first key, with no reader
    about, is read at once."""
    counting = _Counting(pool)
    statements: list[list[int]] = []

    async def read(conn: Conn, keys: list[int]) -> dict[int, int]:
        statements.append(keys)
        return await _squares(conn, keys)

    # A generous gather: the four keys below come within a few steps of the loop.
    group: GroupRead[int, int] = GroupRead(counting, read, gather=0.5)  # type: ignore[arg-type]
    assert await group.get(1) == 1
    callers = []
    for n in range(2, 6):
        callers.append(asyncio.create_task(group.get(n)))
        await asyncio.sleep(0)  # each asked in a step of its own, as sockets' hellos are
    assert await asyncio.gather(*callers) == [4, 9, 16, 25]
    assert statements == [[1], [2, 3, 4, 5]]
    assert counting.taken == 1
    await group.close()


async def test_a_connection_closed_while_the_reader_kept_it_is_not_read_on(
    pool: asyncpg.Pool,
) -> None:
    """Postgres restarted or the session ended while a reader kept its connection between
    bursts: the next key is read on a connection from the pool, not failed."""
    taken: list[asyncpg.Connection] = []

    class _Recording(_Counting):
        async def acquire(self) -> object:
            conn = await super().acquire()
            taken.append(conn)  # type: ignore[arg-type]
            return conn

    # A linger longer than the test: the reader still holds the connection when it closes.
    group: GroupRead[int, int] = GroupRead(_Recording(pool), _squares, linger=60)  # type: ignore[arg-type]
    assert await group.get(2) == 4  # read; the reader keeps the connection
    kept = taken[0]
    ended = asyncio.Event()
    kept.add_termination_listener(lambda _: ended.set())
    await pool.execute("SELECT pg_terminate_backend($1)", kept.get_server_pid())
    await asyncio.wait_for(ended.wait(), 30)  # asyncpg has seen it close
    assert await group.get(3) == 9
    assert len(taken) == 2
    await group.close()


async def test_a_reader_waiting_for_a_connection_is_not_kept_waiting_by_one_that_lingers(
    pool: asyncpg.Pool,
) -> None:
    """The pool is busy: a second reader took key 2 and waits for a connection while
    the first finishes key 1. The first must give its connection back, not linger with it
    while key 2 waits."""
    one = asyncio.Semaphore(1)
    wanting = asyncio.Event()

    class _OneConnection:
        async def acquire(self) -> object:
            if one.locked():
                wanting.set()
            await one.acquire()
            return await pool.acquire()

        async def release(self, conn: object) -> None:
            await pool.release(conn)  # type: ignore[arg-type]
            one.release()

    reading, release = asyncio.Event(), asyncio.Event()

    async def read(conn: Conn, keys: list[int]) -> dict[int, int]:
        if 1 in keys:
            reading.set()
            await release.wait()
        return await _squares(conn, keys)

    group: GroupRead[int, int] = GroupRead(_OneConnection(), read, linger=60)  # type: ignore[arg-type]
    first = asyncio.create_task(group.get(1))
    await reading.wait()
    second = asyncio.create_task(group.get(2))
    await wanting.wait()  # the second reader has taken key 2 and waits for a connection
    release.set()
    assert await first == 1
    assert await asyncio.wait_for(second, 10) == 4
    await group.close()
