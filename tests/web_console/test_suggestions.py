"""Suggested replies: the bot's answer to the recognised intent and the agent replies that
resolved similar past conversations of the brand, in the customer's language and tone."""

from __future__ import annotations

import asyncio
import uuid

import httpx

from server.services import demo
from tests.harness import RunningServer
from tests.web_console.brands import Brand, conversation_in, person, signed_in, two_brands

RETURN_REPLY = "I've emailed you a prepaid return label; the refund follows once it arrives."
PASSWORD_REPLY = "I've sent a new password reset link to your address."
FRENCH_RETURN_REPLY = "Je vous ai envoyé une étiquette de retour ; le remboursement suivra."


async def resolved(
    server: RunningServer, http: httpx.AsyncClient, inbox: str, text: str, reply: str
) -> Brand:
    """A past conversation: the customer's message, an agent's reply, resolved."""
    past = await conversation_in(server, inbox, text)
    path = f"/console/api/conversations/{past.conversation_id}"
    answered = await http.post(
        f"{path}/messages", json={"text": reply, "client_id": uuid.uuid4().hex[:12]}
    )
    assert answered.status_code == 201, answered.text
    assert (await http.post(f"{path}/resolve")).status_code == 200
    return past


async def understood(
    server: RunningServer, conversation_id: str, intent: str, language: str, sentiment: float
) -> None:
    """What the NLU would have stored (the tests' bot is off)."""
    async with server.services.pool.acquire() as conn:
        await conn.execute(
            """UPDATE messages SET nlu = jsonb_build_object('intent', $2::text), language = $3,
                                   sentiment = $4
                WHERE conversation_id = $1::uuid AND author_kind = 'customer'""",
            conversation_id,
            intent,
            language,
            sentiment,
        )
        await conn.execute(
            "UPDATE conversations SET language = $2 WHERE id = $1::uuid", conversation_id, language
        )


async def embedded(server: RunningServer) -> None:
    """Wait until the background worker has embedded every customer message."""
    async with server.services.pool.acquire() as conn:
        for _ in range(500):
            missing = await conn.fetchval(
                """SELECT count(*) FROM messages m WHERE m.author_kind = 'customer'
                      AND NOT EXISTS (SELECT 1 FROM message_embeddings e
                                       WHERE e.message_id = m.id)"""
            )
            if missing == 0:
                return
            await asyncio.sleep(0.02)
    raise AssertionError(f"{missing} customer messages still without an embedding")


async def test_an_upset_customer_gets_the_bots_answer_and_the_reply_that_resolved_a_similar_case(
    server: RunningServer,
) -> None:
    await demo.seed_other_brand(server.services.pool)
    sam = await signed_in(server, await person(server, demo.BRAND_SLUG, "supervisor"))
    ines = await signed_in(server, await person(server, demo.OTHER_BRAND_SLUG, "supervisor"))
    returned = await resolved(
        server,
        sam,
        demo.WEBCHAT_INBOX,
        "How do I return these shoes and get a refund?",
        RETURN_REPLY,
    )
    await resolved(
        server, sam, demo.WEBCHAT_INBOX, "The password reset email never arrives", PASSWORD_REPLY
    )
    # The other brand's agents answered the same question: none of their words may show.
    await resolved(
        server,
        ines,
        demo.OTHER_WEBCHAT_INBOX,
        "How do I return these shoes and get a refund?",
        "OUTDOOR ONLY: returns go through our partner shop.",
    )
    now = await conversation_in(
        server,
        demo.WEBCHAT_INBOX,
        "This is ridiculous, I want to return the shoes and get a refund",
    )
    await understood(server, now.conversation_id, "return_refund", "en", -0.8)
    await embedded(server)

    response = await sam.get(f"/console/api/conversations/{now.conversation_id}/suggestions")
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["language"] == "en"
    assert answer["tone"] == "negative"
    first, second = answer["suggestions"][:2]
    assert first["source"] == "bot"
    assert first["intent"] == "return_refund"
    assert first["response"] == "utter_return_refund"
    # An apology first, then the bot's own answer to returns.
    assert first["text"].startswith("I'm sorry for the trouble")
    assert "return any item within 30 days" in first["text"]
    assert first["adapted"] == ["apology"]
    assert first["text"].startswith(first["opening"])
    assert second["source"] == "similar"
    assert second["conversation_id"] == returned.conversation_id
    assert second["text"].endswith(RETURN_REPLY)
    assert second["similarity"] > 0.5
    texts = [s["text"] for s in answer["suggestions"]]
    assert not any("OUTDOOR" in t for t in texts)
    assert len(answer["suggestions"]) <= 3
    # The other brand's supervisor: no such conversation.
    unseen = await ines.get(f"/console/api/conversations/{now.conversation_id}/suggestions")
    assert unseen.status_code == 404
    missing = await sam.get(f"/console/api/conversations/{uuid.uuid4()}/suggestions")
    assert missing.status_code == 404
    await sam.aclose()
    await ines.aclose()


