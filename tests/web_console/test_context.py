"""The context panel: the whole customer beside the conversation, in one call."""

from __future__ import annotations

from uuid import UUID

from server.services import demo
from server.services.kb import Author
from server.store import kb_feedback
from server.store.kb import Draft
from tests.harness import RunningServer
from tests.web_console.brands import message_from, person, signed_in, two_brands


async def test_the_panel_shows_the_customer_their_past_conversation_orders_and_the_handoff(
    server: RunningServer,
) -> None:
    shop, outdoor = await two_brands(server)
    sam = await signed_in(server, await person(server, demo.BRAND_SLUG, "supervisor"))
    first = f"/console/api/conversations/{shop.conversation_id}"
    assert (await sam.post(f"{first}/claim")).status_code == 200
    assert (await sam.post(f"{first}/resolve")).status_code == 200
    async with server.services.pool.acquire() as conn:
        await conn.execute(
            "UPDATE orders SET contact_id = $1::uuid WHERE number = '10234'", shop.contact_id
        )
    # The customer writes again: a new conversation, the first one now in their history.
    await message_from(server, demo.WEBCHAT_INBOX, shop, "the parcel never came")
    await server.services.pipeline.settled()
    listed = (await sam.get("/console/api/conversations")).json()["conversations"]
    second = next(c["id"] for c in listed if c["contact"]["id"] == shop.contact_id)
    response = await sam.get(f"/console/api/conversations/{second}/context")
    assert response.status_code == 200, response.text
    panel = response.json()
    assert panel["customer"]["id"] == shop.contact_id
    assert [i["channel"] for i in panel["customer"]["identities"]] == ["webchat"]
    assert [(c["id"], c["status"]) for c in panel["conversations"]] == [
        (shop.conversation_id, "resolved")
    ]
    assert [o["number"] for o in panel["orders"]] == ["10234"]
    # With the bot off every conversation is handed over at once: the trigger is the first
    # message of the new conversation.
    assert panel["handoff"]["reason"] == "no_bot"
    assert panel["handoff"]["text"] == "the parcel never came"
    # The open one was never resolved: no rating asked; the resolved one asked, unanswered.
    assert panel["csat"] is None
    done = (await sam.get(f"{first}/context")).json()["csat"]
    assert done["asked_at"] is not None
    assert (done["rating"], done["comment"], done["answered_at"]) == (None, None, None)
    # Another brand's supervisor: no such conversation.
    ines = await signed_in(server, await person(server, demo.OTHER_BRAND_SLUG, "supervisor"))
    assert (await ines.get(f"/console/api/conversations/{second}/context")).status_code == 404
    assert (
        await ines.get(f"/console/api/conversations/{outdoor.conversation_id}/context")
    ).status_code == 200
    await sam.aclose()
    await ines.aclose()


async def test_the_panel_shows_the_articles_used_and_resolving_settles_the_bots(
    server: RunningServer,
) -> None:
    """The articles used in the conversation, in order, with their verdicts; resolving a
    conversation where the bot's articles were followed by no handoff marks them resolved
    (source no_handoff), leaving a verdict already given alone."""
    shop, _ = await two_brands(server)
    kb = server.services.kb
    assert kb is not None
    author = Author(None, "Editor")
    gift = await kb.create(
        demo.BRAND_SLUG,
        Draft("en", "", "Gift cards", "From 10 euros.", "", [], "published"),
        author,
    )
    wrap = await kb.create(
        demo.BRAND_SLUG, Draft("en", "", "Gift wrap", "At checkout.", "", [], "published"), author
    )
    conversation = UUID(shop.conversation_id)
    async with server.services.pool.acquire() as conn:
        brand = await conn.fetchval(
            "SELECT brand_id FROM conversations WHERE id = $1", conversation
        )
        await kb_feedback.record_uses(conn, brand, conversation, [gift.id, wrap.id], "shown_by_bot")
        await kb_feedback.set_outcome(conn, wrap.id, conversation, brand, "not_helpful", "customer")
    sam = await signed_in(server, await person(server, demo.BRAND_SLUG, "supervisor"))
    path = f"/console/api/conversations/{shop.conversation_id}"
    shown = (await sam.get(f"{path}/context")).json()["articles"]
    assert [(a["title"], a["kind"], a["position"], a["outcome"]) for a in shown] == [
        ("Gift cards", "shown_by_bot", 0, None),
        ("Gift wrap", "shown_by_bot", 1, "not_helpful"),
    ]
    assert shown[0]["url"] == "/help/demo/en/gift-cards"
    assert (await sam.post(f"{path}/claim")).status_code == 200
    assert (await sam.post(f"{path}/resolve")).status_code == 200
    shown = (await sam.get(f"{path}/context")).json()["articles"]
    assert [(a["outcome"], a["source"]) for a in shown] == [
        ("resolved", "no_handoff"),
        ("not_helpful", "customer"),
    ]
    await sam.aclose()
