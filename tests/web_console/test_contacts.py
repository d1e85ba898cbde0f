"""A contact's data rights from the console: a supervisor of the contact's brand exports and
erases it; an agent there may not; another brand's people find no such contact."""

from __future__ import annotations

import io
import zipfile

from server.services import demo
from tests.harness import RunningServer
from tests.web_console.brands import person, signed_in, two_brands


async def test_a_supervisor_exports_and_erases_a_contact_of_their_brand_only(
    server: RunningServer,
) -> None:
    shop, _ = await two_brands(server)
    ines = await signed_in(server, await person(server, demo.OTHER_BRAND_SLUG, "supervisor"))
    lea = await signed_in(server, await person(server, demo.BRAND_SLUG, "agent", ["support"]))
    sam = await signed_in(server, await person(server, demo.BRAND_SLUG, "supervisor"))
    path = f"/console/api/contacts/{shop.contact_id}"
    profile = {"phone": "+33 6 12 34 56 78", "notes": "lives at 4 rue X", "labels": ["press"]}
    edited = await sam.patch(
        f"/console/api/conversations/{shop.conversation_id}/contact",
        json={**profile, "time_zone": "Europe/Paris"},
    )
    assert edited.status_code == 200, edited.text
    assert (await ines.get(f"{path}/export")).status_code == 404
    assert (await lea.get(f"{path}/export")).status_code == 403
    exported = await sam.get(f"{path}/export")
    assert exported.status_code == 200
    assert exported.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(exported.content))
    assert b"my parcel is late" in archive.read("messages.json")
    # What agents wrote about them is theirs too.
    for value in ("+33 6 12 34 56 78", "lives at 4 rue X", "press", "Europe/Paris"):
        assert value.encode() in archive.read("contact.json")
    refused = await sam.post(f"{path}/erase", json={"confirm": False})
    assert refused.status_code == 422
    assert (await ines.post(f"{path}/erase", json={"confirm": True})).status_code == 404
    erased = await sam.post(f"{path}/erase", json={"confirm": True})
    assert erased.status_code == 200, erased.text
    messages = await sam.get(f"/console/api/conversations/{shop.conversation_id}/messages")
    assert "my parcel is late" not in messages.text
    card = (await sam.get(f"/console/api/conversations/{shop.conversation_id}/context")).json()
    kept = {k: card["customer"][k] for k in ("phone", "notes", "labels", "time_zone")}
    assert kept == {"phone": None, "notes": None, "labels": [], "time_zone": None}
    async with server.services.pool.acquire() as conn:
        actions = [
            r["action"]
            for r in await conn.fetch(
                "SELECT action FROM audit_log WHERE target_id = $1 ORDER BY id", shop.contact_id
            )
        ]
    assert actions == ["contact.exported", "contact.erased"]
    for http in (ines, lea, sam):
        await http.aclose()
