"""The router against a real server and Postgres: placement, assignment, the agents' queue
actions, the admin API, and bad input refused with the state unchanged."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import httpx
import orjson
import pytest

from server.services import demo
from server.store import queue
from tests import harness
from tests.channels.webchat_client import hello, new_session, next_of, open_socket, text, vouched
from tests.harness import RunningServer, customer, identity_secret

LEA = "lea@demo.switchboard.test"
SAM = "sam@demo.switchboard.test"


async def login(server: RunningServer, email: str) -> httpx.AsyncClient:
    http = httpx.AsyncClient(base_url=server.base_url)
    response = await http.post(
        "/console/api/login", json={"email": email, "password": demo.AGENT_PASSWORD}
    )
    assert response.status_code == 200, response.text
    return http


@pytest.fixture
async def dana(server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    http = await login(server, demo.AGENT_EMAIL)
    yield http
    await http.aclose()


@pytest.fixture
async def admin(server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    token = server.services.settings.admin_api_token()
    async with httpx.AsyncClient(
        base_url=server.base_url, headers={"authorization": f"Bearer {token}"}
    ) as http:
        yield http


async def conversation(http: httpx.AsyncClient, conversation_id: str) -> dict[str, Any]:
    response = await http.get(f"/console/api/conversations/{conversation_id}")
    assert response.status_code == 200
    result: dict[str, Any] = response.json()
    return result


async def queued(http: httpx.AsyncClient, conversation_id: str) -> dict[str, Any]:
    """The conversation's entry in the ranked queue (score, explanation)."""
    response = await http.get("/console/api/queue")
    assert response.status_code == 200
    entry: dict[str, Any] = next(q for q in response.json()["queue"] if q["id"] == conversation_id)
    return entry


