"""The review inbox's store over seeded interpretations on a real Postgres: which customer
messages are items and why, the filters, the brands, and the trainers' verdicts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

import asyncpg
import pytest

from server.services import demo
from server.store import bot_review as store
from server.store.bot_review import ReviewQuery
from tests.server.store.history import T0, Story, write

THRESHOLD = 0.45


async def _understood(conn: Any, conversation: UUID, intent: str, confidence: float) -> int:
    """Give the conversation's customer message this interpretation; its id."""
    nlu = {
        "text": "Hello",
        "intent": intent,
        "confidence": confidence,
        "ranking": [
            {"name": intent, "confidence": confidence},
            {"name": "greet", "confidence": 0.1},
        ],
        "entities": [],
        "language": "en",
    }
    found = await conn.fetchval(
        "UPDATE messages SET nlu = $2, language = 'en' WHERE conversation_id = $1"
        " AND author_kind = 'customer' RETURNING id",
        conversation,
        nlu,
    )
    return int(found)


@pytest.fixture
async def seeded(pool: asyncpg.Pool) -> dict[str, Any]:
    await demo.seed_other_brand(pool)
    async with pool.acquire() as conn:
        shop = await conn.fetchval("SELECT id::text FROM brands WHERE slug = $1", demo.BRAND_SLUG)
        other = await conn.fetchval(
            "SELECT id::text FROM brands WHERE slug = $1", demo.OTHER_BRAND_SLUG
        )
        sure = await write(conn, Story(0, bot_reply=2))
        unsure = await write(conn, Story(60, bot_reply=2, channel="telegram"))
        fell = await write(conn, Story(120, bot_reply=2))
        handed = await write(conn, Story(180, bot_reply=2, handoff=5, reason="requested_human"))
        flagged = await write(conn, Story(240, bot_reply=2))
        elsewhere = await write(conn, Story(300, bot_reply=2, brand=demo.OTHER_BRAND_SLUG))
        ids = {
            "sure": await _understood(conn, sure, "order_status", 0.92),
            "unsure": await _understood(conn, unsure, "order_status", 0.3),
            "fell": await _understood(conn, fell, "nlu_fallback", 0.6),
            "handed": await _understood(conn, handed, "human", 0.95),
            "flagged": await _understood(conn, flagged, "greet", 0.99),
            "elsewhere": await _understood(conn, elsewhere, "order_status", 0.2),
        }
        agent = await conn.fetchval("SELECT id::text FROM agents ORDER BY email LIMIT 1")
        created, _ = await store.flag(conn, ids["flagged"], agent, "refund", "asked for a refund")
        assert created
        again, _ = await store.flag(conn, ids["flagged"], agent, "refund", "said twice")
        assert not again
    return {"ids": ids, "shop": shop, "other": other, "agent": agent}


def _query(brands: tuple[str, ...] | None, **narrow: Any) -> ReviewQuery:
    return ReviewQuery(
        brands=brands,
        start=T0 - timedelta(days=1),
        end=T0 + timedelta(days=1),
        threshold=THRESHOLD,
        **narrow,
    )


async def test_items_are_the_unsure_the_fallbacks_the_handoffs_and_the_flagged(
    pool: asyncpg.Pool, seeded: dict[str, Any]
) -> None:
    ids = seeded["ids"]
    async with pool.acquire() as conn:
        page = await store.items(conn, _query((seeded["shop"],)))
    reasons = {i.message_id: i.reasons for i in page.items}
    assert reasons == {
        ids["unsure"]: ("low_confidence",),
        ids["fell"]: ("fallback",),
        ids["handed"]: ("handoff",),
        ids["flagged"]: ("flagged",),
    }
    flagged = next(i for i in page.items if i.message_id == ids["flagged"])
    assert [(f.intent, f.note) for f in flagged.flags] == [("refund", "said twice")]
    unsure = next(i for i in page.items if i.message_id == ids["unsure"])
    assert unsure.band == "low"
    assert unsure.channel == "telegram"
    assert [r.intent for r in unsure.ranking] == ["order_status", "greet"]
    # What happened next: the bot's reply.
    assert unsure.next.reply_author == "bot"
    assert unsure.next.reply == "Hi, how can I help?"
    handed = next(i for i in page.items if i.message_id == ids["handed"])
    assert handed.next.handoff_reason == "requested_human"


