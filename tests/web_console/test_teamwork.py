"""Teamwork: internal notes reach colleagues and never the customer; canned responses are
per brand, found by shortcut and filled in for the conversation."""

from __future__ import annotations

import orjson

from server.services import demo
from tests.harness import RunningServer
from tests.web_console.brands import person, signed_in, two_brands
from tests.web_console.console_client import console_socket


async def test_a_note_reaches_colleagues_live_never_the_customer(server: RunningServer) -> None:
    shop, outdoor = await two_brands(server)
    lea_email = await person(server, demo.BRAND_SLUG, "agent", ["support"])
    lea = await signed_in(server, lea_email)
    sam = await signed_in(server, await person(server, demo.BRAND_SLUG, "supervisor"))
    noor = await signed_in(server, await person(server, demo.OTHER_BRAND_SLUG, "agent"))
    people = (await lea.get("/console/api/directory")).json()["agents"]
    sam_id = next(a["id"] for a in people if a["name"] == "supervisor of demo")
    noor_id = (await noor.get("/console/api/me")).json()["agent"]["id"]
    notes = f"/console/api/conversations/{shop.conversation_id}/notes"
    ws, _ = await console_socket(
        server, sam, (await sam.get("/console/api/conversations")).json()["last_event_id"]
    )
    written = await lea.post(
        notes, json={"text": "refund approved, tell them", "mentions": [sam_id]}
    )
    assert written.status_code == 201, written.text
    note = written.json()["note"]
    assert note["mentions"] == [sam_id]
    while True:
        frame = orjson.loads(await ws.recv())
        if frame.get("name") == "note.created":
            assert frame["data"]["note"]["text"] == "refund approved, tell them"
            break
    await ws.close()
    listed = (await sam.get(notes)).json()["notes"]
    assert [n["id"] for n in listed] == [note["id"]]
    # Not a message: the transcript (what the customer sees) does not hold it.
    messages = await sam.get(f"/console/api/conversations/{shop.conversation_id}/messages")
    assert "refund approved" not in messages.text
    async with server.services.pool.acquire() as conn:
        assert not await conn.fetchval(
            "SELECT count(*) FROM messages WHERE text LIKE 'refund approved%'"
        )
    # A colleague of another brand cannot be mentioned (nor read it).
    refused = await lea.post(notes, json={"text": "fyi", "mentions": [noor_id]})
    assert refused.status_code == 422
    assert (await noor.get(notes)).status_code == 404
    _ = outdoor
    for http in (lea, sam, noor):
        await http.aclose()


async def test_canned_responses_are_the_brands_found_by_shortcut_and_filled_in(
    server: RunningServer,
) -> None:
    shop, outdoor = await two_brands(server)
    sam = await signed_in(server, await person(server, demo.BRAND_SLUG, "supervisor"))
    lea = await signed_in(server, await person(server, demo.BRAND_SLUG, "agent", ["support"]))
    ines = await signed_in(server, await person(server, demo.OTHER_BRAND_SLUG, "supervisor"))
    shop_brand = (await sam.get(f"/console/api/conversations/{shop.conversation_id}")).json()[
        "brand_id"
    ]
    body = {
        "brand_id": shop_brand,
        "shortcut": "late",
        "title": "Late parcel",
        "text": "Hello {{contact.name}}, {{agent.name}} here: your parcel is on its way.",
    }
    assert (await lea.post("/console/api/canned-responses", json=body)).status_code == 403
    assert (await ines.post("/console/api/canned-responses", json=body)).status_code == 404
    created = await sam.post("/console/api/canned-responses", json=body)
    assert created.status_code == 201, created.text
    assert (await sam.post("/console/api/canned-responses", json=body)).status_code == 409
    bad = await sam.post(
        "/console/api/canned-responses",
        json={**body, "shortcut": "x", "text": "{{contact.password}}"},
    )
    assert bad.status_code == 422
    assert "unknown variable" in bad.json()["error"]
    found = await lea.get(
        f"/console/api/conversations/{shop.conversation_id}/canned-responses?q=/la"
    )
    assert found.status_code == 200
    [item] = found.json()["canned_responses"]
    assert item["rendered"] == (
        f"Hello Customer of {demo.WEBCHAT_INBOX}, agent of demo here: your parcel is on its way."
    )
    # The other brand's conversation offers the other brand's responses: none.
    other = await ines.get(
        f"/console/api/conversations/{outdoor.conversation_id}/canned-responses?q=late"
    )
    assert other.json()["canned_responses"] == []
    canned_id = created.json()["canned_response"]["id"]
    assert (await ines.delete(f"/console/api/canned-responses/{canned_id}")).status_code == 404
    assert (await sam.delete(f"/console/api/canned-responses/{canned_id}")).status_code == 204
    for http in (sam, lea, ines):
        await http.aclose()
