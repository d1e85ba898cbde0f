"""A pair's days are found by the half of their key that a filter names (migration 0055's
indexes, analytics_rows.MATCHES): the same figures as the facts, also for an intent that
holds a '|', whose half the indexes' split at the first or last '|' cannot name."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import asyncpg
import pytest

from server.store import analytics, analytics_fold, analytics_rollups
from server.store.analytics import Breakdown, Scope
from tests.server.store.history import T0, Story, write
from tests.server.store.test_analytics import scope  # noqa: F401

DAY = 86400.0
# Two whole UTC days (Tuesday, Wednesday) inside the range, read from their pair rows.
HORIZON = T0 + timedelta(days=4)
STORIES = [
    Story(DAY + n * 3600, bot_reply=2, intent=intent, language=language, channel=channel)
    for n, (intent, language, channel) in enumerate(
        [
            ("billing|refund", "en", "webchat"),
            ("billing|refund", "fr", "email"),
            ("billing", "en", "email"),
            ("refund", "en", "webchat"),
            ("billing|refund", "en", "telegram"),
        ]
    )
] + [
    Story(
        2 * DAY + 600,
        bot_reply=3,
        handoff=60,
        assigned=120,
        agent_reply=300,
        resolved=3600,
        intent="billing|refund",
        language="fr",
        band="high",
    ),
    Story(2 * DAY + 7200, bot_reply=3, intent="billing", language="en", band="low"),
]
# Filters on either half of a pair, with a '|' in the value and on pairs whose other half
# holds one. (Not "only billing" or "only refund": a key "billing|refund|en" then meets the
# filter at its edge and is split at the wrong '|' whichever tier reads it, the limit
# analytics_rollups' docstring names.)
ONLY: list[tuple[Breakdown, str]] = [
    ("intent", "billing|refund"),
    ("language", "en"),
    ("language", "fr"),
    ("channel", "email"),
]


async def test_a_pairs_days_read_by_either_half_give_the_facts_figures(
    pool: asyncpg.Pool,
    scope: Scope,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(analytics_rollups, "EXACT_UP_TO", -1)
    async with pool.acquire() as conn:
        for story in STORIES:
            await write(conn, story)
        await analytics_fold.rebuild(conn, HORIZON)
        week = replace(scope, end=T0.replace(hour=0) + timedelta(days=4))
        plan = await analytics_rollups.plan(conn, replace(week, only=ONLY[0]), "agent")
        assert plan is not None
        assert plan.days  # the whole days come from the pairs' rows
        found: dict[bool, list[list[analytics.Group]]] = {}
        for read_days in (True, False):  # False: a pair's hours all from the facts
            monkeypatch.setattr(analytics_rollups, "READ_DAYS", read_days)
            found[read_days] = [
                await analytics.breakdown(conn, replace(week, only=only), by)
                for only in ONLY
                for by in analytics.BREAKDOWNS
            ]
    assert found[True] == found[False]
    by_language = found[True][analytics.BREAKDOWNS.index("language")]  # only billing|refund
    assert {g.key: g.figures.conversations for g in by_language} == {"en": 2, "fr": 2}
