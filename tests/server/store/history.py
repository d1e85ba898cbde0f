"""A scripted history for the reports' tests: conversations with chosen timings, written as
the server records them (messages, activities, SLA breaches, CSAT), at fixed moments from a
start time, so each figure of docs/metrics.md can be computed by hand."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from server.services import demo
from server.store.views import Conn

# A Monday, 09:00 UTC: the heat map's cells and the day buckets are easy to name.
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Story:
    """One conversation. Every time is seconds: ``start`` from T0, the bot's reply and the
    handoff from the start, the assignment and the agent's reply from the handoff, the
    resolution from the start."""

    start: float
    bot_reply: float | None = None
    handoff: float | None = None
    reason: str = "requested_human"
    assigned: float | None = None
    agent_reply: float | None = None
    resolved: float | None = None
    reopened: bool = False
    rating: int | None = None
    comment: str | None = None
    asked: bool = False
    band: str | None = None
    breaches: tuple[str, ...] = ()
    channel: str = "webchat"
    intent: str | None = None
    language: str = "en"
    # When the last message was written, from the start; default: the last event above.
    last_message: float | None = None
    brand: str = demo.BRAND_SLUG


async def brand_parts(conn: Conn, slug: str) -> tuple[UUID, UUID, UUID]:
    """The brand's id, its first inbox's id and one of its agents' ids."""
    row = await conn.fetchrow(
        "SELECT b.id AS brand, (SELECT id FROM inboxes WHERE brand_id = b.id"
        " ORDER BY created_at, id LIMIT 1) AS inbox,"
        " (SELECT agent_id FROM brand_roles WHERE brand_id = b.id ORDER BY agent_id LIMIT 1)"
        " AS agent FROM brands b WHERE b.slug = $1",
        slug,
    )
    assert row is not None
    return row["brand"], row["inbox"], row["agent"]


async def write(conn: Conn, story: Story, subject: str = "") -> UUID:
    """Record the story; its conversation's id."""
    brand, inbox, agent = await brand_parts(conn, story.brand)
    at = T0 + timedelta(seconds=story.start)

    def t(seconds: float) -> datetime:
        return at + timedelta(seconds=seconds)

    handed = t(story.handoff) if story.handoff is not None else None
    times = [0.0, story.bot_reply, story.handoff, story.resolved]
    if story.handoff is not None:
        times += [story.handoff + x for x in (story.assigned, story.agent_reply) if x is not None]
    last = (
        story.last_message
        if story.last_message is not None
        else max(x for x in times if x is not None)
    )
    contact = await conn.fetchval(
        "INSERT INTO contacts (brand_id, name) VALUES ($1, $2) RETURNING id",
        brand,
        subject or f"Customer {story.start:g}",
    )
    status = (
        "resolved"
        if story.resolved is not None
        else ("assigned" if story.assigned is not None else ("queued" if handed else "bot"))
    )
    conversation = await conn.fetchval(
        """INSERT INTO conversations (brand_id, inbox_id, contact_id, channel, status,
               created_at, last_message_at, resolved_at, handoff_at, handoff_reason, band,
               intent, language, assignee_id, subject)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
           RETURNING id""",
        brand,
        inbox,
        contact,
        story.channel,
        status,
        at,
        t(last),
        t(story.resolved) if story.resolved is not None else None,
        handed,
        story.reason if handed else None,
        story.band,
        story.intent,
        story.language,
        agent if story.assigned is not None else None,
        subject or None,
    )
    messages = [(0.0, "customer", "Hello")]
    if story.bot_reply is not None:
        messages.append((story.bot_reply, "bot", "Hi, how can I help?"))
    if story.handoff is not None and story.agent_reply is not None:
        messages.append((story.handoff + story.agent_reply, "agent", "I am on it."))
    for seq, (when, kind, text) in enumerate(sorted(messages), start=1):
        await conn.execute(
            "INSERT INTO messages (conversation_id, seq, direction, author_kind, author_id,"
            " channel, text, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            conversation,
            seq,
            "in" if kind == "customer" else "out",
            kind,
            agent if kind == "agent" else None,
            story.channel,
            text,
            t(when),
        )
    activities: list[tuple[float, str, str | None]] = []
    if story.handoff is not None:
        activities.append((story.handoff, "handed_off", story.reason))
        if story.assigned is not None:
            activities.append((story.handoff + story.assigned, "assigned", "auto"))
    if story.resolved is not None:
        if story.reopened:
            # Resolved once, reopened, resolved again at the story's resolution.
            activities += [
                (story.resolved / 2, "resolved", None),
                (story.resolved * 0.6, "reopened", None),
            ]
        activities.append((story.resolved, "resolved", None))
    for when, kind, detail in sorted(activities):
        await conn.execute(
            "INSERT INTO activities (conversation_id, kind, agent_id, detail, created_at)"
            " VALUES ($1, $2, $3, $4, $5)",
            conversation,
            kind,
            agent if kind == "assigned" else None,
            detail,
            t(when),
        )
    for kind in story.breaches:
        await conn.execute(
            "INSERT INTO sla_breaches (conversation_id, kind, due_at, breached_at)"
            " VALUES ($1, $2, $3, $3)",
            conversation,
            kind,
            t(story.handoff or 0) + timedelta(minutes=5),
        )
    if story.asked or story.rating is not None:
        await conn.execute(
            "INSERT INTO csat (conversation_id, brand_id, agent_id, asked_at, rating, comment,"
            " answered_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            conversation,
            brand,
            agent,
            t(story.resolved or 0),
            story.rating,
            story.comment,
            t(story.resolved or 0) if story.rating is not None else None,
        )
    return UUID(str(conversation))
