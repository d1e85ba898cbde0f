"""Stored events that never came over the bus are read from the log and delivered late."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from server import events
from server.events import Event
from server.live import gaps
from server.live.gaps import EventGaps
from server.store import store_events


async def stored(pool: asyncpg.Pool, count: int) -> list[Event]:
    conversation = str(uuid.uuid4())
    async with pool.acquire() as conn:
        return await store_events(
            conn,
            [Event(events.TYPING, conversation, {"active": True}) for _ in range(count)],
        )


async def test_an_id_skipped_on_the_bus_is_read_from_the_log_once_past_the_grace(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, lost, late, last = await stored(pool, 4)
    seen = EventGaps(pool)
    seen.saw(first.id)
    seen.saw(last.id)  # two ids skipped: one never published, one still on its way
    seen.saw(late.id)
    assert await seen.due() == []  # within the grace: it may still come
    monkeypatch.setattr(gaps, "GRACE_SECONDS", 0.0)
    found = await seen.due()
    assert [e.id for e in found] == [lost.id]
    assert found[0].conversation_id == lost.conversation_id
    assert await seen.due() == []  # delivered once


async def test_an_id_never_committed_is_forgotten(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    (one,) = await stored(pool, 1)
    assert one.id is not None
    seen = EventGaps(pool)
    seen.saw(one.id)
    seen.saw(one.id + 3)  # +1 and +2 were rolled back
    monkeypatch.setattr(gaps, "GRACE_SECONDS", 0.0)
    assert await seen.due() == []
    assert seen.missing == {}
    seen.saw(None)  # a live-only event changes nothing
    assert seen.highest == one.id + 3
