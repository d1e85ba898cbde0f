"""The Knowledge area's figures and content gaps, against a real server and Postgres (pgvector
message embeddings): an article's views and rates with the conversations behind them (only
those the caller may open), and the handed-over questions no article answers, grouped by
meaning, which close once an article answers them. Another brand is a 404; a role that
does not write articles may not see the gaps (403)."""

from __future__ import annotations

from contextlib import aclosing as closing
from uuid import UUID

from server.services import demo
from server.services.kb import Author
from server.store import kb_feedback
from server.store.kb import Draft
from tests.harness import RunningServer
from tests.server.http.test_kb_agent import GIFT, publish
from tests.web_console.brands import conversation_in, person, signed_in, two_brands
from tests.web_console.test_suggestions import embedded

GIFT_QUESTIONS = (
    "Do you sell gift cards?",
    "Can I buy a gift card for my sister?",
    "do you have gift cards for sale",
)
CANADA_QUESTIONS = ("Do you ship to Canada?", "international shipping to canada please")


async def handed_over(server: RunningServer, text: str, reason: str) -> str:
    """A customer's question the bot handed over for ``reason``, in English."""
    asked = await conversation_in(server, demo.WEBCHAT_INBOX, text)
    async with server.services.pool.acquire() as conn:
        await conn.execute(
            "UPDATE conversations SET handoff_reason = $2, handoff_at = now(), language = 'en'"
            " WHERE id = $1::uuid",
            asked.conversation_id,
            reason,
        )
        await conn.execute(
            "UPDATE messages SET language = 'en' WHERE conversation_id = $1::uuid",
            asked.conversation_id,
        )
    return asked.conversation_id


async def test_figures_count_views_and_verdicts_and_show_only_openable_conversations(
    server: RunningServer,
) -> None:
    shop, _ = await two_brands(server)
    article = UUID(await publish(server, demo.BRAND_SLUG))
    other = await conversation_in(server, demo.WEBCHAT_INBOX, "a second customer")
    third = await conversation_in(server, demo.WEBCHAT_INBOX, "a third customer")
    async with server.services.pool.acquire() as conn:
        brand_id = await conn.fetchval(
            "SELECT brand_id FROM conversations WHERE id = $1::uuid", shop.conversation_id
        )
        for n, conversation in enumerate((shop, other, third)):
            cid = UUID(conversation.conversation_id)
            await kb_feedback.record_uses(conn, brand_id, cid, [article], "shown_by_bot")
            if n == 0:
                await kb_feedback.record_uses(conn, brand_id, cid, [article], "sent_by_agent")
            verdict: kb_feedback.Outcome = "resolved" if n < 2 else "not_helpful"
            await kb_feedback.set_outcome(conn, article, cid, brand_id, verdict, "customer")
    sam = await signed_in(server, await person(server, demo.BRAND_SLUG, "supervisor"))
    editor = await signed_in(server, await person(server, demo.BRAND_SLUG, "editor"))
    ines = await signed_in(server, await person(server, demo.OTHER_BRAND_SLUG, "supervisor"))
    path = f"/console/api/kb/articles/{article}/figures"
    async with closing(sam), closing(editor), closing(ines):
        seen = (await sam.get(path)).json()
        assert seen["figures"] == {
            "views": 4,
            "shown_by_bot": 3,
            "suggested_to_agent": 0,
            "sent_by_agent": 1,
            "conversations": 3,
            "resolved": 2,
            "not_helpful": 1,
            "resolution_rate": 0.667,
            "not_helpful_rate": 0.333,
        }
        assert {u["conversation_id"] for u in seen["used_in"]} == {
            shop.conversation_id,
            other.conversation_id,
            third.conversation_id,
        }
        first = next(u for u in seen["used_in"] if u["conversation_id"] == shop.conversation_id)
        assert (first["kinds"], first["outcome"]) == (["sent_by_agent", "shown_by_bot"], "resolved")
        assert seen["hidden"] == 0
        # An editor reads no conversation: the same figures, the conversations only counted.
        edited = (await editor.get(path)).json()
        assert edited["figures"] == seen["figures"]
        assert (edited["used_in"], edited["hidden"]) == ([], 3)
        # The list carries each article's figures too.
        listed = (await editor.get("/console/api/kb/articles")).json()["articles"]
        assert listed[0]["figures"]["views"] == 4
        assert (await ines.get(path)).status_code == 404


async def test_gaps_group_unanswered_questions_and_close_when_an_article_answers(
    server: RunningServer,
) -> None:
    await demo.seed_other_brand(server.services.pool)
    for text in GIFT_QUESTIONS:
        await handed_over(server, text, "kb_no_answer")
    for text in CANADA_QUESTIONS:
        await handed_over(server, text, "out_of_scope")
    # Handed over for another reason: not a gap in the knowledge base.
    await handed_over(server, "I want to speak to a human about gift cards", "requested_human")
    await embedded(server)
    editor = await signed_in(server, await person(server, demo.BRAND_SLUG, "editor"))
    agent = await signed_in(server, await person(server, demo.BRAND_SLUG, "agent", ["support"]))
    outsider = await signed_in(server, await person(server, demo.OTHER_BRAND_SLUG, "editor"))
    path = f"/console/api/kb/brands/{demo.BRAND_SLUG}/gaps"
    async with closing(editor), closing(agent), closing(outsider):
        answer = await editor.get(path)
        assert answer.status_code == 200, answer.text
        gaps = answer.json()["gaps"]
        assert [g["count"] for g in gaps] == [3, 2]
        assert {e["text"] for e in gaps[0]["examples"]} == set(GIFT_QUESTIONS)
        assert gaps[0]["question"] in GIFT_QUESTIONS
        assert gaps[0]["reasons"] == {"kb_no_answer": 3}
        assert gaps[0]["language"] == "en"
        assert {e["text"] for e in gaps[1]["examples"]} == set(CANADA_QUESTIONS)
        assert (await editor.get(path, params={"lang": "fr"})).json()["gaps"] == []
        assert (await editor.get(path, params={"lang": "French"})).status_code == 422

        # An article that answers the gift cards closes that gap at once.
        await publish(server, demo.BRAND_SLUG, GIFT)
        after = (await editor.get(path)).json()["gaps"]
        assert [g["count"] for g in after] == [2]
        # A draft answers nobody.
        kb = server.services.kb
        assert kb is not None
        canada = Draft("en", "", "Shipping to Canada", "We ship to Canada.", "", [], "draft")
        await kb.create(demo.BRAND_SLUG, canada, Author(None, "tests"))
        assert len((await editor.get(path)).json()["gaps"]) == 1

        assert (await agent.get(path)).status_code == 403
        assert (await outsider.get(path)).status_code == 404
        assert (await editor.get("/console/api/kb/brands/nowhere/gaps")).status_code == 404
