"""Brand isolation on every console path: another brand's conversation does not exist for
an agent (404 on every route, absent from every list, no event on the socket), and a role
that only reads cannot act."""

from __future__ import annotations

import orjson

from server.services import demo
from server.store import organisation as org
from tests.harness import RunningServer
from tests.web_console.brands import message_from, person, signed_in, two_brands
from tests.web_console.console_client import console_socket


async def test_an_agent_of_one_brand_finds_nothing_of_the_other_on_any_route(
    server: RunningServer,
) -> None:
    shop, outdoor = await two_brands(server)
    noor_email = await person(server, demo.OTHER_BRAND_SLUG, "agent", ["support"])
    noor = await signed_in(server, noor_email)
    listed = (await noor.get("/console/api/conversations")).json()["conversations"]
    assert [c["id"] for c in listed] == [outdoor.conversation_id]
    resolved = await noor.get("/console/api/conversations?status=bot,queued,assigned,resolved")
    assert shop.conversation_id not in resolved.text
    queue = (await noor.get("/console/api/queue")).json()["queue"]
    assert {c["id"] for c in queue} <= {outdoor.conversation_id}
    c = f"/console/api/conversations/{shop.conversation_id}"
    m = f"/console/api/messages/{shop.message_id}"
    for method, path, body in [
        ("GET", c, None),
        ("GET", f"{c}/messages", None),
        ("GET", f"{m}/attachments/0", None),
        ("GET", f"{m}/original", None),
        ("POST", f"{c}/claim", None),
        ("POST", f"{c}/resolve", None),
        ("POST", f"{c}/return-to-bot", None),
        ("POST", f"{c}/transfer", {"team_id": None, "agent_id": "x"}),
        ("POST", f"{c}/merge-contact", {"contact": "anyone@example.test"}),
        ("POST", f"{c}/messages", {"text": "hi", "client_id": "c1"}),
    ]:
        response = await noor.request(method, path, json=body)
        assert response.status_code == 404, (method, path, response.text)
    # Their own brand's conversation is theirs to work.
    own = f"/console/api/conversations/{outdoor.conversation_id}"
    assert (await noor.get(own)).status_code == 200
    assert (await noor.get(f"/console/api/messages/{outdoor.message_id}/attachments/0")).content
    assert (await noor.post(f"{own}/claim")).status_code == 200
    assert (await noor.post(f"{own}/resolve")).status_code == 200
    # Who did what is on record, with the brand; the refused attempts changed nothing.
    async with server.services.pool.acquire() as conn:
        entries = await conn.fetch(
            "SELECT action, actor_label, brand_id::text, target_id FROM audit_log"
            " WHERE action LIKE 'conversation.%' ORDER BY id"
        )
    brand_id = (await noor.get(own)).json()["brand_id"]
    assert [tuple(e) for e in entries] == [
        ("conversation.claimed", noor_email, brand_id, outdoor.conversation_id),
        ("conversation.resolved", noor_email, brand_id, outdoor.conversation_id),
    ]
    directory = (await noor.get("/console/api/directory")).json()
    assert {t["brand_id"] for t in directory["teams"]} == {(await noor.get(own)).json()["brand_id"]}
    await noor.aclose()


async def test_the_console_socket_carries_only_the_events_of_conversations_the_agent_may_see(
    server: RunningServer,
) -> None:
    shop, outdoor = await two_brands(server)
    noor = await signed_in(
        server, await person(server, demo.OTHER_BRAND_SLUG, "agent", ["support"])
    )
    # Replayed from the start: only the outdoor brand's events.
    ws, hello = await console_socket(server, noor, 0)
    replayed = {f["conversation_id"] for f in hello["replayed"] if f["type"] == "event"}
    assert replayed == {outdoor.conversation_id}
    # Live: the shop's customer writes first, then the outdoor one; Noor receives the
    # outdoor message and nothing of the shop before it (events arrive in id order).
    shop_message = await message_from(server, demo.WEBCHAT_INBOX, shop, "still late")
    outdoor_message = await message_from(server, demo.OTHER_WEBCHAT_INBOX, outdoor, "hello?")
    assert shop_message < outdoor_message
    while True:
        frame = orjson.loads(await ws.recv())
        if frame["type"] != "event":
            continue
        assert frame["conversation_id"] == outdoor.conversation_id, frame
        if frame["name"] == "message.created" and frame["data"]["message"]["id"] == outdoor_message:
            break
    await ws.close()
    await noor.aclose()


async def test_a_colleague_of_two_brands_shows_each_console_only_their_shared_brand(
    server: RunningServer,
) -> None:
    """An agent.updated event names the colleague's roles, teams and load; a console of one
    brand sees those of that brand only, not the colleague's work for another brand."""
    _shop, outdoor = await two_brands(server)
    both = await person(server, demo.BRAND_SLUG, "agent", ["billing"])
    async with server.services.pool.acquire() as conn:
        await org.update_agent(conn, both, teams=["support"], brand=demo.OTHER_BRAND_SLUG)
    noor = await signed_in(
        server, await person(server, demo.OTHER_BRAND_SLUG, "agent", ["support"])
    )
    ws, _hello = await console_socket(server, noor, 0)
    colleague = await signed_in(server, both)
    assert (await colleague.post("/console/api/me/status", json={"status": "away"})).is_success
    while True:
        frame = orjson.loads(await ws.recv())
        if frame.get("name") == "agent.updated" and frame["data"]["agent"]["email"] == both:
            break
    seen = frame["data"]["agent"]
    outdoor_id = (await noor.get(f"/console/api/conversations/{outdoor.conversation_id}")).json()[
        "brand_id"
    ]
    assert list(seen["roles"]) == [outdoor_id]
    assert seen["teams"] == ["support"]
    assert "brands" not in seen
    await ws.close()
    await noor.aclose()
    await colleague.aclose()
