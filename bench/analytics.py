"""The Analytics dashboard's queries (server/store/analytics.py, analytics_live.py) over a
generated history, on an embedded Postgres: how long each chart's query takes for a week and
for a month, and how that grows with the data.

Data, generated inside Postgres (INSERT ... SELECT over generate_series, 50,000 conversations a
statement): conversations of the demo brand spread evenly over 90 days, each with a contact
(each size's new ones written in the order they start, as a live desk writes each one when
it starts; a stride that scattered them over the table, correlation 0.001 with their start,
made the breaches drill-down visit a page of each table for every one of its 20,000 rows), on
four channels, three teams, six intents, two languages and four bands; 60 % handed to a human
(a handoff at +20 s, an assignment at +60 s to one of 53 agents, an agent's reply 1 to 30 min
later), 90 % of those resolved 1 to 5 hours after they start and the rest 5 to 48 hours after,
10 % with a first-response breach, half the resolved ones rated 1 to 5 (a fifth of the ratings
with a comment); the others answered by the bot alone. The handed ones whose resolution falls
after the history's end are still open there (queued or assigned, about 0.15 % of all): a
recent tail, as a real desk's open conversations are (an earlier version left 6 % assigned
forever, 60,000 open at a million, which made "now" and the agents' load read a backlog no desk
has). Ten messages each (customer, bot, agent…), inserted in time order as a live server
appends them. Each agent's status changes eight times a day over the year before the end. The
messages' search trigger is off during the load (the reports do not read the words;
bench/search.py measures those), and so are the per-row triggers that record each
conversation's facts and assignment spans and mark hours for the roll-ups: the facts and spans
are then computed once per load, set-based, by the very statements migrations 0028 and 0032
backfill them with (read from the migration files), and the marks are moot (the roll-ups are
folded from scratch next). A trigger a row was most of the load's time: ten million messages
each ran a function and an UPDATE of its conversation's facts.

Each size is loaded, ANALYZEd, then the dashboard's reads for a 7-day and a 30-day range are
timed, one at a time, each run BENCH_ANALYTICS_RUNS times: p50 and p99 per query, and the whole
dashboard (all its first-paint reads one after the other; the browser sends them in parallel;
the drill-downs, the lists a click opens, are timed on their own, outside that sum).
BENCH_ANALYTICS_CONVERSATIONS sets the sizes (comma separated; by default 20,000, 100,000 and
1,000,000, the issue's size, with ten million messages: three sizes say how the reads grow
with the data; the million takes `make bench` about 20 minutes on 2 cores, 11 to load and 7
to fold) and BENCH_ANALYTICS_RUNS the runs. A part of `make bench`
(BENCH_ONLY=analytics), which writes its section of bench/RESULTS.md; run alone with `python -m
bench.analytics` (prints only).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import asyncpg

from bench.report import machine, percentile, publish
from bench.sizes import SMOKE
from server.services import demo
from server.store import (
    analytics,
    analytics_fold,
    analytics_live,
    analytics_load,
    analytics_rollups,
    analytics_volume,
    database,
    messages,
)
from server.store.analytics import Breakdown, Scope
from server.store.views import Conn

SIZES = [
    int(n)
    for n in os.environ.get(
        "BENCH_ANALYTICS_CONVERSATIONS", "2000" if SMOKE else "20000,100000,1000000"
    ).split(",")
]
RUNS = int(os.environ.get("BENCH_ANALYTICS_RUNS", "3" if SMOKE else "10"))
DAYS = 90
CHUNK = 50_000
END = datetime(2026, 6, 1, tzinfo=UTC)
START = END - timedelta(days=DAYS)
MARK_START, MARK_END = "<!-- analytics:start -->", "<!-- analytics:end -->"

# The agents of the brand the bench adds (with the demo's three): a desk of 11,000
# conversations a day (1,000,000 over the 90 days) has dozens, and the agents' load is read
# per agent and hour.
BENCH_AGENTS = 50

# A year (to END) of each agent's status changes, eight a day (online, away, online,
# offline, every 3 hours): the agents' time online and away reads them, and a read that
# grew with the whole history took 322-553 ms over 30 days at 164,000 rows (issue 20's
# audit). Written once, with the first size.
STATUS_DAYS = 365
STATUS = """
INSERT INTO agent_status_changes (agent_id, status, at)
SELECT r.agent_id, (ARRAY['online', 'away', 'online', 'offline'])[1 + g % 4],
       $2::timestamptz + g * interval '3 hours'
       + (abs(hashtext(r.agent_id::text)) % 600) * interval '1 second'
  FROM (SELECT DISTINCT agent_id FROM brand_roles WHERE brand_id = $1) r,
       generate_series(0, $3) g
