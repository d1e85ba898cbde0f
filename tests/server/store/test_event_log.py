"""The event log's resume read (issue 21): a transaction that took a lower id and committed
after a higher one is in what a client resuming from the higher one may lack."""

from __future__ import annotations

import uuid

import asyncpg

from server import events
from server.events import Event
from server.store import event_log


def _event(change: str) -> list[Event]:
    return [Event(events.CONVERSATION_UPDATED, str(uuid.uuid4()), {"change": change})]


async def _lower_id_committed_last(pool: asyncpg.Pool) -> tuple[int, int]:
    """(the lower id, committed last; the higher id, committed first)."""
    async with pool.acquire() as a, pool.acquire() as b:
        first = a.transaction()
        await first.start()
        [low] = await event_log.store_events(a, _event("low"))
        async with b.transaction():
            [high] = await event_log.store_events(b, _event("high"))
        await first.commit()
    assert low.id is not None
    assert high.id is not None
    assert low.id < high.id
    return low.id, high.id


async def test_the_late_event_is_in_the_resume_and_not_above_the_cursor(
    pool: asyncpg.Pool,
) -> None:
    low, high = await _lower_id_committed_last(pool)
    async with pool.acquire() as conn:
        # "The ids above mine" skips it: what the console's resume did.
        assert low not in [e.id for e in await event_log.events_after(conn, high, 100)]
        through = await event_log.last_event_id(conn)
        found = await event_log.events_since(conn, high, through)
        ids = await event_log.event_ids_since(conn, high, through, 100)
    assert [e.id for e in found if e.id == low] == [low]
    assert ids == [e.id for e in found]
    assert high not in ids


async def test_the_ids_above_the_cursor_come_too_up_to_through_and_by_pages(
    pool: asyncpg.Pool,
) -> None:
    low, high = await _lower_id_committed_last(pool)
    async with pool.acquire() as conn:
        above = [(await event_log.store_events(conn, _event(f"n{i}")))[0].id or 0 for i in range(3)]
        found = await event_log.events_since(conn, high, above[1])
        pages: list[int] = []
        after = 0
        while page := await event_log.events_since(conn, high, above[2], after=after, limit=1):
            after = page[0].id or 0
            pages.append(after)
    assert [e.id for e in found if (e.id or 0) > high] == above[:2]
    assert low in pages
    assert pages[-3:] == above


async def test_a_cursor_whose_row_is_gone_resumes_from_the_row_below(
    pool: asyncpg.Pool,
) -> None:
    """Retention deleted the cursor's row: the nearest row below it stands in (its snapshot
    came earlier still), so the late event is not lost."""
    low, high = await _lower_id_committed_last(pool)
    async with pool.acquire() as conn:
        await conn.execute("DELETE FROM events WHERE id = $1", high)
        found = await event_log.events_since(conn, high, await event_log.last_event_id(conn))
    assert low in [e.id for e in found]


async def test_rows_from_before_the_snapshot_was_kept_resume_by_id_alone(
    pool: asyncpg.Pool,
) -> None:
    async with pool.acquire() as conn:
        [old] = await event_log.store_events(conn, _event("old"))
        [newer] = await event_log.store_events(conn, _event("newer"))
        await conn.execute("UPDATE events SET tx = NULL, snapshot = NULL")
        found = await event_log.events_since(conn, old.id or 0, newer.id or 0)
    assert [e.id for e in found] == [newer.id]