async def test_each_brand_sees_only_its_own_messages(
    pool: asyncpg.Pool, seeded: dict[str, Any]
) -> None:
    async with pool.acquire() as conn:
        other = await store.items(conn, _query((seeded["other"],)))
        everyone = await store.items(conn, _query(None))
        hidden = await store.item(conn, seeded["ids"]["elsewhere"], (seeded["shop"],), THRESHOLD)
        handed = await store.item(conn, seeded["ids"]["handed"], (seeded["shop"],), THRESHOLD)
    assert [i.message_id for i in other.items] == [seeded["ids"]["elsewhere"]]
    assert len(everyone.items) == 5
    assert hidden is None
    # One item read alone: why it is there, its handoff included.
    assert handed is not None
    assert handed.reasons == ("handoff",)
    assert handed.next.handoff_reason == "requested_human"


async def test_filters_narrow_the_inbox_and_pages_follow(
    pool: asyncpg.Pool, seeded: dict[str, Any]
) -> None:
    ids = seeded["ids"]
    shop = (seeded["shop"],)
    async with pool.acquire() as conn:
        low = await store.items(conn, _query(shop, band="low"))
        high = await store.items(conn, _query(shop, band="high"))
        handoffs = await store.items(conn, _query(shop, reason="handoff"))
        telegram = await store.items(conn, _query(shop, channel="telegram"))
        by_intent = await store.items(conn, _query(shop, intent="nlu_fallback"))
        french = await store.items(conn, _query(shop, language="fr"))
        first = await store.items(conn, _query(shop, limit=2))
        assert first.more is not None
        rest = await store.items(conn, _query(shop, limit=2, before=first.more))
    assert [i.message_id for i in low.items] == [ids["unsure"]]
    assert {i.message_id for i in high.items} == {ids["handed"], ids["flagged"]}
    assert [i.message_id for i in handoffs.items] == [ids["handed"]]
    assert [i.message_id for i in telegram.items] == [ids["unsure"]]
    assert [i.message_id for i in by_intent.items] == [ids["fell"]]
    assert french.items == ()
    assert len({i.message_id for i in first.items + rest.items}) == 4


async def test_a_verdict_moves_an_item_out_of_the_open_inbox(
    pool: asyncpg.Pool, seeded: dict[str, Any]
) -> None:
    ids = seeded["ids"]
    shop = (seeded["shop"],)
    async with pool.acquire() as conn:
        targets = await store.targets(conn, [ids["unsure"], ids["elsewhere"]], shop)
        assert [t.message_id for t in targets] == [ids["unsure"]]
        await store.record_verdicts(
            conn, targets, "order_status", (), seeded["agent"], "t@x", "data/nlu.yml"
        )
        fell = await store.targets(conn, [ids["fell"]], shop)
        await store.record_verdicts(conn, fell, None, (), seeded["agent"], "t@x", None)
        still_open = await store.items(conn, _query(shop))
        reviewed = await store.items(conn, _query(shop, status="reviewed"))
        ignored = await store.items(conn, _query(shop, status="ignored"))
        labelled = await store.reviewed_set(conn)
        lines = await store.conversation(conn, reviewed.items[0].conversation_id)
    assert {i.message_id for i in still_open.items} == {ids["handed"], ids["flagged"]}
    [confirmed] = reviewed.items
    assert confirmed.verdict is not None
    assert confirmed.verdict.status == "confirmed"
    assert [i.message_id for i in ignored.items] == [ids["fell"]]
    assert [(x.message_id, x.intent) for x in labelled] == [(ids["unsure"], "order_status")]
    assert [(x.author, x.intent) for x in lines] == [("customer", "order_status"), ("bot", None)]