"""

AGENTS = """
WITH made AS (
  INSERT INTO agents (email, name, password_hash)
  SELECT 'bench-' || g || '@bench.switchboard.test', 'Bench agent ' || g, '-'
    FROM generate_series(1, $2) g RETURNING id
)
INSERT INTO brand_roles (agent_id, brand_id, role) SELECT id, $1, 'agent' FROM made
"""

# Handed conversations are resolved 1 to 5 hours after they start (nine in ten) or 5 to 48
# (the rest); those whose resolution would come after the bench's END are still open at END:
# a recent tail (about 0.15 % of them, as a real desk's open ones), a tenth of it still
# queued (no agent yet, its first-response deadline running), the rest assigned.
CONVERSATIONS = """
WITH made AS (
  INSERT INTO contacts (brand_id, name)
  SELECT $1, 'Customer ' || ($5 + g) FROM generate_series(1, $2) g RETURNING id
), numbered AS (
  SELECT id AS contact_id, row_number() OVER () AS n, random() AS r, random() AS s FROM made
), timed AS (
  SELECT n, contact_id, r, at, r < 0.6 AS handed,
         (ARRAY['urgent', 'high', 'normal', 'low'])[1 + (n / 7) % 4] AS band,
         CASE WHEN r < 0.54 THEN at + (1 + s * 4) * interval '1 hour'
              WHEN r < 0.6 THEN at + (5 + s * 43) * interval '1 hour' END AS done
    -- Spread evenly over the 90 days (7,776,000 s) in the order they are written: the size's
    -- i-th new conversation (of $10 - $9 since $9) starts i / ($10 - $9) of the way in.
    FROM numbered, LATERAL (SELECT $7::timestamptz
                                   + (($5::bigint - $9 + n - 1) * 7776000 / ($10::bigint - $9))
                                     * interval '1 second' AS at) t
), placed AS (
  SELECT *, CASE WHEN NOT handed THEN 'bot' WHEN done <= $8 THEN 'resolved'
                 WHEN n % 10 = 0 THEN 'queued' ELSE 'assigned' END AS status
    FROM timed
)
INSERT INTO conversations (brand_id, inbox_id, contact_id, channel, status, created_at,
    last_message_at, resolved_at, handoff_at, handoff_reason, band, intent, language, team_id,
    assignee_id, queued_at, first_response_due, first_response_at)
SELECT $1, $3, contact_id, (ARRAY['webchat', 'email', 'telegram', 'slack'])[1 + n % 4],
       status, at, at + interval '20 minutes',
       CASE WHEN status = 'resolved' THEN done END,
       CASE WHEN handed THEN at + interval '20 seconds' END,
       CASE WHEN handed THEN (ARRAY['asked_for_human', 'low_confidence', 'repeated_fallback',
                                    'negative_sentiment'])[1 + n % 4] END,
       CASE WHEN handed THEN band END,
       (ARRAY['order_status', 'refund', 'shipping', 'account', 'billing', 'other'])[1 + n % 6],
       CASE WHEN n % 5 = 0 THEN 'fr' ELSE 'en' END,
       ($4::uuid[])[1 + n % 3],
       CASE WHEN handed AND status <> 'queued'
            THEN ($6::uuid[])[1 + (n * 31) % cardinality($6::uuid[])] END,
       CASE WHEN handed THEN at + interval '20 seconds' END,
       CASE WHEN handed THEN at + interval '20 seconds' + CASE band
            WHEN 'urgent' THEN interval '5 minutes' WHEN 'high' THEN interval '15 minutes'
            WHEN 'normal' THEN interval '1 hour' ELSE interval '4 hours' END END,
       CASE WHEN handed AND status <> 'queued' THEN at + interval '3 minutes' END
  FROM placed ORDER BY at
"""

DETAILS = """
INSERT INTO messages (conversation_id, seq, direction, author_kind, author_id, channel, text,
                      created_at)
