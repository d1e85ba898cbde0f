"""CSAT: resolving asks the customer to rate the conversation on their channel; a number
sent back answers it (with a comment) instead of opening a new conversation; anything else
opens one as before."""

from __future__ import annotations

from channels.base import InboundMessage, Sender
from server.services import demo
from tests.harness import RunningServer
from tests.web_console.brands import message_from, person, signed_in, two_brands


async def test_a_resolved_conversation_is_rated_by_the_customer(server: RunningServer) -> None:
    shop, _ = await two_brands(server)
    lea = await signed_in(server, await person(server, demo.BRAND_SLUG, "agent", ["support"]))
    path = f"/console/api/conversations/{shop.conversation_id}"
    assert (await lea.post(f"{path}/claim")).status_code == 200
    assert (await lea.post(f"{path}/resolve")).status_code == 200
    messages = (await lea.get(f"{path}/messages")).json()["messages"]
    assert "Reply with a number from 1 (poor) to 5 (great)" in messages[-1]["text"]
    # A retried resolve asks nothing more.
    assert (await lea.post(f"{path}/resolve")).status_code == 409

    await message_from(server, demo.WEBCHAT_INBOX, shop, "4 - quick, thanks Léa")
    async with server.services.pool.acquire() as conn:
        survey = await conn.fetchrow(
            "SELECT rating, comment, agent_id::text FROM csat WHERE conversation_id = $1::uuid",
            shop.conversation_id,
        )
        conversations = await conn.fetchval(
            "SELECT count(*) FROM conversations WHERE contact_id = $1::uuid", shop.contact_id
        )
    assert survey is not None
    assert (survey["rating"], survey["comment"]) == (4, "quick, thanks Léa")
    assert survey["agent_id"] == (await lea.get("/console/api/me")).json()["agent"]["id"]
    assert conversations == 1  # the answer stayed in the resolved conversation
    transcript = (await lea.get(f"{path}/messages")).json()["messages"]
    assert [m["text"] for m in transcript[-2:]] == [
        "4 - quick, thanks Léa",
        "Thank you for your feedback!",
    ]
    panel = (await lea.get(f"{path}/context")).json()
    assert panel["customer"]["id"] == shop.contact_id

    # Once answered, a number is a message like any other: a new conversation.
    await message_from(server, demo.WEBCHAT_INBOX, shop, "5")
    await server.services.pipeline.settled()
    async with server.services.pool.acquire() as conn:
        count = await conn.fetchval(
            "SELECT count(*) FROM conversations WHERE contact_id = $1::uuid", shop.contact_id
        )
    assert count == 2
    await lea.aclose()


async def test_words_after_the_question_open_a_new_conversation(server: RunningServer) -> None:
    shop, _ = await two_brands(server)
    sam = await signed_in(server, await person(server, demo.BRAND_SLUG, "supervisor"))
    path = f"/console/api/conversations/{shop.conversation_id}"
    assert (await sam.post(f"{path}/claim")).status_code == 200
    assert (await sam.post(f"{path}/resolve")).status_code == 200
    await message_from(server, demo.WEBCHAT_INBOX, shop, "actually, one more question")
    await server.services.pipeline.settled()
    async with server.services.pool.acquire() as conn:
        rating = await conn.fetchval(
            "SELECT rating FROM csat WHERE conversation_id = $1::uuid", shop.conversation_id
        )
        opened = await conn.fetchval(
            "SELECT count(*) FROM conversations"
            " WHERE contact_id = $1::uuid AND status <> 'resolved'",
            shop.contact_id,
        )
    assert rating is None
    assert opened == 1
    await sam.aclose()


async def test_a_comment_sent_apart_from_its_rating_is_kept_once_within_a_day(
    server: RunningServer,
) -> None:
    """For a channel whose buttons carry only the number (Slack): the comment sent after it
    is kept with the rating and in the transcript; not before a rating, not a second one,
    not a day after the rating."""
    shop, _ = await two_brands(server)
    sam = await signed_in(server, await person(server, demo.BRAND_SLUG, "supervisor"))
    path = f"/console/api/conversations/{shop.conversation_id}"
    assert (await sam.post(f"{path}/claim")).status_code == 200
    assert (await sam.post(f"{path}/resolve")).status_code == 200
    pipeline, pool = server.services.pipeline, server.services.pool

    def comment(text: str, n: int) -> InboundMessage:
        return InboundMessage(
            channel="webchat",
            inbox_address=demo.WEBCHAT_INBOX,
            external_id=f"comment-{shop.conversation_id}-{n}",
            sender=Sender(external_id="ignored"),
            text=text,
        )

    assert not await pipeline.comment_rating(shop.conversation_id, comment("too soon", 1))
    await message_from(server, demo.WEBCHAT_INBOX, shop, "2")
    assert await pipeline.comment_rating(shop.conversation_id, comment("slow", 2))
    assert not await pipeline.comment_rating(shop.conversation_id, comment("very slow", 3))
    async with pool.acquire() as conn:
        kept = await conn.fetchrow(
            "SELECT rating, comment FROM csat WHERE conversation_id = $1::uuid",
            shop.conversation_id,
        )
        assert kept is not None
        assert (kept["rating"], kept["comment"]) == (2, "slow")
        # A day later (its comment since erased, say), none is taken any more.
        await conn.execute(
            "UPDATE csat SET comment = NULL, answered_at = now() - interval '25 hours'"
            " WHERE conversation_id = $1::uuid",
            shop.conversation_id,
        )
    assert not await pipeline.comment_rating(shop.conversation_id, comment("late", 4))
    transcript = (await sam.get(f"{path}/messages")).json()["messages"]
    said = [m["text"] for m in transcript if m["author_kind"] == "customer"]
    assert said[-2:] == ["2", "slow"]
    await sam.aclose()
