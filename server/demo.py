"""Demo data: a brand, its web chat inbox, an agent and the orders the bot can look up, so
`make run` is usable at once."""

from __future__ import annotations

import contextlib
from datetime import date, timedelta

import asyncpg

from server.agents import create_agent
from server.errors import Conflict

BRAND_SLUG = "demo"
WEBCHAT_INBOX = "demo-web"
AGENT_EMAIL = "agent@demo.switchboard.test"
AGENT_PASSWORD = "switchboard-demo"  # printed by `make run`; demo data only

# (number, status, carrier, tracking, days until delivery (negative: delivered that long ago))
ORDERS = (
    ("10234", "shipped", "DHL", "JD014600006281", 2),
    ("10377", "processing", None, None, 4),
    ("10562", "delivered", "Colissimo", "6A19876543210", -3),
    ("10891", "delayed", "UPS", "1Z999AA10123456784", 5),
    ("20345", "out_for_delivery", "DPD", "05222233344455", 0),
    ("10444", "cancelled", None, None, None),
)


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
    today = date.today()
    for number, status, carrier, tracking, days in ORDERS:
        delivered = today + timedelta(days=days) if status == "delivered" and days else None
        eta = today + timedelta(days=days) if days is not None and not delivered else None
        await pool.execute(
            "INSERT INTO orders (brand_id, number, status, carrier, tracking_number,"
            " estimated_delivery, delivered_on) VALUES ($1, $2, $3, $4, $5, $6, $7)"
            " ON CONFLICT (brand_id, number) DO NOTHING",
            brand_id,
            number,
            status,
            carrier,
            tracking,
            eta,
            delivered,
        )
    with contextlib.suppress(Conflict):
        await create_agent(
            pool, email=AGENT_EMAIL, name="Dana Demo", password=AGENT_PASSWORD, role="admin"
        )