SELECT c.id, s,
       CASE WHEN s % 2 = 1 THEN 'in' ELSE 'out' END,
       CASE WHEN s % 2 = 1 THEN 'customer'
            WHEN c.assignee_id IS NULL OR s = 2 THEN 'bot' ELSE 'agent' END,
       CASE WHEN s % 2 = 0 AND s > 2 THEN c.assignee_id END,
       c.channel, 'message ' || s,
       CASE WHEN s <= 2 THEN c.created_at + s * interval '2 seconds'
            ELSE c.created_at + interval '1 minute'
                 + (s - 2) * (1 + abs(hashtext(c.id::text)) % 30) * interval '1 minute' END
  FROM conversations c, generate_series(1, 10) s
 WHERE c.created_at >= $1 AND c.created_at < $2
 ORDER BY 8;

INSERT INTO activities (conversation_id, kind, agent_id, detail, created_at)
SELECT c.id, k.kind, CASE WHEN k.kind = 'assigned' THEN c.assignee_id END,
       CASE k.kind WHEN 'handed_off' THEN c.handoff_reason WHEN 'assigned' THEN 'auto' END,
       CASE k.kind WHEN 'handed_off' THEN c.handoff_at
                   WHEN 'assigned' THEN c.handoff_at + interval '40 seconds'
                   ELSE c.resolved_at END
  FROM conversations c
  JOIN (VALUES ('handed_off'), ('assigned'), ('resolved')) k(kind)
    ON CASE k.kind WHEN 'resolved' THEN c.status = 'resolved'
                   WHEN 'assigned' THEN c.assignee_id IS NOT NULL ELSE true END
 WHERE c.handoff_at IS NOT NULL AND c.created_at >= $1 AND c.created_at < $2;

INSERT INTO sla_breaches (conversation_id, kind, due_at, breached_at)
SELECT id, 'first_response', handoff_at + interval '5 minutes', handoff_at + interval '5 minutes'
  FROM conversations
 WHERE handoff_at IS NOT NULL AND abs(hashtext(id::text)) % 10 = 0
   AND created_at >= $1 AND created_at < $2;

INSERT INTO csat (conversation_id, brand_id, agent_id, asked_at, rating, answered_at, comment)
SELECT id, brand_id, assignee_id, resolved_at,
       CASE WHEN abs(hashtext(id::text)) % 2 = 0 THEN 1 + abs(hashtext(id::text)) % 5 END,
       CASE WHEN abs(hashtext(id::text)) % 2 = 0 THEN resolved_at END,
       CASE WHEN abs(hashtext(id::text)) % 10 = 0 THEN 'Took a while, but sorted.' END
  FROM conversations
 WHERE status = 'resolved' AND handoff_at IS NOT NULL AND created_at >= $1 AND created_at < $2;
