"""The console's search (server/store/search.py): the conversations of the customers whose
name matches come newest first by their last message, across hours and within one, though
the index behind it (migration 0043) holds only the last message's hour."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from server.store import search
from web_console.access import Reach

EVERYTHING = Reach(
    everything=True,
    whole_brands=(),
    team_brands=(),
    teams=(),
    agent_id="00000000-0000-0000-0000-000000000000",
)


async def _conversation(pool: asyncpg.Pool, name: str, last: datetime | None) -> str:
    found = await pool.fetchval(
        """WITH contact AS (
               INSERT INTO contacts (brand_id, name)
               SELECT brand_id, $1 FROM inboxes WHERE address = 'demo-web' RETURNING id)
           INSERT INTO conversations (brand_id, inbox_id, contact_id, channel, last_message_at)
           SELECT i.brand_id, i.id, contact.id, 'webchat', $2 FROM inboxes i, contact
            WHERE i.address = 'demo-web' RETURNING id""",
        name,
        last,
    )
    return str(found)


# Both ways of finding them: from the few customers by that name, and walking the
# conversations newest first (more customers by that name than FEW_CUSTOMERS).
@pytest.mark.parametrize("few_customers", [1_000, 0])
async def test_customers_conversations_come_newest_first(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch, few_customers: int
) -> None:
    monkeypatch.setattr(search, "FEW_CUSTOMERS", few_customers)
    hour = datetime(2026, 12, 1, 10, tzinfo=UTC)
    made = {
        "Maria early": hour + timedelta(minutes=5),
        "Maria late": hour + timedelta(minutes=55),
        "Maria middle": hour + timedelta(minutes=30),
        "Maria yesterday": hour - timedelta(days=1),
        "Maria next hour": hour + timedelta(hours=1, minutes=1),
        "Maria silent": None,
    }
    ids = {name: await _conversation(pool, name, last) for name, last in made.items()}
    await _conversation(pool, "Someone else", hour + timedelta(hours=2))
    async with pool.acquire() as conn:
        page = await search.search(conn, "maria", EVERYTHING, None)
    order = ["Maria next hour", "Maria late", "Maria middle", "Maria early", "Maria yesterday"]
    assert [c["id"] for c in page["conversations"]] == [
        *(ids[name] for name in order),
        ids["Maria silent"],
    ]
