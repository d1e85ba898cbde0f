"""`make bench`'s routing part: how fast the router places work, on an embedded Postgres.

Burst: 1,000 conversations wait in the queue when 100 agents (capacity 10 each) come online;
one router pass assigns them all. Figures: assignments per second and, per conversation, the
time from the pass's start to its committed claim (p50/p99).

Steady: 1,000 conversations wait that nobody can take (they need a skill no agent has, so
every pass still ranks and checks them all); 200 new conversations are then handed over one
at a time. Figure: handoff (commit + wake) to assignment event, p50/p99.

Baselines, same run, same database: the bare transactional claim (one conditional UPDATE per
conversation, no ranking, no choice, no capacity check), committed one by one and committed in
batches as the router commits its claims, so the ratios show what routing adds.

Baselines and burst alternate BENCH_ROUTING_ROUNDS times (5); the figures are medians.

Those are the full sizes; BENCH_QUEUED, BENCH_AGENTS and BENCH_STEADY change them
(bench/sizes.py). Run alone with `python -m bench.routing` or BENCH_ONLY=routing make bench.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

from bench.report import machine, percentile, publish
from bench.sizes import AGENTS, CAPACITY, QUEUED, ROUTING_ROUNDS, STEADY
from routing.priority import Weights
from server import events
from server.dispatch.router import ASSIGN_BATCH, Router
from server.events import Event
from server.live.bus import InProcessBus
from server.live.presence import LocalPresence
from server.metrics import Metrics
from server.services import demo
from server.store import database
from server.store import organisation as org

START, END = "<!-- routing:start -->", "<!-- routing:end -->"


async def setup(pool: asyncpg.Pool) -> list[str]:
    """Demo brand; 100 agents in the support team, away."""
    await demo.seed(pool)
    rows = await pool.fetch(
        "INSERT INTO agents (email, name, password_hash, capacity, status)"
        " SELECT 'bench' || n || '@example.com', 'Bench ' || n, 'x', $1, 'away'"
        " FROM generate_series(1, $2) n RETURNING id",
        CAPACITY,
        AGENTS,
    )
    await pool.execute(
        "INSERT INTO team_members (team_id, agent_id)"
        " SELECT t.id, a FROM teams t, unnest($1::uuid[]) a WHERE t.slug = 'support'",
        [r["id"] for r in rows],
    )
    async with pool.acquire() as conn:
        await org.put_skill(conn, "de", "German")
    return [str(r["id"]) for r in rows]


async def queue_up(pool: asyncpg.Pool, count: int, skills: list[str]) -> list[str]:
    """``count`` queued conversations in the support team, priorities spread."""
    rows = await pool.fetch(
        """WITH brand AS (SELECT b.id AS brand_id, i.id AS inbox_id, t.id AS team_id
                            FROM brands b JOIN inboxes i ON i.brand_id = b.id
                            JOIN teams t ON t.brand_id = b.id AND t.slug = 'support'
                           WHERE b.slug = 'demo' LIMIT 1),
                c AS (INSERT INTO contacts (brand_id, name)
                      SELECT brand_id, 'c' || n FROM brand, generate_series(1, $1) n
                      RETURNING id, brand_id)
           INSERT INTO conversations (brand_id, inbox_id, contact_id, channel, status, team_id,
                                      required_skills, priority, priority_parts, queued_at)
           SELECT c.brand_id, brand.inbox_id, c.id, 'webchat', 'queued', brand.team_id, $2,
                  (random() * 100)::int, '[]', now()
             FROM c, brand RETURNING id""",
        count,
        skills,
    )
    return [str(r["id"]) for r in rows]


# The baselines' claim: a conditional UPDATE, no ranking, no choice, no capacity check.
BARE_CLAIM = (
    "UPDATE conversations SET status = 'assigned', assignee_id = $2"
    " WHERE id = $1 AND status = 'queued'"
)


async def bare_claims(pool: asyncpg.Pool, ids: list[str], agent: str) -> float:
    started = time.perf_counter()
    for conversation_id in ids:
        await pool.execute(BARE_CLAIM, uuid.UUID(conversation_id), uuid.UUID(agent))
    return time.perf_counter() - started


async def bare_claims_batched(pool: asyncpg.Pool, ids: list[str], agent: str) -> float:
    """The same claims committed ASSIGN_BATCH to a transaction, as the router commits them:
    the stricter baseline, since one WAL flush then serves a whole batch."""
    started = time.perf_counter()
    async with pool.acquire() as conn:
        for start in range(0, len(ids), ASSIGN_BATCH):
            async with conn.transaction():
                for conversation_id in ids[start : start + ASSIGN_BATCH]:
                    await conn.execute(BARE_CLAIM, uuid.UUID(conversation_id), uuid.UUID(agent))
    return time.perf_counter() - started


async def reset(pool: asyncpg.Pool) -> None:
    """Every claimed conversation resolved and the bench's agents away: the next round starts
    from an empty floor."""
    await pool.execute("UPDATE conversations SET status = 'resolved' WHERE status = 'assigned'")
    await pool.execute("UPDATE agents SET status = 'away' WHERE email LIKE 'bench%'")


async def measure(dsn: str) -> dict[str, float]:
    pool = await database.create_pool(dsn, min_size=2, max_size=10)
    try:
        await database.migrate(pool)
        agents = await setup(pool)
        metrics = Metrics()
        bus = InProcessBus(metrics)
        assigned_at: dict[str, float] = {}

        def on_event(event: Event) -> None:
            if event.name == events.CONVERSATION_UPDATED and event.data.get("change") == (
                "assigned:auto"
            ):
                assigned_at.setdefault(event.conversation_id, time.perf_counter())

        bus.subscribe(on_event)
        router = Router(
            pool,
            bus,
            metrics,
            LocalPresence(),
            Weights(),
            clock=lambda: datetime.now(UTC),
            assign_interval=3600,
        )

        # Baselines and burst alternate, ROUTING_ROUNDS times: each takes under a second, so
        # the machine's other work moves any one of them; the medians and ratios of medians
        # are the figures, the ranges show the spread.
        rounds: dict[str, list[float]] = {"bare": [], "batched": [], "burst": []}
        burst_latency: list[float] = []
        for _ in range(ROUTING_ROUNDS):
            # Baselines: the bare claim, on conversations of their own.
            baseline_ids = await queue_up(pool, QUEUED, [])
            rounds["bare"].append(QUEUED / await bare_claims(pool, baseline_ids, agents[0]))
            await reset(pool)
            batched_ids = await queue_up(pool, QUEUED, [])
            batched = await bare_claims_batched(pool, batched_ids, agents[0])
            rounds["batched"].append(QUEUED / batched)
            await reset(pool)

            # Burst: 1,000 waiting, 100 agents come online, one pass.
            burst_ids = await queue_up(pool, QUEUED, [])
            await pool.execute("UPDATE agents SET status = 'online' WHERE email LIKE 'bench%'")
            started = time.perf_counter()
            count = await router.assign_pass()
            rounds["burst"].append(QUEUED / (time.perf_counter() - started))
            assert count == QUEUED, count
            burst_latency += [(assigned_at[i] - started) * 1000 for i in burst_ids]
            await reset(pool)

        # Steady: a backlog nobody can take, then new handoffs one at a time.
        await pool.execute("UPDATE agents SET status = 'online' WHERE email LIKE 'bench%'")
        await queue_up(pool, QUEUED, ["de"])
        await router.start()
        steady: list[float] = []
        for _ in range(STEADY):
            (new,) = await queue_up(pool, 1, [])
            handed = time.perf_counter()
            router.wake()
            while new not in assigned_at:  # noqa: ASYNC110 (the bus callback fills it)
                await asyncio.sleep(0.0005)
            steady.append((assigned_at[new] - handed) * 1000)
        await router.close()
        return {
            **{f"{name}_per_s": statistics.median(rates) for name, rates in rounds.items()},
            **{f"{name}_min": min(rates) for name, rates in rounds.items()},
            **{f"{name}_max": max(rates) for name, rates in rounds.items()},
            "burst_p50": statistics.median(burst_latency),
            "burst_p99": percentile(burst_latency, 0.99),
            "steady_p50": statistics.median(steady),
            "steady_p99": percentile(steady, 0.99),
        }
    finally:
        await pool.close()


def run() -> str:
    with tempfile.TemporaryDirectory(prefix="sbroute") as tmp:
        embedded = database.EmbeddedPostgres(Path(tmp))
        dsn = embedded.start()
        try:
            figures = asyncio.run(measure(dsn))
        finally:
            embedded.stop()
    f = figures
    return "\n".join(
        [
            f"## Routing — {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
            "",
            f"Command: `make bench` (or `python -m bench.routing`). Machine: {machine()}"
            f"; embedded PostgreSQL 16 (pgserver) on the same box."
            f" {QUEUED} queued conversations, {AGENTS} agents of capacity {CAPACITY}, {STEADY}"
            " handoffs one at a time.",
            "",
            "| scenario | figure |",
            "|---|---:|",
            f"| baseline: bare conditional UPDATE claims | {_rate(f, 'bare')} claims/s |",
            f"| baseline: the same, {ASSIGN_BATCH} to a commit | {_rate(f, 'batched')} claims/s |",
            f"| burst: one router pass assigns {QUEUED:,} | {_rate(f, 'burst')} assignments/s |",
            f"| burst: pass start → claim committed, p50 / p99 | {f['burst_p50']:.0f} /"
            f" {f['burst_p99']:.0f} ms |",
            f"| steady: handoff → assigned with {QUEUED:,} unplaceable waiting, p50 / p99 |"
            f" {f['steady_p50']:.1f} / {f['steady_p99']:.1f} ms |",
            "",
            f"Medians of {ROUTING_ROUNDS} rounds (min-max beside them); each round runs both"
            " baselines and then the burst, on conversations of its own."
            " Ratio router/bare claim throughput (of the medians):"
            f" {f['burst_per_s'] / f['bare_per_s']:.2f}x"
            f" against claims committed one by one, {f['burst_per_s'] / f['batched_per_s']:.2f}x"
            f" against claims committed {ASSIGN_BATCH} at a time as the router commits them (the"
            " router's claim also locks the conversation and the agent, counts the agent's"
            " load, records the assignment and publishes the conversation).",
        ]
    )


def _rate(figures: dict[str, float], name: str) -> str:
    """'1,234 (1,100-1,300)': the median of the rounds and their range."""
    return (
        f"{figures[name + '_per_s']:,.0f}"
        f" ({figures[name + '_min']:,.0f}-{figures[name + '_max']:,.0f})"
    )


def main() -> None:
    publish(run(), START, END)


if __name__ == "__main__":
    main()
