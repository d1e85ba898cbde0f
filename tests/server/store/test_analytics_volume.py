"""Conversations over time split by a breakdown (analytics_volume.py), on test_analytics.py's
scripted history: day 2 has a telegram, a webchat and an email conversation (intents
order_status, refund, refund), days 3 and 4 a webchat one each (no intent). The same answers
from the facts and from the roll-ups."""

from __future__ import annotations

import asyncpg
import pytest

from server.store import analytics_volume
from server.store.analytics import Scope
from tests.server.store.test_analytics import NOW, STORIES, scope  # noqa: F401
from tests.server.store.test_analytics_rollups import both, folded  # noqa: F401


def rows(found: list[analytics_volume.Volume]) -> list[tuple[int, str, int]]:
    return [(v.at.day, v.key, v.conversations) for v in found]


async def test_per_channel_each_day(pool: asyncpg.Pool, scope: Scope) -> None:  # noqa: F811
    async with pool.acquire() as conn:
        found = await analytics_volume.volume(conn, scope, "day", "channel")
    # webchat has the most (3), then email and telegram (1 each, by name).
    assert rows(found) == [
        (2, "webchat", 1),
        (2, "email", 1),
        (2, "telegram", 1),
        (3, "webchat", 1),
        (4, "webchat", 1),
    ]
    assert {v.label for v in found} == {"webchat", "email", "telegram"}


async def test_per_intent_the_top_apart_and_the_rest_as_other(
    pool: asyncpg.Pool,
    scope: Scope,  # noqa: F811
) -> None:
    async with pool.acquire() as conn:
        one = await analytics_volume.volume(conn, scope, "day", "intent", top=1)
        two = await analytics_volume.volume(conn, scope, "day", "intent", top=2)
        week = await analytics_volume.volume(conn, scope, "week", "intent", top=1)
    # Over the range: none 2, refund 2, order_status 1. The top one is "none"; refund and
    # order_status are the other.
    other = analytics_volume.OTHER
    assert rows(one) == [(2, other, 3), (3, "none", 1), (4, "none", 1)]
    assert one[0].label == "Other"
    # Two apart leaves one over, shown as itself rather than as "other".
    assert rows(two) == [(2, "refund", 2), (2, "order_status", 1), (3, "none", 1), (4, "none", 1)]
    assert rows(week) == [(2, "none", 2), (2, other, 3)]  # the week of Monday 2 March


async def test_a_filter_keeps_its_conversations(pool: asyncpg.Pool, scope: Scope) -> None:  # noqa: F811
    email = Scope(scope.brand_id, scope.start, scope.end, "UTC", NOW, ("channel", "email"))
    refunds = Scope(scope.brand_id, scope.start, scope.end, "UTC", NOW, ("intent", "refund"))
    async with pool.acquire() as conn:
        assert rows(await analytics_volume.volume(conn, email, "day", "channel")) == [
            (2, "email", 1)
        ]
        assert rows(await analytics_volume.volume(conn, refunds, "day", "channel")) == [
            (2, "email", 1),
            (2, "webchat", 1),
        ]


async def test_the_rollups_give_the_facts_answers(
    pool: asyncpg.Pool,
    folded: Scope,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for by in ("channel", "intent", "agent", "team", "band", "language"):
        for bucket in ("hour", "day", "week"):
            for zone in ("UTC", "Asia/Tokyo", "America/New_York"):
                s = Scope(folded.brand_id, folded.start, folded.end, zone, NOW)
                exact, rolled = await both(
                    pool,
                    monkeypatch,
                    lambda c, s=s, b=bucket, by=by: analytics_volume.volume(c, s, b, by, 2),
                )
                assert rolled == exact, (by, bucket, zone)
                assert exact, (by, bucket, zone)
