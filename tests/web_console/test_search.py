"""Search finds words in messages and customers by name or address, only where the agent
may see: another brand's customer is never found."""

from __future__ import annotations

from server.services import demo
from server.store import privacy
from tests.harness import RunningServer
from tests.web_console.brands import message_from, person, signed_in, two_brands


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
    assert (await sam.get("/console/api/search", params={"q": "erased"})).json()["messages"]
    await sam.aclose()
