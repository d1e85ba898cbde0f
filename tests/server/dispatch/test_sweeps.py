"""The presence sweep after a restart: agents whose console says online are not marked away
before their consoles have had the grace period to reconnect to this node. And the
knowledge base's no-handoff inference for conversations quiet with the bot."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from server.services import demo
from server.services.kb import Author
from server.store import kb_feedback
from server.store.kb import Draft
from tests.harness import RunningServer
from tests.server.store.test_kb_feedback import conversation


async def _online_since_yesterday(server: RunningServer) -> None:
    await server.services.pool.execute(
        "UPDATE agents SET status = 'online', status_at = now() - interval '1 day'"
        " WHERE email = $1",
        demo.AGENT_EMAIL,
    )


async def _status(server: RunningServer) -> str:
    status: str = await server.services.pool.fetchval(
        "SELECT status FROM agents WHERE email = $1", demo.AGENT_EMAIL
    )
    return status


async def test_a_fresh_node_waits_the_grace_before_marking_anyone_away(
    server: RunningServer,
) -> None:
    await _online_since_yesterday(server)
    sweeps = server.services.sweeps
    assert await sweeps.presence() == 0
    assert await _status(server) == "online"
    # The grace, counted from the start, has passed and no console came back.
    sweeps.started -= server.services.settings.presence_grace_seconds + 1
    assert await sweeps.presence() >= 1
    assert await _status(server) == "away"


async def test_a_conversation_quiet_with_the_bot_after_its_articles_counts_them_resolved(
    server: RunningServer,
) -> None:
    """Issue 18: the sweep's no-handoff inference, past SWITCHBOARD_KB_SETTLE_HOURS."""
    kb = server.services.kb
    assert kb is not None
    draft = Draft("en", "", "Gift cards", "From 10 euros.", "", [], "published")
    article = await kb.create(demo.BRAND_SLUG, draft, Author(None, "Editor"))
    pool = server.services.pool
    conv, brand = await conversation(pool)
    async with pool.acquire() as conn:
        await kb_feedback.record_uses(conn, brand, conv, [article.id], "shown_by_bot")
        await conn.execute("UPDATE conversations SET last_message_at = now() WHERE id = $1", conv)
    sweeps = server.services.sweeps
    now = datetime.now(UTC)
    assert await sweeps.kb_settled(now) == 0  # still within the settle time
    settle = timedelta(hours=server.services.settings.kb_settle_hours)
    assert await sweeps.kb_settled(now + settle + timedelta(minutes=1)) == 1
    source = await pool.fetchval(
        "SELECT source FROM kb_article_outcomes WHERE conversation_id = $1", conv
    )
    assert source == "no_handoff"
