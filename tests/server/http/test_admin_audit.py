"""The admin API's audit log on a real server: the admin routes record their own changes, and
the log is read with filters, in keyset pages, and as CSV."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from server.http.admin.audit import _csv_line
from server.services import demo
from tests.harness import RunningServer

LEA = "lea@demo.switchboard.test"


@pytest.fixture
async def admin(server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"authorization": f"Bearer {server.services.settings.admin_api_token()}"}
    async with httpx.AsyncClient(base_url=server.base_url, headers=headers) as http:
        yield http


async def _changes(admin: httpx.AsyncClient) -> None:
    """One change of each kind the admin API makes."""
    for call in (
        admin.put("/api/admin/brands/demo", json={"retention_days": 400, "language": "en"}),
        admin.put("/api/admin/skills/de", json={"description": "German"}),
        admin.put("/api/admin/teams/dach", json={"name": "DACH"}),
        admin.patch(f"/api/admin/agents/{LEA}", json={"teams": ["support", "dach"]}),
        admin.patch(f"/api/admin/agents/{LEA}", json={"capacity": 3}),
        admin.post(
            "/api/admin/agents",
            json={
                "email": "new@demo.switchboard.test",
                "name": "New Agent",
                "password": "a-secret-password",
            },
        ),
        admin.put(
            "/api/admin/sla-policies/high",
            json={"first_response_seconds": 600, "resolution_seconds": 3600},
        ),
        admin.put("/api/admin/intent-routes/refund", json={"skills": ["de"], "team": "dach"}),
        admin.delete("/api/admin/intent-routes/refund"),
        admin.put("/api/admin/inboxes/email/help@demo.switchboard.test", json={"name": "Help"}),
        admin.delete("/api/admin/teams/dach"),
        admin.delete("/api/admin/skills/de"),
    ):
        response = await call
        assert response.status_code < 300, response.text


async def _entries(admin: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    response = await admin.get("/api/admin/audit", params=params)
    assert response.status_code == 200, response.text
    entries: list[dict[str, Any]] = response.json()["entries"]
    return entries


async def test_every_admin_change_is_recorded_with_who_and_from_where(
    admin: httpx.AsyncClient,
) -> None:
    await _changes(admin)
    entries = await _entries(admin)
    assert [e["action"] for e in reversed(entries)] == [
        "brand.changed",
        "skill.changed",
        "team.changed",
        "agent.teams_changed",
        "agent.changed",
        "agent.created",
        "sla.changed",
        "intent_route.changed",
        "intent_route.deleted",
        "inbox.changed",
        "team.deleted",
        "skill.deleted",
    ]
    assert {(e["actor_id"], e["actor_label"], e["address"]) for e in entries} == {
        (None, "admin token", "127.0.0.1")
    }
    brand = entries[-1]
    assert (brand["target_kind"], brand["target_id"]) == ("brand", "demo")
    assert brand["detail"] == {"retention_days": 400, "language": "en"}
    assert brand["brand_id"] is not None
    created = next(e for e in entries if e["action"] == "agent.created")
    assert created["detail"] == {"email": "new@demo.switchboard.test", "name": "New Agent"}
    assert "a-secret-password" not in str(entries)
    teams = next(e for e in entries if e["action"] == "agent.teams_changed")
    assert teams["detail"] == {"teams": ["support", "dach"]}


async def test_role_changes_have_their_own_action(admin: httpx.AsyncClient) -> None:
    response = await admin.patch(f"/api/admin/agents/{LEA}", json={"role": "supervisor"})
    assert response.status_code == 200, response.text
    [entry] = await _entries(admin, action="agent.role_changed")
    assert entry["target_id"] == response.json()["id"]
    assert entry["detail"]["role"] == "supervisor"


async def test_filters_narrow_the_log_and_pages_follow_each_other(
    admin: httpx.AsyncClient,
) -> None:
    await _changes(admin)
    assert [e["action"] for e in await _entries(admin, action="skill.")] == [
        "skill.deleted",
        "skill.changed",
    ]
    assert [e["target_id"] for e in await _entries(admin, target="brand:demo")] == ["demo"]
    assert len(await _entries(admin, target="team")) == 2
    assert len(await _entries(admin, actor="admin token")) == 12
    assert await _entries(admin, actor="system") == []
    # Skills belong to no brand, nor do agents' changes whose body names none.
    assert len(await _entries(admin, brand="demo")) == 7
    assert await _entries(admin, since="2999-01-01") == []
    assert len(await _entries(admin, since="2000-01-01T00:00:00Z", until="2999-01-01")) == 12
    seen: list[int] = []
    params: dict[str, Any] = {"limit": 5}
    while True:
        page = (await admin.get("/api/admin/audit", params=params)).json()
        seen += [e["id"] for e in page["entries"]]
        if page["next"] is None:
            break
        params["before"] = page["next"]
    assert len(seen) == 12
    assert seen == sorted(seen, reverse=True)


@pytest.mark.parametrize(
    ("params", "status", "message"),
    [
        ({"since": "yesterday"}, 422, "since: 'yesterday' is not an ISO 8601 date or time"),
        ({"until": "2026-13-01"}, 422, "until: '2026-13-01' is not an ISO 8601 date or time"),
        ({"since": "2026-05-02", "until": "2026-05-01"}, 422, "until: must come after since"),
        ({"limit": "0"}, 422, "limit: an integer from 1 to 1000"),
        ({"limit": "1001"}, 422, "limit: an integer from 1 to 1000"),
        ({"before": "-3"}, 422, "before: an integer from 1 to"),
        ({"action": "Contact Erased"}, 422, "action: 'Contact Erased' is not an action"),
        ({"target": "contact:"}, 422, "target: 'contact:' is not 'kind' or 'kind:id'"),
        ({"target": "Big Kind"}, 422, "target: 'Big Kind' is not"),
        ({"actor": ""}, 422, "actor: "),
        ({"brand": "nope"}, 404, "no brand 'nope'"),
    ],
)
async def test_bad_filters_are_refused_precisely(
    admin: httpx.AsyncClient, params: dict[str, str], status: int, message: str
) -> None:
    for path in ("/api/admin/audit", "/api/admin/audit.csv"):
        response = await admin.get(path, params=params)
        assert response.status_code == status, (path, response.text)
        assert response.json()["error"].startswith(message), response.json()


async def test_the_log_exports_as_csv_with_the_same_filters(
    server: RunningServer, admin: httpx.AsyncClient
) -> None:
    await _changes(admin)
    response = await admin.get("/api/admin/audit.csv")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == 'attachment; filename="audit.csv"'
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["action"] for r in rows] == [e["action"] for e in await _entries(admin)]
    assert json.loads(rows[-1]["detail"]) == {"retention_days": 400, "language": "en"}
    assert rows[-1]["actor_label"] == "admin token"
    assert rows[-1]["actor_id"] == ""
    only = (await admin.get("/api/admin/audit.csv", params={"action": "team."})).text
    assert [r["action"] for r in csv.DictReader(io.StringIO(only))] == [
        "team.deleted",
        "team.changed",
    ]
    async with httpx.AsyncClient(base_url=server.base_url) as anonymous:
        assert (await anonymous.get("/api/admin/audit.csv")).status_code == 401
        assert (await anonymous.get("/api/admin/audit")).status_code == 401


def test_csv_cells_a_spreadsheet_would_run_are_quoted() -> None:
    line = _csv_line(["=HYPERLINK(1)", "+1", "-2", "@SUM(A1)", "plain", ""]).decode()
    assert line == "'=HYPERLINK(1),'+1,'-2,'@SUM(A1),plain,\r\n"


async def test_reading_the_admin_api_records_nothing(admin: httpx.AsyncClient) -> None:
    await admin.get("/api/admin/brands")
    await admin.get("/api/admin/agents")
    await admin.get(f"/api/admin/agents?email={demo.AGENT_EMAIL}")
    assert await _entries(admin) == []