async def test_a_handoff_is_placed_in_the_default_team_with_an_explained_priority(
    server: RunningServer, dana: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    await customer(server, "hello?", "plain@example.com")
    response = await admin.patch(
        "/api/admin/contacts/vip@example.com", json={"tier": "gold", "value": 2000}
    )
    assert response.status_code == 404  # not a contact yet
    # The shop vouches for its signed-in customer, so the later chat is the same contact.
    secret = await identity_secret(server)
    session = await new_session(server.base_url, name="Vi", **vouched("vip@example.com", secret))
    assert session["verified"]
    response = await admin.patch(
        "/api/admin/contacts/vip@example.com", json={"tier": "gold", "value": 2000}
    )
    assert response.status_code == 200, response.text
    vip_id = await customer(server, "my card was charged twice", "vip@example.com")

    queue = (await dana.get("/console/api/queue")).json()["queue"]
    assert [q["contact"]["email"] for q in queue] == ["vip@example.com", "plain@example.com"]
    top = queue[0]
    assert top["id"] == vip_id
    assert top["team"]["name"] == "Support"  # the demo brand's default team
    assert top["explanation"].startswith("+20 gold tier, +10 customer value 2,000, ")
    assert "+10 live channel webchat" in top["explanation"]
    assert top["score"] >= 40
    assert top["first_response_due"] is not None  # the demo SLA for its band
    assert top["band"] == "normal"


async def test_an_online_agent_with_capacity_is_assigned_automatically(
    server: RunningServer, dana: httpx.AsyncClient
) -> None:
    conversation_id = await customer(server, "anyone there?")
    assert (await conversation(dana, conversation_id))["status"] == "queued"
    me = (await dana.post("/console/api/me/status", json={"status": "online"})).json()["agent"]
    assert (me["status"], me["capacity"]) == ("online", 5)
    await server.services.router.assign_pass()
    view = await conversation(dana, conversation_id)
    assert view["status"] == "assigned"
    assert view["assignee"]["name"] == "Dana Demo"
    rows = await server.services.pool.fetch("SELECT how FROM assignments")
    assert [r["how"] for r in rows] == ["auto"]
    me = (await dana.get("/console/api/me")).json()["agent"]
    assert me["load"] == 1


async def test_skills_and_language_pick_the_agent(
    server: RunningServer, dana: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    # A French payment failure needs billing and French: Léa (billing, fr) and Dana (all)
    # qualify, Sam (technical, online first) does not.
    pool = server.services.pool
    conversation_id = await customer(server, "mon paiement a échoué")
    await pool.execute(
        'UPDATE messages SET nlu = \'{"intent": "payment_failed", "confidence": 0.9}\''
        " WHERE conversation_id = $1 AND author_kind = 'customer'",
        UUID(conversation_id),
    )
    await pool.execute(
        "UPDATE conversations SET language = 'fr' WHERE id = $1",
        UUID(conversation_id),
    )
    async with pool.acquire() as conn, conn.transaction():
        await server.services.router.place(conn, conversation_id, queued_now=True)
    view = await conversation(dana, conversation_id)
    assert view["team"]["name"] == "Billing"
    assert view["required_skills"] == ["billing", "fr"]
    assert "+20 intent payment_failed (critical)" in [
        f"{p['points']:+d} {p['label']}" for p in view["priority_parts"]
    ]
    other = await customer(server, "something else")
    assert (await dana.post(f"/console/api/conversations/{other}/claim")).status_code == 200
    for email in (SAM, LEA, demo.AGENT_EMAIL):
        response = await admin.patch(f"/api/admin/agents/{email}", json={"status": "online"})
        assert response.status_code == 200, response.text
    await server.services.router.assign_pass()
    assert (await conversation(dana, conversation_id))["assignee"]["name"] == "Léa Martin"


async def test_claim_transfer_resolve_and_a_reopened_conversation_returns_to_its_agent(
    server: RunningServer, dana: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    first = await customer(server, "help please", "back@example.com")
    response = await dana.post(f"/console/api/conversations/{first}/claim")
    assert response.status_code == 200, response.text
    assert response.json()["assignee"]["name"] == "Dana Demo"
    # Transfer to the billing team: back in a queue, Dana's no more.
    response = await dana.post(
        f"/console/api/conversations/{first}/transfer",
        json={"team_id": await team_id(admin, "billing")},
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "queued"
    assert response.json()["team"]["name"] == "Billing"
    response = await dana.post(f"/console/api/conversations/{first}/claim")
    assert response.status_code == 200
    response = await dana.post(f"/console/api/conversations/{first}/resolve")
    assert response.status_code == 200
    assert response.json()["status"] == "resolved"
    # Both online; Léa is less busy, but the customer comes back to Dana.
    await dana.post("/console/api/me/status", json={"status": "online"})
    await admin.patch(f"/api/admin/agents/{LEA}", json={"status": "online"})
    await dana.post(f"/console/api/conversations/{await customer(server, 'x')}/claim")
    again = await customer(server, "it happened again", "back@example.com")
    assert again != first
    await server.services.router.assign_pass()
    assert (await conversation(dana, again))["assignee"]["name"] == "Dana Demo"


async def test_a_team_transfer_holds_when_the_customer_writes_again(
    server: RunningServer, dana: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    """An agent's choice of team is not undone by the next re-ranking: before, the customer's
    next message re-derived the team from the intent and inbox and moved it back."""
    conversation_id = await customer(server, "hello?", "moved@example.com")
    assert (await conversation(dana, conversation_id))["team"]["name"] != "Billing"
    response = await dana.post(f"/console/api/conversations/{conversation_id}/claim")
    assert response.status_code == 200, response.text
    response = await dana.post(
        f"/console/api/conversations/{conversation_id}/transfer",
        json={"team_id": await team_id(admin, "billing")},
    )
    assert response.status_code == 200, response.text
    before = await queued(dana, conversation_id)
    angry = "This is terrible, the worst service ever, I am furious and disgusted!"
    assert await customer(server, angry, "moved@example.com") == conversation_id
    await server.services.pipeline.settled()
    await server.services.router.settled()
    after = await queued(dana, conversation_id)
    # Re-ranked (the anger counts) and still where the agent sent it.
    assert after["score"] > before["score"]
    assert (await conversation(dana, conversation_id))["team"]["name"] == "Billing"


async def team_id(admin: httpx.AsyncClient, slug: str) -> str:
    teams = (await admin.get("/api/admin/teams")).json()["teams"]
    return str(next(t["id"] for t in teams if t["slug"] == slug))


async def test_bad_input_is_refused_precisely_and_changes_nothing(
    server: RunningServer, dana: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    pool = server.services.pool
    conversation_id = await customer(server, "hello")
    before_agents = await pool.fetch("SELECT id, capacity, status FROM agents ORDER BY id")
    before_skills = await pool.fetch("SELECT * FROM agent_skills ORDER BY agent_id, skill")
    cases = [
        (admin.patch(f"/api/admin/agents/{LEA}", json={"teams": ["nope"]}), 404, "no team 'nope'"),
        (admin.patch(f"/api/admin/agents/{LEA}", json={"skills": ["de"]}), 404, "no skill de"),
        (admin.patch("/api/admin/agents/ghost@example.com", json={"capacity": 3}), 404, "no agent"),
        (admin.patch(f"/api/admin/agents/{LEA}", json={"capacity": -1}), 422, "capacity"),
        (admin.patch(f"/api/admin/agents/{LEA}", json={"status": "asleep"}), 422, "status"),
        (admin.patch(f"/api/admin/agents/{LEA}", content=b"{"), 400, "not valid JSON"),
        (
            admin.put(
                "/api/admin/sla-policies/critical",
                json={"first_response_seconds": 60, "resolution_seconds": 600},
            ),
            422,
            "band",
        ),
        (
            admin.put(
                "/api/admin/sla-policies/high",
                json={"first_response_seconds": 600, "resolution_seconds": 60},
            ),
            422,
            "resolution target",
        ),
        (admin.put("/api/admin/brands/demo", json={"business_hours": "9 to 5"}), 422, "hours"),
        (admin.put("/api/admin/intent-routes/greet", json={"skills": ["nope"]}), 404, "skill"),
        (admin.put("/api/admin/teams/Bad Slug", json={}), 422, "slug"),
        (
            dana.post(
                f"/console/api/conversations/{conversation_id}/transfer",
                json={"agent_id": str(before_agents[0]["id"]), "team_id": "x"},
            ),
            422,
            "exactly one",
        ),
        (
            dana.post(
                f"/console/api/conversations/{conversation_id}/transfer",
                json={"team_id": "00000000-0000-0000-0000-000000000000"},
            ),
            404,
            "no team",
        ),
        (dana.post("/console/api/conversations/nope/claim"), 404, "no conversation"),
        (dana.post("/console/api/me/status", json={"status": "busy"}), 422, "status"),
    ]
    for request, status, message in cases:
        response = await request
        assert response.status_code == status, (response.status_code, response.text)
        assert message in response.json()["error"], response.text
    async with httpx.AsyncClient(base_url=server.base_url) as anonymous:
        assert (await anonymous.get("/api/admin/agents")).status_code == 401

    # Transfer to an offline agent: 409, and the conversation stays where it was.
    lea = await pool.fetchval("SELECT id::text FROM agents WHERE email = $1", LEA)
    response = await dana.post(
        f"/console/api/conversations/{conversation_id}/transfer", json={"agent_id": lea}
    )
    assert response.status_code == 409
    assert "offline" in response.json()["error"]
    assert (await conversation(dana, conversation_id))["status"] == "queued"
    # Claiming a resolved conversation: 409.
    await dana.post(f"/console/api/conversations/{conversation_id}/claim")
    await dana.post(f"/console/api/conversations/{conversation_id}/resolve")
    response = await dana.post(f"/console/api/conversations/{conversation_id}/claim")
    assert response.status_code == 409
    assert response.json()["error"] == "the conversation is resolved"
    # Another agent's conversation cannot be resolved or transferred by someone else.
    mine = await customer(server, "mine")
    await dana.post(f"/console/api/conversations/{mine}/claim")
    sam = await login(server, SAM)
    response = await sam.post(f"/console/api/conversations/{mine}/resolve")
    assert response.status_code == 409
    assert (await conversation(dana, mine))["assignee"]["name"] == "Dana Demo"
    await sam.aclose()
    # Capacity: a claim past it is refused.
    await admin.patch(f"/api/admin/agents/{demo.AGENT_EMAIL}", json={"capacity": 1})
    extra = await customer(server, "one more")
    response = await dana.post(f"/console/api/conversations/{extra}/claim")
    assert response.status_code == 409
    assert "capacity (1/1)" in response.json()["error"]
    after_skills = await pool.fetch("SELECT * FROM agent_skills ORDER BY agent_id, skill")
    assert after_skills == before_skills
    lea_row = await pool.fetchrow("SELECT capacity, status FROM agents WHERE email = $1", LEA)
    assert lea_row is not None
    assert (lea_row["capacity"], lea_row["status"]) == (4, "offline")


async def test_the_supervisor_view_shows_queues_and_agents(
    server: RunningServer, dana: httpx.AsyncClient
) -> None:
    await customer(server, "a")
    await customer(server, "b")
    overview = (await dana.get("/console/api/overview")).json()
    support = next(t for t in overview["teams"] if t["slug"] == "support")
    assert support["queued"] == 2
    assert support["next_due"] is not None
    assert {a["email"] for a in overview["agents"]} >= {demo.AGENT_EMAIL, LEA, SAM}
    lea = await login(server, LEA)
    assert (await lea.get("/console/api/overview")).status_code == 403  # agents only see queues
    await lea.aclose()


async def test_the_admin_api_and_cli_set_up_the_organisation(admin: httpx.AsyncClient) -> None:
    assert (
        await admin.put("/api/admin/skills/de", json={"description": "German"})
    ).status_code == 200
    response = await admin.put(
        "/api/admin/teams/dach", json={"name": "DACH", "assignment": "manual"}
    )
    assert response.status_code == 200, response.text
    response = await admin.post(
        "/api/admin/agents",
        json={
            "email": "jonas@example.com",
            "name": "Jonas",
            "password": "a-long-test-password",
            "capacity": 3,
            "skills": ["de"],
            "teams": ["dach"],
        },
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert (created["capacity"], created["skills"], created["teams"]) == (3, ["de"], ["dach"])
    response = await admin.put(
        "/api/admin/sla-policies/urgent",
        json={
            "first_response_seconds": 120,
            "resolution_seconds": 3600,
            "escalation_points": 30,
            "notify_team": "dach",
        },
    )
    assert response.json() == {
        "brand": "demo",
        "band": "urgent",
        "first_response_seconds": 120,
        "resolution_seconds": 3600,
        "escalation_points": 30,
        "notify_team": "dach",
    }
    response = await admin.put(
        "/api/admin/brands/demo", json={"business_hours": "mon-fri 08:00-17:00 Europe/Berlin"}
    )
    assert response.json()["business_hours"] == "mon-fri 08:00-17:00 Europe/Berlin"
    routes = (await admin.get("/api/admin/intent-routes")).json()["intent_routes"]
    assert {
        "brand": "demo",
        "intent": "payment_failed",
        "team": "billing",
        "skills": ["billing"],
    } in routes
    assert orjson.loads((await admin.get("/api/admin/teams")).content)["teams"]


async def test_inboxes_are_created_and_feed_a_team(admin: httpx.AsyncClient) -> None:
    response = await admin.put(
        "/api/admin/inboxes/email/billing@demo.switchboard.test",
        json={"name": "Billing mail", "team": "billing"},
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "brand": "demo",
        "channel": "email",
        "address": "billing@demo.switchboard.test",
        "name": "Billing mail",
        "team": "billing",
    }
    inboxes = (await admin.get("/api/admin/inboxes")).json()["inboxes"]
    assert len(inboxes) == 3  # the demo's web chat and mailbox, and this one
    assert (await admin.put("/api/admin/brands/other", json={})).status_code == 200
    taken = await admin.put(
        "/api/admin/inboxes/email/billing@demo.switchboard.test", json={"brand": "other"}
    )
    assert taken.status_code == 409
    assert "another brand" in taken.json()["error"]
    bad = await admin.put("/api/admin/inboxes/fax/123", json={"brand": "demo"})
    assert bad.status_code == 422
    assert len((await admin.get("/api/admin/inboxes")).json()["inboxes"]) == 3


async def test_a_queued_customer_who_writes_again_is_reprioritised_once_per_burst(
    server: RunningServer, dana: httpx.AsyncClient
) -> None:
    session = await new_session(server.base_url, email="burst@example.com", name="Burst")
    async with await open_socket(server.ws_url) as ws:
        await hello(ws, session["token"])
        await ws.send(text({"type": "message", "client_id": "b0", "text": "hello?"}))
        conversation_id: str = (await next_of(ws, "ack"))["conversation_id"]
        await server.services.pipeline.settled()
        before = await queued(dana, conversation_id)
        assert "negative sentiment" not in before["explanation"]
        angry = "This is terrible, the worst service ever, I am furious and disgusted!"
        for n in range(1, 6):
            await ws.send(text({"type": "message", "client_id": f"b{n}", "text": angry}))
            await next_of(ws, "ack")
    await server.services.pipeline.settled()
    after = await queued(dana, conversation_id)
    assert "negative sentiment" in after["explanation"]
    assert after["score"] > before["score"]
    changes = await server.services.pool.fetch(
        "SELECT data->>'change' AS change FROM events"
        " WHERE conversation_id = $1 AND name = 'conversation.updated'",
        UUID(conversation_id),
    )
    # Five messages, each interpreted and stored at once; the priority work coalesces.
    assert 1 <= [r["change"] for r in changes].count("reprioritised") < 5


async def test_a_queued_customer_whose_words_change_nothing_keeps_their_place_unannounced(
    server: RunningServer, dana: httpx.AsyncClient
) -> None:
    conversation_id = await customer(server, "hello?", "steady@example.com")
    before = await queued(dana, conversation_id)
    assert await customer(server, "hello again?", "steady@example.com") == conversation_id
    after = await queued(dana, conversation_id)
    assert (after["score"], after["explanation"]) == (before["score"], before["explanation"])
    changes = await server.services.pool.fetch(
        "SELECT data->>'change' AS change FROM events"
        " WHERE conversation_id = $1 AND name = 'conversation.updated'",
        UUID(conversation_id),
    )
    assert "reprioritised" not in [r["change"] for r in changes]


async def test_queued_customers_who_write_at_the_same_time_are_each_reprioritised(
    server: RunningServer, dana: httpx.AsyncClient
) -> None:
    emails = [f"together{n}@example.com" for n in range(3)]
    ids = [await customer(server, "hello?", email) for email in emails]
    secret = await identity_secret(server)
    angry = "This is terrible, the worst service ever, I am furious and disgusted!"
    for n, email in enumerate(emails):
        session = await new_session(server.base_url, name=f"t{n}", **vouched(email, secret))
        async with await open_socket(server.ws_url) as ws:
            await hello(ws, session["token"])
            await ws.send(text({"type": "message", "client_id": "a1", "text": angry}))
            assert (await next_of(ws, "ack"))["conversation_id"] == ids[n]
    await server.services.pipeline.settled()
    for conversation_id in ids:
        assert "negative sentiment" in (await queued(dana, conversation_id))["explanation"]
        changes = await server.services.pool.fetch(
            "SELECT data->>'change' AS change FROM events"
            " WHERE conversation_id = $1 AND name = 'conversation.updated'",
            UUID(conversation_id),
        )
        assert [r["change"] for r in changes].count("reprioritised") == 1


async def test_an_assignment_pass_with_every_seat_taken_places_nothing(
    server: RunningServer, dana: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    await dana.post("/console/api/me/status", json={"status": "online"})
    ids = [await customer(server, f"help {n}", f"seat{n}@example.com") for n in range(6)]
    await server.services.router.assign_pass()
    statuses = [(await conversation(dana, i))["status"] for i in ids]
    assert statuses.count("assigned") == 5  # Dana's capacity
    assert await server.services.router.assign_pass() == 0
    assert [(await conversation(dana, i))["status"] for i in ids] == statuses
    # Nor does it wait for the assignment turn another node holds: with no seat free there is
    # nothing to place.
    async with server.services.pool.acquire() as other, queue.assignment_turn(other):
        assert await asyncio.wait_for(server.services.router.assign_pass(), 10) == 0


@pytest.mark.parametrize("capacity", [1, 2])
async def test_a_conversation_held_by_another_writer_keeps_its_seat_from_lower_ones(
    server: RunningServer, dana: httpx.AsyncClient, capacity: int
) -> None:
    """With room for one, the pass plans only the held conversation; with room for two it
    plans both in one statement, whose refusal of the first must not let the second through
    (the batch is rolled back and claimed one at a time)."""
    pool = server.services.pool
    await pool.execute(
        "UPDATE agents SET capacity = $2 WHERE email = $1", demo.AGENT_EMAIL, capacity
    )
    calm = await customer(server, "anyone there?", "calm@example.com")
    angry = await customer(
        server, "This is terrible, the worst service ever, I am furious!", "angry@example.com"
    )
    assert (await queued(dana, angry))["score"] > (await queued(dana, calm))["score"]
    async with pool.acquire() as writer, writer.transaction():
        # Another transaction is changing the angrier customer's conversation.
        await writer.execute("SELECT 1 FROM conversations WHERE id = $1 FOR UPDATE", UUID(angry))
        await dana.post("/console/api/me/status", json={"status": "online"})
        assert await server.services.router.assign_pass() == 0
        assert (await conversation(dana, calm))["status"] == "queued"

    # Once it is free, the retry gives the seat to the conversation that ranks first.
    async def assigned() -> bool:
        return bool((await conversation(dana, angry))["status"] == "assigned")

    await harness.until(assigned, within=10.0)
    if capacity == 1:
        assert (await conversation(dana, calm))["status"] == "queued"


async def test_an_agent_gone_away_during_a_pass_is_given_nothing(
    server: RunningServer, dana: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pass reads who is online, then the queue; Dana goes away in between. The pass's
    claims see it and give her nothing (the conversation waits for someone online)."""
    pool = server.services.pool
    await dana.post("/console/api/me/status", json={"status": "online"})
    waiting = await customer(server, "anyone there?", "between@example.com")
    read_queue = queue.queued

    async def queue_read_as_dana_leaves(*args: Any, **kwargs: Any) -> Any:
        await pool.execute("UPDATE agents SET status = 'away' WHERE email = $1", demo.AGENT_EMAIL)
        return await read_queue(*args, **kwargs)

    monkeypatch.setattr(queue, "queued", queue_read_as_dana_leaves)
    assert await server.services.router.assign_pass() == 0
    assert (await conversation(dana, waiting))["status"] == "queued"
    assert await pool.fetchval("SELECT count(*) FROM assignments") == 0
