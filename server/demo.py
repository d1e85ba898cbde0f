"""Demo data: a brand, its web chat inbox and an agent, so `make run` is usable at once."""

from __future__ import annotations

import contextlib

import asyncpg

from server.agents import create_agent
from server.errors import Conflict

BRAND_SLUG = "demo"
WEBCHAT_INBOX = "demo-web"
AGENT_EMAIL = "agent@demo.switchboard.test"
AGENT_PASSWORD = "switchboard-demo"  # printed by `make run`; demo data only


async def seed(pool: asyncpg.Pool) -> None:
    """Create the demo records that are missing; running it twice changes nothing."""
    brand_id = await pool.fetchval(
        "INSERT INTO brands (slug, name) VALUES ($1, 'Demo Shop')"
        " ON CONFLICT (slug) DO UPDATE SET slug = EXCLUDED.slug RETURNING id",
        BRAND_SLUG,
    )
    await pool.execute(
        "INSERT INTO inboxes (brand_id, channel, address, name)"
        " VALUES ($1, 'webchat', $2, 'Demo Shop web chat') ON CONFLICT DO NOTHING",
        brand_id,
        WEBCHAT_INBOX,
    )
    with contextlib.suppress(Conflict):
        await create_agent(
            pool, email=AGENT_EMAIL, name="Dana Demo", password=AGENT_PASSWORD, role="admin"
        )
