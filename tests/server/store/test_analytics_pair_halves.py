"""A pair's days are found by the half of their key that a filter names (migration 0055's
indexes, analytics_rows.MATCHES): the same figures as the facts, also for an intent that
holds a '|', whose half the indexes' split at the first or last '|' cannot name, and for an
intent that another one's name ends or begins with ("billing" beside "billing|refund")."""

from __future__ import annotations

from dataclasses import asdict, replace
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
# holds one, and on intents that "billing|refund" begins and ends with: its keys
# ("billing|refund|en", "5|billing|refund") meet those filters at their edge.
ONLY: list[tuple[Breakdown, str]] = [
    ("intent", "billing|refund"),
    ("intent", "billing"),
    ("intent", "refund"),
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
        found: dict[str, list[list[analytics.Group]]] = {}
        # The days' pair rows, the hours all from the facts' pairs, and no roll-up at all.
        tiers = [("days", True, -1), ("hours", False, -1), ("facts", True, 10**9)]
        for tier, read_days, exact_up_to in tiers:
            monkeypatch.setattr(analytics_rollups, "READ_DAYS", read_days)
            monkeypatch.setattr(analytics_rollups, "EXACT_UP_TO", exact_up_to)
            found[tier] = [
                await analytics.breakdown(conn, replace(week, only=only), by)
                for only in ONLY
                for by in analytics.BREAKDOWNS
            ]
    assert found["days"] == found["hours"]
    # The roll-ups' durations are histogram quantiles (within 4.5 %), the facts' exact: the
    # rows, their labels and every count are the same.
    assert _counted(found["days"]) == _counted(found["facts"])
    by_language = found["days"][analytics.BREAKDOWNS.index("language")]  # only billing|refund
    assert {g.key: g.figures.conversations for g in by_language} == {"en": 2, "fr": 2}
    # Only "billing" (two conversations of its own, on email and on the web chat), by channel:
    # not billing|refund's, one of them on Telegram.
    by_channel = found["days"][len(analytics.BREAKDOWNS) + analytics.BREAKDOWNS.index("channel")]
    assert {g.key: g.figures.conversations for g in by_channel} == {"email": 1, "webchat": 1}


def _counted(reads: list[list[analytics.Group]]) -> list[list[tuple[str, str, dict[str, object]]]]:
    return [
        [
            (g.key, g.label, {k: v for k, v in asdict(g.figures).items() if "_p" not in k})
            for g in groups
        ]
        for groups in reads
    ]
