"""The one exception map, on a real server: refusals in one shape, bugs as 500s, and the
inputs schemathesis (test_openapi_fuzz.py) found answered with a 500 before."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from server.services import demo
from tests.harness import RunningServer


@pytest.fixture
async def agent(server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        login = {"email": demo.AGENT_EMAIL, "password": demo.AGENT_PASSWORD}
        assert (await http.post("/console/api/login", json=login)).status_code == 200
        yield http


@pytest.fixture
async def admin(server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"authorization": f"Bearer {server.services.settings.admin_api_token()}"}
    async with httpx.AsyncClient(base_url=server.base_url, headers=headers) as http:
        yield http


async def test_refusals_have_one_shape(server: RunningServer, admin: httpx.AsyncClient) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as anonymous:
        no_token = await anonymous.get("/api/admin/brands")
        no_route = await anonymous.get("/api/nothing-here")
        wrong_method = await anonymous.delete("/healthz")
    not_json = await admin.put("/api/admin/skills/de", content=b"{")
    invalid = await admin.patch(f"/api/admin/agents/{demo.AGENT_EMAIL}", json={"capacity": -1})
    unknown = await admin.delete("/api/admin/skills/no-such-skill")
    answers = [no_token, no_route, wrong_method, not_json, invalid, unknown]
    assert [a.status_code for a in answers] == [401, 404, 405, 400, 422, 404]
    assert all(list(a.json()) == ["error"] for a in answers)
    assert no_token.json()["error"] == "missing or wrong admin token"
    assert invalid.json()["error"].startswith("capacity: ")


async def test_an_attachment_position_past_the_column_is_404_not_500(
    server: RunningServer, agent: httpx.AsyncClient
) -> None:
    """attachments.position is a 32-bit integer: a larger number used to overflow asyncpg."""
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        session = await http.post("/api/webchat/sessions", json={"inbox": demo.WEBCHAT_INBOX})
        visitor = {"authorization": f"Bearer {session.json()['token']}"}
        widget = await http.get(
            "/api/webchat/messages/1/attachments/142015567225997", headers=visitor
        )
    console = await agent.get("/console/api/messages/6/attachments/65042113551577")
    assert (widget.status_code, console.status_code) == (404, 404)


@pytest.mark.parametrize("path", ["/api/admin/intent-routes/greet", "/api/admin/teams/billing"])
async def test_nul_in_a_query_parameter_is_422_not_500(admin: httpx.AsyncClient, path: str) -> None:
    """Postgres cannot take U+0000 in text: ?brand=a%00b used to fail at the database."""
    response = await admin.delete(path, params={"brand": "a\x00b"})
    assert response.status_code == 422, response.text
    assert "U+0000" in response.json()["error"]


async def test_a_bare_lookup_error_in_the_backend_is_a_500_not_a_quiet_404(
    server: RunningServer, agent: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the port's own Unknown is a 404: a LookupError (a KeyError in a bug) is a 500,
    answered in the one error shape, whose body says nothing of the cause."""

    async def broken(conversation_id: str) -> None:
        raise LookupError("a bug, not the port's Unknown")

    monkeypatch.setattr(server.services.console_backend, "conversation", broken)
    response = await agent.get("/console/api/conversations/00000000-0000-0000-0000-000000000000")
    assert response.status_code == 500
    assert response.json() == {"error": "internal server error"}
