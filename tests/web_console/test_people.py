"""The admin area: an admin gives an agent roles and teams in a brand; the agent's sessions
end and their next sign-in reaches exactly that; the last admin cannot remove themself."""

from __future__ import annotations

import httpx

from server.services import demo
from tests.harness import RunningServer
from tests.web_console.brands import person, signed_in, two_brands


async def test_an_admin_gives_an_agent_a_brand_and_a_team_and_the_agent_then_sees_it(
    server: RunningServer,
) -> None:
    _, outdoor = await two_brands(server)
    admin_email = await person(server, demo.BRAND_SLUG, "admin")
    admin = await signed_in(server, admin_email)
    kai_email = await person(server, demo.BRAND_SLUG, "agent")
    kai = await signed_in(server, kai_email)
    assert outdoor.conversation_id not in (await kai.get("/console/api/conversations")).text
    area = (await admin.get("/console/api/people")).json()
    brand = next(b for b in area["brands"] if b["slug"] == demo.OTHER_BRAND_SLUG)
    kai_id = next(p["id"] for p in area["people"] if p["email"] == kai_email)
    team = brand["teams"][0]["id"]
    response = await admin.put(
        f"/console/api/people/{kai_id}/access",
        json={"brand_id": brand["id"], "roles": ["agent"], "team_ids": [team]},
    )
    assert response.status_code == 200, response.text
    assert response.json()["person"]["roles"][brand["id"]] == ["agent"]
    # New roles end the old session; the next one sees the outdoor conversation.
    assert (await kai.get("/console/api/conversations")).status_code == 401
    await kai.aclose()
    kai = await signed_in(server, kai_email)
    assert outdoor.conversation_id in (await kai.get("/console/api/conversations")).text
    async with server.services.pool.acquire() as conn:
        entry = await conn.fetchrow(
            "SELECT actor_label, target_id FROM audit_log WHERE action = 'agent.access_changed'"
        )
    assert entry is not None
    assert (entry["actor_label"], entry["target_id"]) == (admin_email, kai_id)
    # A team of another brand is refused with a reason; nothing changes.
    demo_brand = next(b for b in area["brands"] if b["slug"] == demo.BRAND_SLUG)
    refused = await admin.put(
        f"/console/api/people/{kai_id}/access",
        json={"brand_id": demo_brand["id"], "roles": ["agent"], "team_ids": [team]},
    )
    assert refused.status_code == 422
    assert "belong to the brand" in refused.json()["error"]
    # An agent may not use the area at all.
    assert (await kai.get("/console/api/people")).status_code == 403
    await kai.aclose()
    await admin.aclose()


async def test_the_last_admin_cannot_stop_being_one(server: RunningServer) -> None:
    async with server.services.pool.acquire() as conn:
        await conn.execute("UPDATE agents SET role = 'member'")  # the demo admin steps aside
    email = await person(server, demo.BRAND_SLUG, "admin")
    admin = await signed_in(server, email)
    area = (await admin.get("/console/api/people")).json()
    me = next(p["id"] for p in area["people"] if p["email"] == email)
    brand = area["brands"][0]["id"]
    response = await admin.put(
        f"/console/api/people/{me}/access", json={"brand_id": brand, "roles": ["agent"]}
    )
    assert response.status_code == 409
    assert "admin must remain" in response.json()["error"]
    assert (await admin.get("/console/api/people")).status_code == 200  # still an admin
    await admin.aclose()


async def test_admins_read_the_audit_log_filtered_a_page_at_a_time(server: RunningServer) -> None:
    shop, _ = await two_brands(server)
    admin = await signed_in(server, await person(server, demo.BRAND_SLUG, "admin"))
    lea = await signed_in(server, await person(server, demo.BRAND_SLUG, "agent", ["support"]))
    path = f"/console/api/conversations/{shop.conversation_id}"
    assert (await lea.post(f"{path}/claim")).status_code == 200
    assert (await lea.post(f"{path}/resolve")).status_code == 200
    page = (await admin.get("/console/api/audit", params={"action": "conversation."})).json()
    assert [e["action"] for e in page["entries"]] == [
        "conversation.resolved",
        "conversation.claimed",
    ]
    logins = (await admin.get("/console/api/audit", params={"action": "agent.login"})).json()
    assert logins["entries"]
    first = (await admin.get("/console/api/audit")).json()
    if first["next"] is not None:
        older = await admin.get("/console/api/audit", params={"before": first["next"]})
        assert older.json()["entries"][0]["id"] < first["entries"][-1]["id"] + 1
    assert (await lea.get("/console/api/audit")).status_code == 403
    bad = await admin.get("/console/api/audit", params={"since": "last tuesday"})
    assert bad.status_code == 422
    assert "ISO 8601" in bad.json()["error"]
    await admin.aclose()
    await lea.aclose()


async def test_an_admin_invites_a_colleague_who_sets_a_password_and_reaches_the_brand(
    server: RunningServer,
) -> None:
    _, outdoor = await two_brands(server)
    admin = await signed_in(server, await person(server, demo.BRAND_SLUG, "admin"))
    area = (await admin.get("/console/api/people")).json()
    brand = next(b for b in area["brands"] if b["slug"] == demo.OTHER_BRAND_SLUG)
    body = {
        "email": "kim@outdoor.example",
        "name": "Kim",
        "brand_id": brand["id"],
        "roles": ["agent"],
        "team_ids": [t["id"] for t in brand["teams"]],
    }
    made = await admin.post("/console/api/people", json=body)
    assert made.status_code == 201, made.text
    invited = made.json()
    assert invited["person"]["roles"] == {brand["id"]: ["agent"]}
    assert (await admin.post("/console/api/people", json=body)).status_code == 409
    # No relay in this server: the link comes back to hand over. It sets the password.
    assert invited["mailed"] is False
    token = invited["link"].split("#", 1)[1].split("=", 1)[-1]
    password = "a long and unusual passphrase 42"
    async with httpx.AsyncClient(base_url=server.base_url) as kim:
        done = await kim.post(
            "/console/api/password-reset/confirm", json={"token": token, "new_password": password}
        )
        assert done.status_code == 200, done.text
        login = await kim.post(
            "/console/api/login", json={"email": "kim@outdoor.example", "password": password}
        )
        assert login.status_code == 200
        listed = (await kim.get("/console/api/conversations")).json()["conversations"]
        assert [c["id"] for c in listed] == [outdoor.conversation_id]
    # A team of another brand is refused and leaves no half-made colleague behind.
    other = next(b for b in area["brands"] if b["slug"] == demo.BRAND_SLUG)
    refused = await admin.post(
        "/console/api/people",
        json={**body, "email": "lee@outdoor.example", "brand_id": other["id"]},
    )
    assert refused.status_code == 422
    people = (await admin.get("/console/api/people")).json()["people"]
    assert "lee@outdoor.example" not in {p["email"] for p in people}
    await admin.aclose()