"""


# The per-row triggers off during a load (the search words, the facts, the assignment spans,
# the roll-ups' marks); `details` computes the facts and spans afterwards in one statement
# each, and the roll-ups are folded from scratch.
LOAD_TRIGGERS = {
    "conversations": ("conversation_facts_open", "analytics_mark_new"),
    "messages": ("messages_words", "analytics_mark_message", "conversation_facts_reply"),
    "activities": ("conversation_facts_activity", "analytics_held_change"),
    "sla_breaches": ("conversation_facts_breach", "analytics_mark_breach"),
    "csat": ("analytics_mark_csat",),
    "analytics_held": ("analytics_mark_held_new",),
}
MIGRATIONS = Path(database.__file__).parent / "migrations"
# The bulk statements' (the messages' sort, the facts, the fold from scratch) memory for
# sorts and hashes, as a migration's backfill would be given: the default 4 MB spills ten
# million rows to disk.
BULK_WORK_MEM = "256MB"


def _backfill(migration: str, comment: str) -> str:
    """The statement after ``comment`` in a migration file, without its semicolon."""
    text = (MIGRATIONS / migration).read_text().split(comment, 1)[1]
    return text.split(";", 1)[0]


# The facts and spans of the conversations $1 (ids): migration 0028's and 0032's backfills,
# limited to them.
FACTS = (
    _backfill(
        "0028_analytics.sql",
        "-- The facts of the conversations already there, from their messages and activities.",
    )
    + " WHERE c.id = ANY($1)"
)
SPANS = (
    _backfill("0032_analytics_rollups.sql", "-- The spans of the assignments already recorded.")
    + " AND c.id = ANY($1)"
)


async def _triggers(conn: Conn, verb: str) -> None:
    for table, names in LOAD_TRIGGERS.items():
        for name in names:
            await conn.execute(f"ALTER TABLE {table} {verb} TRIGGER {name}")


async def seed(pool: asyncpg.Pool, upto: int, have: int) -> None:
    """Add conversations (and their messages, activities, breaches, ratings) until there are
    ``upto``."""
    async with pool.acquire() as conn:
        brand = await conn.fetchval("SELECT id FROM brands WHERE slug = $1", demo.BRAND_SLUG)
        inbox = await conn.fetchval("SELECT id FROM inboxes WHERE address = $1", demo.WEBCHAT_INBOX)
        teams = [
            r["id"] for r in await conn.fetch("SELECT id FROM teams WHERE brand_id = $1", brand)
        ]
        if not have:
            await conn.execute(AGENTS, brand, BENCH_AGENTS)
            await conn.execute(
                STATUS, brand, END - timedelta(days=STATUS_DAYS), STATUS_DAYS * 8 - 1
            )
        agents = [
            r["agent_id"]
            for r in await conn.fetch(
                "SELECT DISTINCT agent_id FROM brand_roles WHERE brand_id = $1 ORDER BY 1", brand
            )
        ]
        first = have
        while have < upto:
            n = min(CHUNK, upto - have)
            await conn.execute(
                CONVERSATIONS, brand, n, inbox, teams, have, agents, START, END, first, upto
            )
            have += n


async def details(pool: asyncpg.Pool, since: datetime) -> None:
    """The messages, activities, breaches and ratings of the conversations made since
    ``since`` (by their rows' insertion time: their created_at is spread over the days)."""
    async with pool.acquire() as conn:
        await conn.execute(f"SET work_mem = '{BULK_WORK_MEM}'")
        made = [
            r["id"]
            for r in await conn.fetch("SELECT id FROM conversations WHERE updated_at >= $1", since)
        ]
        for statement in DETAILS.split(";\n\n"):
            await conn.execute(
                statement.replace(
                    "c.created_at >= $1 AND c.created_at < $2", "c.id = ANY($1)"
                ).replace("created_at >= $1 AND created_at < $2", "id = ANY($1)"),
                made,
            )
        # What the per-row triggers left undone, once, set-based. Statistics first: the
        # planner's last look at messages may be from when the write-path rounds had just
        # deleted theirs (no rows), and a look-up per conversation then becomes a scan.
        await conn.execute("ANALYZE conversations, messages, activities, sla_breaches, csat")
        await conn.execute(FACTS, made)
        await conn.execute(SPANS, made)


# The lists a click opens (a bar's, a row's): timed, but not asked on first paint
# (web_console/static/analytics/store.js, load()), so not in the whole dashboard's sum.
DRILL_DOWNS = {
    "conversations (a page)",
    "conversations rated 5 (a page)",
    "conversations breached (a page)",
}
# A breakdown filtered on another breakdown (the dashboard's "Only" choice; migration 0051's
# pair roll-ups): timed, not on first paint either.
FILTERED: dict[str, tuple[tuple[Breakdown, str], Breakdown]] = {
    "breakdown (agent), only English": (("language", "en"), "agent"),
    "breakdown (team), only email": (("channel", "email"), "team"),
    "breakdown (band), only refunds": (("intent", "refund"), "band"),
    "breakdown (channel), only English": (("language", "en"), "channel"),
}
# The baseline: the first of them read from the facts, as before migration 0051.
FROM_FACTS = "breakdown (agent), only English, from the facts"


def reads(scope: Scope) -> dict[str, Callable[[Conn], Awaitable[object]]]:
    """The dashboard's reads for one range, as the Analytics tab asks them on first paint,
    and the drill-downs named in DRILL_DOWNS (timed, but not in the whole dashboard's sum)."""
    return (
        {
            "summary": lambda c: analytics.totals(c, scope),
            "series (day)": lambda c: analytics.series(c, scope, "day"),
            "breakdown (team)": lambda c: analytics.breakdown(c, scope, "team"),
            "breakdown (band)": lambda c: analytics.breakdown(c, scope, "band"),
            "breakdown (agent)": lambda c: analytics.breakdown(c, scope, "agent"),
            "heat map": lambda c: analytics.heat_map(c, scope),
            "handoff reasons": lambda c: analytics.handoff_rates(c, scope),
            "volume (day, channel)": lambda c: analytics_volume.volume(c, scope, "day", "channel"),
            "volume (day, intent)": lambda c: analytics_volume.volume(c, scope, "day", "intent"),
            "CSAT ratings": lambda c: analytics.csat_distribution(c, scope),
            "conversations (a page)": lambda c: analytics_live.conversations(c, scope, None, 25, 0),
            "conversations rated 5 (a page)": lambda c: analytics_live.conversations(
                c, scope, None, 25, 0, rating=5
            ),
            "CSAT comments (a page)": lambda c: analytics_live.csat_comments(c, scope, 25, 0),
            "now": lambda c: analytics_live.now(c, scope.brand_id, END),
            "at risk (a page)": lambda c: analytics_live.at_risk(c, scope.brand_id, END, 25),
            # A drill-down, not first paint: timed, but not counted in the whole dashboard.
            "conversations breached (a page)": lambda c: analytics_live.conversations(
                c, scope, None, 25, 0, breached=True
            ),
            "agents' load (day)": lambda c: analytics_load.agent_load(
                c, scope.brand_id, scope.start, scope.end, scope.tz, END, "day"
            ),
            "agents' time online": lambda c: analytics_live.agent_time(
                c, scope.brand_id, scope.start, scope.end, END
            ),
        }
        | {name: _filtered(scope, only, by) for name, (only, by) in FILTERED.items()}
        | {FROM_FACTS: _filtered(scope, ("language", "en"), "agent", from_facts=True)}
        | {
            SUMMARY_AT_HALF: lambda c: analytics.totals(c, _at_half(scope)),
            FILTERED_AT_HALF: _filtered(_at_half(scope), ("language", "en"), "agent"),
        }
    )


# The same range ending half past an hour, as "the last 30 days" asked at 10:30 does: its
# last half hour, and for a pair its partial days, are read from the facts (the ranges above
# end at midnight, so read the roll-ups alone).
SUMMARY_AT_HALF = "summary, ending half past an hour"
FILTERED_AT_HALF = "breakdown (agent), only English, ending half past an hour"
AT_HALF = {SUMMARY_AT_HALF, FILTERED_AT_HALF}


def _at_half(scope: Scope) -> Scope:
    return replace(scope, start=scope.start - HALF_HOUR, end=scope.end - HALF_HOUR)


def _filtered(
    scope: Scope, only: tuple[Breakdown, str], by: Breakdown, *, from_facts: bool = False
) -> Callable[[Conn], Awaitable[object]]:
    async def read(conn: Conn) -> object:
        if not from_facts:
            return await analytics.breakdown(conn, replace(scope, only=only), by)
        kept = analytics_rollups.EXACT_UP_TO
        analytics_rollups.EXACT_UP_TO = 10**12  # every range "small": the facts are read
        try:
            return await analytics.breakdown(conn, replace(scope, only=only), by)
        finally:
            analytics_rollups.EXACT_UP_TO = kept

    return read


async def time_reads(pool: asyncpg.Pool, brand: object, days: int) -> dict[str, list[float]]:
    scope = Scope(brand, END - timedelta(days=days), END, "UTC", END)  # type: ignore[arg-type]
    found: dict[str, list[float]] = {}
    timed = reads(scope)
    # The baseline from the facts goes through a month of conversations, which leaves the
    # roll-ups out of the cache: timed after the others, not between their runs.
    baseline = timed.pop(FROM_FACTS)
    async with pool.acquire() as conn:
        for _ in range(RUNS):
            total = 0.0
            for name, read in timed.items():
                began = time.perf_counter()
                await read(conn)
                took = (time.perf_counter() - began) * 1000
                if name not in DRILL_DOWNS | FILTERED.keys() | AT_HALF:
                    total += took
                found.setdefault(name, []).append(took)
            found.setdefault("whole dashboard", []).append(total)
        for _ in range(RUNS):
            began = time.perf_counter()
            await baseline(conn)
            found.setdefault(FROM_FACTS, []).append((time.perf_counter() - began) * 1000)
    return found


HOUR_NOW = "SELECT date_trunc('hour', now(), 'UTC')"
HALF_HOUR = timedelta(minutes=30)
folds: list[float] = []
# The roll-up tables' rows after each size's fold (what the pairs of migrations 0051 and
# 0052 cost): table -> rows.
ROLLUP_TABLES = (
    "analytics_hours",
    "analytics_hour_durations",
    "analytics_days",
    "analytics_day_durations",
)
rollup_rows: list[dict[str, int]] = []
costs: dict[str, tuple[float, float]] = {}
ROLLUP_TRIGGERS = {
    "conversations": ("analytics_mark_new", "analytics_mark_change"),
    "conversation_facts": ("analytics_mark_fact",),
    # Migration 0034's: a message dated into a folded hour (a WHEN a live message passes).
    "messages": ("analytics_mark_message", "analytics_mark_messages_gone"),
}
# Messages a round (and a tenth as many conversations' lives); a smoke run writes a few.
WRITES = 200 if SMOKE else 3000
WRITE_ROUNDS = 1 if SMOKE else 5


async def _write_round(pool: asyncpg.Pool, brand: object, inbox: object) -> tuple[float, float]:
    """Microseconds a message (the hot path's statement, store.messages.insert_message, one
    transaction each) and a conversation's life (opened, handed off, assigned, resolved)."""
    async with pool.acquire() as conn:
        contact = await conn.fetchval(
            "INSERT INTO contacts (brand_id, name) VALUES ($1, 'cost') RETURNING id", brand
        )
        conversation = str(
            await conn.fetchval(
                "INSERT INTO conversations (brand_id, inbox_id, contact_id, channel)"
                " VALUES ($1, $2, $3, 'webchat') RETURNING id",
                brand,
                inbox,
                contact,
            )
        )
        began = time.perf_counter()
        for n in range(WRITES):
            async with conn.transaction():
                await messages.insert_message(
                    conn,
                    conversation,
                    direction="in" if n % 2 else "out",
                    author_kind="customer" if n % 2 else "bot",
                    channel="webchat",
                    text=f"message {n}",
                )
        per_message = (time.perf_counter() - began) / WRITES * 1e6
        await conn.execute("DELETE FROM conversations WHERE id = $1", UUID(conversation))
        began = time.perf_counter()
        for _ in range(WRITES // 10):
            async with conn.transaction():
                made = await conn.fetchval(
                    "INSERT INTO conversations (brand_id, inbox_id, contact_id, channel)"
                    " VALUES ($1, $2, $3, 'webchat') RETURNING id",
                    brand,
                    inbox,
                    contact,
                )
            for change in (
                "status = 'queued', handoff_at = now(), handoff_reason = 'asked_for_human'",
                "status = 'assigned'",
                "status = 'resolved', resolved_at = now()",
            ):
                async with conn.transaction():
                    await conn.execute(f"UPDATE conversations SET {change} WHERE id = $1", made)
        per_life = (time.perf_counter() - began) / (WRITES // 10) * 1e6
        await conn.execute("DELETE FROM conversations WHERE contact_id = $1", contact)
    return per_message, per_life


async def write_cost(pool: asyncpg.Pool) -> dict[str, tuple[float, float]]:
    """The write path with and without the marking triggers (migrations 0032, 0034): the median of
    WRITE_ROUNDS alternating rounds, microseconds a message and a conversation's life."""
    brand = await pool.fetchval("SELECT id FROM brands WHERE slug = $1", demo.BRAND_SLUG)
    inbox = await pool.fetchval("SELECT id FROM inboxes WHERE address = $1", demo.WEBCHAT_INBOX)
    rounds: dict[str, list[tuple[float, float]]] = {"with": [], "without": []}
    for _ in range(WRITE_ROUNDS):
        for how in ("with", "without"):
            verb = "ENABLE" if how == "with" else "DISABLE"
            for table, names in ROLLUP_TRIGGERS.items():
                for name in names:
                    await pool.execute(f"ALTER TABLE {table} {verb} TRIGGER {name}")
            rounds[how].append(await _write_round(pool, brand, inbox))
    for table, names in ROLLUP_TRIGGERS.items():
        for name in names:
            await pool.execute(f"ALTER TABLE {table} ENABLE TRIGGER {name}")
    return {
        how: (statistics.median(r[0] for r in got), statistics.median(r[1] for r in got))
        for how, got in rounds.items()
    }


async def measure(dsn: str) -> list[tuple[int, int, float, dict[int, dict[str, list[float]]]]]:
    pool = await database.create_pool(dsn, min_size=1, max_size=2)
    results = []
    try:
        await database.migrate(pool)
        await demo.seed(pool)
        print("analytics: the write path's cost ...", flush=True)
        costs.update(await write_cost(pool))
        brand = await pool.fetchval("SELECT id FROM brands WHERE slug = $1", demo.BRAND_SLUG)
        have = 0
        for size in SIZES:
            print(f"analytics: loading {size:,} conversations ...", flush=True)
            began = time.perf_counter()
            since = await pool.fetchval("SELECT clock_timestamp()")
            async with pool.acquire() as conn:
                await _triggers(conn, "DISABLE")
            try:
                await seed(pool, size, have)
                await details(pool, since)
            finally:
                async with pool.acquire() as conn:
                    await _triggers(conn, "ENABLE")
            have = size
            loaded = time.perf_counter() - began
            # The history was written behind the fold's watermark, as no live server
            # writes: fold every hour again, as migration 0032's backfill does.
            began = time.perf_counter()
            async with pool.acquire() as conn:
                await conn.execute(f"SET work_mem = '{BULK_WORK_MEM}'")
                await analytics_fold.rebuild(conn, await conn.fetchval(HOUR_NOW))
            folded = time.perf_counter() - began
            await pool.execute("VACUUM ANALYZE")
            print(f"analytics: roll-ups folded in {folded:.0f} s", flush=True)
            rollup_rows.append(
                {t: int(await pool.fetchval(f"SELECT count(*) FROM {t}")) for t in ROLLUP_TABLES}
            )
            messages = int(await pool.fetchval("SELECT count(*) FROM messages"))
            print(f"analytics: loaded in {loaded:.0f} s; timing the reads", flush=True)
            timed = {days: await time_reads(pool, brand, days) for days in (7, 30)}
            results.append((size, messages, loaded, timed))
            folds.append(folded)
    finally:
        await pool.close()
    return results


def run() -> str:
    with tempfile.TemporaryDirectory(prefix="sbanalytics") as tmp:
        embedded = database.EmbeddedPostgres(Path(tmp))
        dsn = embedded.start()
        try:
            results = asyncio.run(measure(dsn))
        finally:
            embedded.stop()
    lines = [
        f"## Analytics dashboard — {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        "",
        f"Command: `make bench` (or `python -m bench.analytics`). Machine: {machine()};"
        " embedded PostgreSQL 16"
        f" (pgserver). Conversations over {DAYS} days, 10 messages each; {RUNS} runs of each"
        " read, one at a time; p50 / p99 in ms.",
        "",
    ]
    names = list(results[0][3][7])
    header = " | ".join(
        f"{size:,} conv., {days} d" for size, _m, _l, _t in results for days in (7, 30)
    )
    lines += [f"| read | {header} |", "|---|" + "---:|" * (2 * len(results))]
    for name in names:
        cells = " | ".join(
            f"{statistics.median(t[days][name]):.0f} / {percentile(t[days][name], 0.99):.0f}"
            for _s, _m, _l, t in results
            for days in (7, 30)
        )
        lines.append(f"| {name} | {cells} |")
    for (size, written, loaded, _t), folded, rows in zip(results, folds, rollup_rows, strict=True):
        held = ", ".join(f"{t} {n:,}" for t, n in rows.items())
        lines.append(
            f"\n{size:,} conversations, {written:,} messages: loaded in {loaded:.0f} s;"
            f" roll-ups folded from scratch in {folded:.0f} s (rows: {held})."
        )
    if costs:
        lines.append(
            "\nThe write path (migrations 0032 and 0034's marking triggers on and off, median of"
            f" {WRITE_ROUNDS} rounds): a message {costs['with'][0]:.0f} /"
            f" {costs['without'][0]:.0f} us; a"
            " conversation's life (opened, handed off, assigned, resolved)"
            f" {costs['with'][1]:.0f} / {costs['without'][1]:.0f} us."
        )
    return "\n".join(lines)


def main(*, write: bool = False) -> None:
    """Print the section; with ``write`` (as `make bench` runs it) also put it between its
    markers in bench/RESULTS.md."""
    if write:
        publish(run(), MARK_START, MARK_END)
    else:
        print(run(), flush=True)


if __name__ == "__main__":
    main()
