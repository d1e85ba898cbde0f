"""Editing the customer from the context panel: each field checked, "" clears, the lists
learn the new name live, the audit log names the fields (never their values), look-alike
contacts (same email or phone) are offered and linked, and only those who may act do it."""

from __future__ import annotations

import orjson
import pytest

from server.services import demo
from tests.harness import RunningServer
from tests.web_console.brands import conversation_in, person, signed_in, two_brands
from tests.web_console.console_client import console_socket


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not an email"}, "email"),
        ({"phone": "call me"}, "phone"),
        ({"phone": "+33 1"}, "phone"),
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"labels": ["<b>"]}, "labels"),
        ({"name": "x" * 201}, "name"),
        ({"shoe_size": 42}, "shoe_size"),
        ({}, "body"),
    ],
)
async def test_a_field_that_cannot_be_stored_is_refused_by_name(
    server: RunningServer, body: dict[str, object], field: str
) -> None:
    shop, _ = await two_brands(server)
    lea = await signed_in(server, await person(server, demo.BRAND_SLUG, "agent", ["support"]))
    answer = await lea.patch(
        f"/console/api/conversations/{shop.conversation_id}/contact", json=body
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"].startswith(field)
    await lea.aclose()


async def test_an_agent_edits_the_customer_and_colleagues_see_it(server: RunningServer) -> None:
    shop, outdoor = await two_brands(server)
    lea = await signed_in(server, await person(server, demo.BRAND_SLUG, "agent", ["support"]))
    ana = await signed_in(server, await person(server, demo.BRAND_SLUG, "analyst"))
    noor = await signed_in(
        server, await person(server, demo.OTHER_BRAND_SLUG, "agent", ["support"])
    )
    path = f"/console/api/conversations/{shop.conversation_id}"
    start = (await ana.get("/console/api/conversations")).json()["last_event_id"]
    ws, _ = await console_socket(server, ana, start)

    answer = await lea.patch(
        f"{path}/contact",
        json={
            "name": "  Ana Gomez ",
            "email": "Ana@Example.com",
            "phone": "+33 6 12 34 56 78",
            "notes": "prefers mail; wholesale buyer",
            "labels": ["Wholesale"],
            "time_zone": "Europe/Paris",
        },
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["contact"]["name"] == "Ana Gomez"
    while True:
        frame = orjson.loads(await ws.recv())
        if frame.get("name") == "conversation.updated":
            assert frame["data"]["change"] == "contact_updated"
            assert frame["data"]["conversation"]["contact"]["name"] == "Ana Gomez"
            break
    await ws.close()
    card = (await lea.get(f"{path}/context")).json()["customer"]
    assert (card["email"], card["phone"], card["notes"], card["labels"], card["time_zone"]) == (
        "Ana@example.com",
        "+33 6 12 34 56 78",
        "prefers mail; wholesale buyer",
        ["wholesale"],
        "Europe/Paris",
    )
    # "" clears a field; the others stay.
    assert (await lea.patch(f"{path}/contact", json={"notes": ""})).status_code == 200
    card = (await lea.get(f"{path}/context")).json()["customer"]
    assert card["notes"] is None
    assert card["phone"] == "+33 6 12 34 56 78"

    # The audit log names the fields, never their values.
    async with server.services.pool.acquire() as conn:
        details = await conn.fetch(
            "SELECT detail FROM audit_log WHERE action = 'contact.updated' ORDER BY id"
        )
    logged = [
        orjson.loads(r["detail"]) if isinstance(r["detail"], str) else r["detail"] for r in details
    ]
    assert logged[0]["fields"] == ["name", "email", "phone", "notes", "labels", "time_zone"]
    assert "Ana" not in str(logged)

    # Only those who may act, only where they may see.
    assert (await ana.patch(f"{path}/contact", json={"name": "x"})).status_code == 403
    assert (await noor.patch(f"{path}/contact", json={"name": "x"})).status_code == 404
    _ = outdoor
    for http in (lea, ana, noor):
        await http.aclose()


async def test_a_look_alike_of_the_brand_is_offered_and_linked(server: RunningServer) -> None:
    shop, outdoor = await two_brands(server)
    other = await conversation_in(server, demo.WEBCHAT_INBOX, "hello again")
    foreign = outdoor
    lea = await signed_in(server, await person(server, demo.BRAND_SLUG, "agent", ["support"]))
    noor = await signed_in(
        server, await person(server, demo.OTHER_BRAND_SLUG, "agent", ["support"])
    )
    path = f"/console/api/conversations/{shop.conversation_id}"
    for conversation, http in ((other.conversation_id, lea), (foreign.conversation_id, noor)):
        changed = await http.patch(
            f"/console/api/conversations/{conversation}/contact", json={"email": "ana@example.com"}
        )
        assert changed.status_code == 200, changed.text
    assert (await lea.patch(f"{path}/contact", json={"email": "ANA@example.com"})).is_success

    # Only the same brand's contact: the outdoor brand's Ana is another brand's customer.
    [alike] = (await lea.get(f"{path}/context")).json()["customer"]["look_alikes"]
    assert alike == {
        "contact_id": other.contact_id,
        "name": "Customer of demo-web",
        "channels": ["webchat"],
        "why": "same email",
        "proven": False,  # typed by web chat visitors: the panel warns before linking
    }
    # An agent whose team does not see that contact's conversations is not told of it.
    async with server.services.pool.acquire() as conn:
        await conn.execute(
            "UPDATE conversations SET team_id = (SELECT id FROM teams WHERE slug = 'billing'"
            " AND brand_id = conversations.brand_id) WHERE id = $1::uuid",
            other.conversation_id,
        )
    assert (await lea.get(f"{path}/context")).json()["customer"]["look_alikes"] == []
    async with server.services.pool.acquire() as conn:
        await conn.execute(
            "UPDATE conversations SET team_id = (SELECT id FROM teams WHERE slug = 'support'"
            " AND brand_id = conversations.brand_id) WHERE id = $1::uuid",
            other.conversation_id,
        )
    # (Two open web chats of one inbox cannot become one person's: the other one ended.)
    done = f"/console/api/conversations/{other.conversation_id}"
    assert (await lea.post(f"{done}/claim")).is_success
    assert (await lea.post(f"{done}/resolve")).is_success
    linked = await lea.post(f"{path}/merge-contact", json={"contact": alike["contact_id"]})
    assert linked.status_code == 200, linked.text
    card = (await lea.get(f"{path}/context")).json()["customer"]
    assert card["look_alikes"] == []
    assert len(card["identities"]) == 2
    for http in (lea, noor):
        await http.aclose()


async def test_a_typed_email_is_not_proof_and_an_erased_customer_stays_empty(
    server: RunningServer,
) -> None:
    shop, _ = await two_brands(server)
    sam = await signed_in(server, await person(server, demo.BRAND_SLUG, "supervisor"))
    path = f"/console/api/conversations/{shop.conversation_id}"
    pool = server.services.pool
    await pool.execute("UPDATE contacts SET verified = true WHERE id = $1::uuid", shop.contact_id)
    await pool.execute(
        "INSERT INTO contact_identities (contact_id, channel, external_id)"
        " VALUES ($1::uuid, 'email', 'ana@example.com')",
        shop.contact_id,
    )
    verified = "SELECT verified FROM contacts WHERE id = $1::uuid"
    # Mail joins contacts by a verified address: an address only typed stops vouching.
    assert (await sam.patch(f"{path}/contact", json={"email": "typo@exmaple.com"})).is_success
    assert await pool.fetchval(verified, shop.contact_id) is False
    # The address one of its identities proves vouches again.
    assert (await sam.patch(f"{path}/contact", json={"email": "ANA@example.com"})).is_success
    assert await pool.fetchval(verified, shop.contact_id) is True
    # A name change leaves it as it is.
    assert (await sam.patch(f"{path}/contact", json={"name": "Ana"})).is_success
    assert await pool.fetchval(verified, shop.contact_id) is True

    erased = await sam.post(
        f"/console/api/contacts/{shop.contact_id}/erase", json={"confirm": True}
    )
    assert erased.status_code == 200, erased.text
    refused = await sam.patch(f"{path}/contact", json={"name": "Ana again"})
    assert refused.status_code == 409
    assert "erased" in refused.json()["error"]
    assert (
        await pool.fetchval("SELECT name FROM contacts WHERE id = $1::uuid", shop.contact_id)
        is None
    )
    await sam.aclose()
