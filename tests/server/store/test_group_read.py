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
    # Alone, a key is read at once and on its own.
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
