"""The knowledge base beside a conversation, against a real server and Postgres: the agent
working it gets the article that answers the customer (recorded once as suggested), marks
that it resolved the case, and records it as sent with the reply that carried it; the best
article is also a suggested reply. Another brand's conversation or article is a 404, a role
that only reads conversations may not record (403)."""

from __future__ import annotations

import asyncio
import uuid
from contextlib import aclosing as closing

import httpx

from server.services import demo
from server.services.kb import Author
from server.store.kb import Draft
from tests.harness import RunningServer
from tests.web_console.brands import conversation_in, person, signed_in, two_brands

GIFT = Draft(
    "en",
    "",
    "Gift cards",
    "## Buying a gift card\n\nGift cards are sold in the shop from 10 to 200 euros, "
    "and never expire.",
    "Payments",
    ["gift"],
    "published",
)


async def publish(server: RunningServer, brand: str, draft: Draft = GIFT) -> str:
    kb = server.services.kb
    assert kb is not None
    return str((await kb.create(brand, draft, Author(None, "tests"))).id)


async def uses(server: RunningServer, conversation_id: str) -> list[tuple[str, int | None]]:
    async with server.services.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT kind, message_id FROM kb_article_uses WHERE conversation_id = $1::uuid"
            " ORDER BY id",
            conversation_id,
        )
    return [(r["kind"], r["message_id"]) for r in rows]


async def test_the_agent_gets_the_article_marks_it_resolved_and_sends_it(
    server: RunningServer,
) -> None:
    article = await publish(server, demo.BRAND_SLUG)
    asked = await conversation_in(server, demo.WEBCHAT_INBOX, "Do you sell gift cards?")
    agent = await signed_in(server, await person(server, demo.BRAND_SLUG, "agent", ["support"]))
    path = f"/console/api/kb/conversations/{asked.conversation_id}/articles"
    async with closing(agent):
        found = await agent.get(path)
        assert found.status_code == 200, found.text
        articles = found.json()["articles"]
        assert [a["title"] for a in articles] == ["Gift cards"]
        assert articles[0]["url"].endswith("/help/demo/en/gift-cards")
        assert articles[0]["url"].startswith("http")
        assert articles[0]["outcome"] is None
        # Read again, by several consoles at once (a new message re-reads it): suggested once.
        again = await asyncio.gather(*(agent.get(path) for _ in range(4)))
        assert [r.status_code for r in again] == [200] * 4
        assert await uses(server, asked.conversation_id) == [("suggested_to_agent", None)]

        # The best article is also a suggested reply, with its link.
        replies = await agent.get(f"/console/api/conversations/{asked.conversation_id}/suggestions")
        kinds = [(s["source"], s["article_id"]) for s in replies.json()["suggestions"]]
        assert ("article", article) in kinds
        text = next(s["text"] for s in replies.json()["suggestions"] if s["source"] == "article")
        assert "Gift cards" in text
        assert articles[0]["url"] in text

        marked = await agent.post(f"{path}/{article}/resolved")
        assert marked.status_code == 200, marked.text
        assert (await agent.get(path)).json()["articles"][0]["outcome"] == "resolved"
        async with server.services.pool.acquire() as conn:
            verdict = await conn.fetchrow(
                "SELECT outcome, source, agent_id::text FROM kb_article_outcomes"
                " WHERE conversation_id = $1::uuid",
                asked.conversation_id,
            )
        me = (await agent.get("/console/api/me")).json()["agent"]
        assert verdict is not None
        assert tuple(verdict) == ("resolved", "agent", me["id"])

        reply = await agent.post(
            f"/console/api/conversations/{asked.conversation_id}/messages",
            json={"text": f"Here: {articles[0]['url']}", "client_id": uuid.uuid4().hex[:12]},
        )
        assert reply.status_code == 201, reply.text
        message_id = reply.json()["message"]["id"]
        sent = await agent.post(f"{path}/{article}/sent", json={"message_id": message_id})
        assert sent.status_code == 204, sent.text
        assert await uses(server, asked.conversation_id) == [
            ("suggested_to_agent", None),
            ("sent_by_agent", message_id),
        ]
        # The customer's message is not an agent's reply.
        wrong = await agent.post(f"{path}/{article}/sent", json={"message_id": asked.message_id})
        assert wrong.status_code == 404
        for wrong_id in ("one", 2**63, 0):
            bad = await agent.post(f"{path}/{article}/sent", json={"message_id": wrong_id})
            assert bad.status_code == 422
            assert bad.json()["error"].startswith("message_id")


async def test_another_brand_is_a_404_and_a_reader_may_not_record(
    server: RunningServer,
) -> None:
    shop, _ = await two_brands(server)
    shop_article = await publish(server, demo.BRAND_SLUG)
    outdoor_article = await publish(server, demo.OTHER_BRAND_SLUG)
    noor = await signed_in(
        server, await person(server, demo.OTHER_BRAND_SLUG, "agent", ["support"])
    )
    analyst = await signed_in(server, await person(server, demo.BRAND_SLUG, "analyst"))
    editor = await signed_in(server, await person(server, demo.BRAND_SLUG, "editor"))
    lea = await signed_in(server, await person(server, demo.BRAND_SLUG, "agent", ["support"]))
    shop_path = f"/console/api/kb/conversations/{shop.conversation_id}/articles"
    async with closing(noor), closing(analyst), closing(editor), closing(lea):
        assert (await noor.get(shop_path)).status_code == 404
        assert (await noor.post(f"{shop_path}/{shop_article}/resolved")).status_code == 404
        # An article of another brand is not this conversation's.
        other = await lea.post(f"{shop_path}/{outdoor_article}/resolved")
        assert other.status_code == 404
        assert other.json()["error"] == f"no article '{outdoor_article}'"
        assert (await lea.post(f"{shop_path}/{uuid.uuid4()}/resolved")).status_code == 404
        # An analyst reads the suggestions (nothing recorded), and may not mark.
        assert (await analyst.get(shop_path)).status_code == 200
        assert (await analyst.post(f"{shop_path}/{shop_article}/resolved")).status_code == 403
        # An editor reads no conversation.
        assert (await editor.get(shop_path)).status_code == 403
        assert (await lea.get("/console/api/kb/conversations/nope/articles")).status_code == 404
    assert await uses(server, shop.conversation_id) == []
    async with httpx.AsyncClient(base_url=server.base_url) as anonymous:
        assert (await anonymous.get(shop_path)).status_code == 401
