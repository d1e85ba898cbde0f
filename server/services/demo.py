"""Demo data: a brand, its web chat inbox, an agent and the orders the bot can look up, so
`make run` is usable at once; and a second brand with its own team and agents, so the console
shows each brand's people only their own customers."""

from __future__ import annotations

import contextlib
from datetime import date, timedelta

from server.errors import Conflict
from server.services.agents import create_agent
from server.store import Conn, Pool, ensure_inbox
from server.store import organisation as org
from server.store.orders import insert_order

BRAND_SLUG = "demo"
WEBCHAT_INBOX = "demo-web"
EMAIL_INBOX = "support@demo.switchboard.test"  # printed by `make run`
AGENT_EMAIL = "agent@demo.switchboard.test"
AGENT_PASSWORD = "switchboard-demo"  # printed by `make run`; demo data only

# (slug, name, is the default team)
TEAMS = (
    ("support", "Support", True),
    ("billing", "Billing", False),
    ("technical", "Technical", False),
)
SKILLS = (
    ("billing", "payments, invoices, refunds"),
    ("technical", "bugs, log-in and account problems"),
    ("fr", "writes French"),
)
# (email, name, role, capacity, skills, teams); every demo agent has the demo password.
AGENTS = (
    (
        AGENT_EMAIL,
        "Dana Demo",
        "admin",
        5,
        ["billing", "technical", "fr"],
        ["support", "billing", "technical"],
    ),
    (
        "lea@demo.switchboard.test",
        "Léa Martin",
        "agent",
        4,
        ["billing", "fr"],
        ["support", "billing"],
    ),
    (
        "sam@demo.switchboard.test",
        "Sam Okafor",
        "supervisor",
        6,
        ["technical"],
        ["support", "technical"],
    ),
)
# The second brand: its own web chat, one team, an agent and a supervisor of its own. Dana
# (the demo admin) sees both brands; Léa and Sam only the Demo Shop; these two only this one.
OTHER_BRAND_SLUG = "outdoor"
OTHER_WEBCHAT_INBOX = "outdoor-web"
OTHER_AGENTS = (
    ("noor@outdoor.switchboard.test", "Noor Haddad", "agent", 4),
    ("ines@outdoor.switchboard.test", "Inès Duarte", "supervisor", 4),
)
# (band, first response, resolution, escalation points, team told of a breach)
SLA = (
    ("urgent", 5 * 60, 4 * 3600, 20, "support"),
    ("high", 15 * 60, 8 * 3600, 15, "support"),
    ("normal", 60 * 60, 24 * 3600, 10, None),
    ("low", 4 * 3600, 72 * 3600, 0, None),
)
# Intents that need a skill, and the team that handles them.
INTENT_ROUTES = (
    ("payment_failed", ["billing"], "billing"),
    ("billing_issue", ["billing"], "billing"),
    ("return_refund", ["billing"], "billing"),
    ("technical_problem", ["technical"], "technical"),
    ("account_locked", ["technical"], "technical"),
)

# (number, status, carrier, tracking, days until delivery (negative: delivered that long ago))
ORDERS = (
    ("10234", "shipped", "DHL", "JD014600006281", 2),
    ("10377", "processing", None, None, 4),
    ("10562", "delivered", "Colissimo", "6A19876543210", -3),
    ("10891", "delayed", "UPS", "1Z999AA10123456784", 5),
    ("20345", "out_for_delivery", "DPD", "05222233344455", 0),
    ("10444", "cancelled", None, None, None),
)


async def seed(pool: Pool, *, second_brand: bool = False) -> None:
    """Create the demo records that are missing; running it twice changes nothing. With
    ``second_brand`` (``make run`` asks for it), the outdoor brand too."""
    async with pool.acquire() as conn:
        brand_id = await org.ensure_brand(conn, BRAND_SLUG, "Demo Shop")
        await ensure_inbox(conn, "webchat", WEBCHAT_INBOX, "Demo Shop web chat", BRAND_SLUG)
        await ensure_inbox(conn, "email", EMAIL_INBOX, "Demo Shop support mail", BRAND_SLUG)
        today = date.today()
        for number, status, carrier, tracking, days in ORDERS:
            delivered = today + timedelta(days=days) if status == "delivered" and days else None
            eta = today + timedelta(days=days) if days is not None and not delivered else None
            await insert_order(
                conn,
                brand_id,
                number,
                status,
                carrier=carrier,
                tracking_number=tracking,
                estimated_delivery=eta,
                delivered_on=delivered,
            )
        await _organisation(pool, conn)
    # After the demo brand, which stays the first (where unnamed inboxes go).
    if second_brand:
        await seed_other_brand(pool)


async def _organisation(pool: Pool, conn: Conn) -> None:
    """Teams, skills, agents, SLA policies and intent routes of the demo brand."""
    for slug, name, default in TEAMS:
        await org.put_team(conn, BRAND_SLUG, slug, name=name, default=default or None)
    for skill, description in SKILLS:
        await org.put_skill(conn, skill, description)
    for email, name, role, capacity, skills, teams in AGENTS:
        with contextlib.suppress(Conflict):
            await create_agent(
                pool,
                email=email,
                name=name,
                password=AGENT_PASSWORD,
                role=role,
                brand=BRAND_SLUG,
            )
            # Only a freshly created agent is set up: an admin's later changes stay.
            await org.update_agent(
                conn, email, capacity=capacity, skills=skills, teams=teams, brand=BRAND_SLUG
            )
    for band, first, resolution, points, notify in SLA:
        await org.put_sla_policy(
            conn,
            BRAND_SLUG,
            band,
            first_response_seconds=first,
            resolution_seconds=resolution,
            escalation_points=points,
            notify_team=notify,
        )
    for intent, skills, team in INTENT_ROUTES:
        await org.put_intent_route(conn, BRAND_SLUG, intent, skills=skills, team=team)


async def seed_other_brand(pool: Pool) -> None:
    """The outdoor brand: its web chat inbox, its support team and its two people."""
    async with pool.acquire() as conn:
        await org.ensure_brand(conn, OTHER_BRAND_SLUG, "Trailhead Outdoors")
        await ensure_inbox(
            conn, "webchat", OTHER_WEBCHAT_INBOX, "Trailhead web chat", OTHER_BRAND_SLUG
        )
        await org.put_team(conn, OTHER_BRAND_SLUG, "support", name="Support", default=True)
        for email, name, role, capacity in OTHER_AGENTS:
            with contextlib.suppress(Conflict):
                await create_agent(
                    pool,
                    email=email,
                    name=name,
                    password=AGENT_PASSWORD,
                    role=role,
                    brand=OTHER_BRAND_SLUG,
                )
                await org.update_agent(
                    conn, email, capacity=capacity, teams=["support"], brand=OTHER_BRAND_SLUG
                )
