"""Search finds words in messages and customers by name or address, only where the agent
may see: another brand's customer is never found. Words are stemmed in each message's
language (English, French; others as written) and accents are optional on either side."""

from __future__ import annotations

import httpx

from server import store
from server.services import demo
from server.store import privacy
from tests.harness import RunningServer
from tests.web_console.brands import conversation_in, message_from, person, signed_in, two_brands


async def _found(client: httpx.AsyncClient, q: str) -> list[str]:
    """The texts of the messages the search finds, newest first."""
    response = await client.get("/console/api/search", params={"q": q})
    assert response.status_code == 200, response.text
    return [m["text"] for m in response.json()["messages"]]


async def test_search_finds_words_and_customers_only_in_the_agents_reach(
    server: RunningServer,
) -> None:
    shop, outdoor = await two_brands(server)
    await message_from(server, demo.WEBCHAT_INBOX, shop, "the zipper on my backpack broke")
    await message_from(server, demo.OTHER_WEBCHAT_INBOX, outdoor, "the zipper on my tent broke")
    sam = await signed_in(server, await person(server, demo.BRAND_SLUG, "supervisor"))
    noor = await signed_in(
        server, await person(server, demo.OTHER_BRAND_SLUG, "agent", ["support"])
    )
    found = (await sam.get("/console/api/search", params={"q": "zipper"})).json()
    assert [m["conversation_id"] for m in found["messages"]] == [shop.conversation_id]
    assert found["messages"][0]["text"] == "the zipper on my backpack broke"
    assert found["next_before"] is None
    theirs = (await noor.get("/console/api/search", params={"q": "zipper"})).json()
    assert [m["conversation_id"] for m in theirs["messages"]] == [outdoor.conversation_id]
    # A phrase, and a customer by name (brands.py names them after their inbox).
    phrase = (await sam.get("/console/api/search", params={"q": '"backpack broke"'})).json()
    assert len(phrase["messages"]) == 1
    by_name = (await sam.get("/console/api/search", params={"q": "customer"})).json()
    assert [c["id"] for c in by_name["conversations"]] == [shop.conversation_id]
    by_name_there = (await noor.get("/console/api/search", params={"q": "customer"})).json()
    assert [c["id"] for c in by_name_there["conversations"]] == [outdoor.conversation_id]
    # Hostile or empty input is a clear 422 or simply no match, never a 500.
    assert (await sam.get("/console/api/search", params={"q": ""})).status_code == 422
    assert (
        await sam.get("/console/api/search", params={"q": "x", "before": "0"})
    ).status_code == 422
    odd = await sam.get("/console/api/search", params={"q": "'&|!(:*) \\"})
    assert odd.status_code == 200
    await sam.aclose()
    await noor.aclose()


async def test_search_pages_through_every_match_without_cutting(server: RunningServer) -> None:
    shop, _ = await two_brands(server)
    for n in range(60):
        await message_from(server, demo.WEBCHAT_INBOX, shop, f"invoice question number {n}")
    sam = await signed_in(server, await person(server, demo.BRAND_SLUG, "supervisor"))
    seen: list[int] = []
    before: int | None = None
    while True:
        params = {"q": "invoice"} | ({"before": str(before)} if before else {})
        page = (await sam.get("/console/api/search", params=params)).json()
        seen += [m["message_id"] for m in page["messages"]]
        before = page["next_before"]
        if before is None:
            break
    assert len(seen) == len(set(seen)) == 60
    assert seen == sorted(seen, reverse=True)
    await sam.aclose()


async def test_search_follows_a_message_whose_text_is_erased(server: RunningServer) -> None:
    """The words searched are stored with each message (migration 0021): when a customer is
    erased and their messages' text replaced, their old words are no longer found."""
    shop, _ = await two_brands(server)
    await message_from(server, demo.WEBCHAT_INBOX, shop, "my passport number is X1234567")
    sam = await signed_in(server, await person(server, demo.BRAND_SLUG, "supervisor"))
    found = (await sam.get("/console/api/search", params={"q": "passport"})).json()
    assert [m["conversation_id"] for m in found["messages"]] == [shop.conversation_id]
    async with server.services.pool.acquire() as conn, conn.transaction():
        await privacy.erase_contact(conn, shop.contact_id)
    gone = (await sam.get("/console/api/search", params={"q": "passport"})).json()
    assert gone["messages"] == []
    # Nor by another form of the word, nor by the number.
    assert await _found(sam, "passports") == []
    assert await _found(sam, "X1234567") == []
    assert (await sam.get("/console/api/search", params={"q": "erased"})).json()["messages"]
    await sam.aclose()


