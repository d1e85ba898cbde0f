"""The sweeps' lease holder folds the reports' roll-ups (issue 20): a conversation written
into an hour already behind the watermark marks it, and the sweeps' analytics step folds it
again, marks taken."""

from __future__ import annotations

from server.services import demo
from tests.harness import RunningServer
from tests.server.store.history import T0, Story, write


async def test_a_round_folds_the_marked_hours(server: RunningServer) -> None:
    pool = server.services.pool
    async with pool.acquire() as conn:
        await write(conn, Story(0, bot_reply=2, handoff=5, assigned=5, resolved=60))
        brand = await conn.fetchval("SELECT id FROM brands WHERE slug = $1", demo.BRAND_SLUG)
    # The node's own loop may take the marks first: either way, once a round is over the
    # hour is folded and its marks are gone.
    await server.services.sweeps.analytics()
    async with pool.acquire() as conn:
        left = await conn.fetchval(
            "SELECT count(*) FROM analytics_stale WHERE brand_id = $1 AND hour = $2", brand, T0
        )
        row = await conn.fetchrow(
            "SELECT conversations, resolved, handed FROM analytics_hours"
            " WHERE brand_id = $1 AND dim = 'all' AND hour = $2",
            brand,
            T0,
        )
    assert left == 0
    assert row is not None
    assert dict(row) == {"conversations": 1, "resolved": 1, "handed": 1}