async def test_a_calm_french_customer_gets_french_answers_without_an_apology(
    server: RunningServer,
) -> None:
    sam = await signed_in(server, await person(server, demo.BRAND_SLUG, "supervisor"))
    english = await resolved(
        server, sam, demo.WEBCHAT_INBOX, "comment retourner un article", RETURN_REPLY
    )
    await understood(server, english.conversation_id, "return_refund", "en", 0.0)
    french = await resolved(
        server, sam, demo.WEBCHAT_INBOX, "comment retourner un article", FRENCH_RETURN_REPLY
    )
    await understood(server, french.conversation_id, "return_refund", "fr", 0.0)
    now = await conversation_in(
        server, demo.WEBCHAT_INBOX, "Bonjour, comment retourner un article ?"
    )
    await understood(server, now.conversation_id, "return_refund", "fr", 0.3)
    await embedded(server)

    answer = (await sam.get(f"/console/api/conversations/{now.conversation_id}/suggestions")).json()
    assert answer["language"] == "fr"
    assert answer["tone"] == "neutral"
    bot, *similar = answer["suggestions"]
    assert bot["text"].startswith("Vous pouvez retourner un article sous 30 jours")
    assert bot["adapted"] == []
    assert bot["opening"] is None
    # The reply given in English answered an English-speaking customer: not offered here.
    assert [s["text"] for s in similar] == [FRENCH_RETURN_REPLY]
    assert similar[0]["conversation_id"] == french.conversation_id
    await sam.aclose()


async def test_a_teammate_sees_no_reply_from_a_conversation_outside_their_reach(
    server: RunningServer,
) -> None:
    shop, _ = await two_brands(server)
    sam = await signed_in(server, await person(server, demo.BRAND_SLUG, "supervisor"))
    past = await resolved(
        server, sam, demo.WEBCHAT_INBOX, "my parcel is late again", "It ships tomorrow."
    )
    async with server.services.pool.acquire() as conn:
        # The past conversation belonged to a team the agent below is not in.
        team = await conn.fetchval(
            "INSERT INTO teams (brand_id, slug, name) SELECT brand_id, 'vip', 'VIP'"
            " FROM conversations WHERE id = $1::uuid RETURNING id",
            past.conversation_id,
        )
        await conn.execute(
            "UPDATE conversations SET team_id = $2 WHERE id = $1::uuid", past.conversation_id, team
        )
    await embedded(server)
    path = f"/console/api/conversations/{shop.conversation_id}/suggestions"
    assert [s["text"] for s in (await sam.get(path)).json()["suggestions"]] == [
        "It ships tomorrow."
    ]
    async with server.services.pool.acquire() as conn:
        own_team = await conn.fetchval(
            "SELECT t.slug FROM conversations c JOIN teams t ON t.id = c.team_id"
            " WHERE c.id = $1::uuid",
            shop.conversation_id,
        )
    alex = await signed_in(server, await person(server, demo.BRAND_SLUG, "agent", [own_team]))
    assert (await alex.get(path)).status_code == 200
    assert (await alex.get(path)).json()["suggestions"] == []
    await sam.aclose()
    await alex.aclose()


async def test_a_changed_text_loses_its_vector_and_is_embedded_again(
    server: RunningServer,
) -> None:
    shop, _ = await two_brands(server)
    await embedded(server)
    async with server.services.pool.acquire() as conn:
        before = await conn.fetchval(
            "SELECT embedding::text FROM message_embeddings WHERE message_id = $1",
            shop.message_id,
        )
        # As an erasure does (server/store/privacy.py): the text becomes a tombstone.
        await conn.execute("UPDATE messages SET text = '[erased]' WHERE id = $1", shop.message_id)
        assert (
            await conn.fetchval(
                "SELECT count(*) FROM message_embeddings WHERE message_id = $1", shop.message_id
            )
            == 0
        )
    assert server.services.embedder is not None
    assert await server.services.embedder.embed_pending() == 1
    async with server.services.pool.acquire() as conn:
        after = await conn.fetchval(
            "SELECT embedding::text FROM message_embeddings WHERE message_id = $1",
            shop.message_id,
        )
    assert after is not None
    assert after != before