async def test_english_words_are_found_by_their_other_forms(server: RunningServer) -> None:
    """An English message's words are stemmed: "orders" finds "order", "ordered" too; and an
    agent's reply, which has no language of its own, is stemmed in its conversation's."""
    shop, _ = await two_brands(server)
    said = "I ordered two jackets last week and neither order has arrived"
    await message_from(server, demo.WEBCHAT_INBOX, shop, said)
    await server.services.pipeline.settled()
    async with server.services.pool.acquire() as conn:
        language = await conn.fetchval("SELECT language FROM messages WHERE text = $1", said)
        assert language == "en"
        reply = await store.insert_message(
            conn,
            shop.conversation_id,
            direction="out",
            author_kind="agent",
            channel="webchat",
            text="Both parcels were shipped yesterday",
        )
        assert reply is not None
        stored = await conn.fetchval("SELECT language FROM messages WHERE id = $1", reply["id"])
        assert stored is None
    sam = await signed_in(server, await person(server, demo.BRAND_SLUG, "supervisor"))
    for q in ("orders", "order", "ordering", "arrive", "jacket"):
        assert await _found(sam, q) == [said], q
    # (The conversation's first message was "my parcel is late".)
    assert await _found(sam, "parcel") == [
        "Both parcels were shipped yesterday",
        "my parcel is late",
    ]
    assert await _found(sam, '"ship yesterday"') == ["Both parcels were shipped yesterday"]
    # A word the messages do not hold finds nothing.
    assert await _found(sam, "refund") == []
    await sam.aclose()


async def test_french_words_are_found_by_their_other_forms_with_or_without_accents(
    server: RunningServer,
) -> None:
    """A French message is stemmed in French ("livraisons" finds "livraison"), and accents
    may be left out or added on either side ("probleme" finds "problème", "téléphone" finds
    "telephone"), in messages and in customers' names."""
    await demo.seed_other_brand(server.services.pool)
    said = "Bonjour, ma livraison est en retard et le téléphone ne marche pas, quel problème"
    typed = "Je voudrais annuler les commandes passées hier, merci de me rappeler au telephone"
    first = await conversation_in(server, demo.WEBCHAT_INBOX, said)
    await conversation_in(server, demo.WEBCHAT_INBOX, typed)
    async with server.services.pool.acquire() as conn:
        languages = await conn.fetch(
            "SELECT language FROM messages WHERE text = ANY($1::text[])", [said, typed]
        )
        assert {r["language"] for r in languages} == {"fr"}
    sam = await signed_in(server, await person(server, demo.BRAND_SLUG, "supervisor"))
    assert await _found(sam, "livraisons") == [said]
    assert await _found(sam, "retards") == [said]
    assert await _found(sam, "probleme") == [said]
    assert await _found(sam, "problèmes") == [said]
    assert await _found(sam, "commande") == [typed]
    assert await _found(sam, "annulé") == [typed]
    assert set(await _found(sam, "téléphone")) == {said, typed}
    assert set(await _found(sam, "telephones")) == {said, typed}
    # A customer by a name written without its accents, or with them.
    async with server.services.pool.acquire() as conn:
        await conn.execute(
            "UPDATE contacts SET name = 'Hélène Dupré' WHERE id = $1::uuid", first.contact_id
        )
    for q in ("helene", "Hélène", "dupre"):
        response = await sam.get("/console/api/search", params={"q": q})
        assert [c["id"] for c in response.json()["conversations"]] == [first.conversation_id], q
    # Another brand's supervisor finds none of it, in any form.
    noor = await signed_in(server, await person(server, demo.OTHER_BRAND_SLUG, "supervisor"))
    for q in ("livraison", "livraisons", "probleme", "commandes", "telephone", "helene"):
        assert await _found(noor, q) == [], q
        response = await noor.get("/console/api/search", params={"q": q})
        assert response.json()["conversations"] == [], q
    await sam.aclose()
    await noor.aclose()


async def test_a_word_in_another_brand_is_never_found(server: RunningServer) -> None:
    """Whatever form of the word is searched, a brand's messages stay in that brand."""
    _, outdoor = await two_brands(server)
    theirs = "The stitching of my sleeping bags came apart after one night"
    await message_from(server, demo.OTHER_WEBCHAT_INBOX, outdoor, theirs)
    await server.services.pipeline.settled()
    sam = await signed_in(server, await person(server, demo.BRAND_SLUG, "supervisor"))
    noor = await signed_in(
        server, await person(server, demo.OTHER_BRAND_SLUG, "agent", ["support"])
    )
    for q in ("stitching", "stitch", "sleeping", "bag", '"sleeping bag"', "night"):
        assert await _found(sam, q) == [], q
        assert await _found(noor, q) == [theirs], q
    await sam.aclose()
    await noor.aclose()
