"""U+0000 in any text a client sends is a precise refusal (422), never a 500: Postgres cannot
store it in a text column, so every boundary where text enters refuses it first."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from server.services import demo
from tests.harness import RunningServer, customer

NUL = "a\u0000b"


@pytest.fixture
async def agent(server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        response = await http.post(
            "/console/api/login", json={"email": demo.AGENT_EMAIL, "password": demo.AGENT_PASSWORD}
        )
        assert response.status_code == 200
        yield http


@pytest.fixture
async def admin(server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    token = server.services.settings.admin_api_token()
    headers = {"authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=server.base_url, headers=headers) as http:
        yield http


async def test_nul_is_refused_where_no_login_is_needed(server: RunningServer) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        session = await http.post("/api/webchat/sessions", json={"inbox": "demo-web", "name": NUL})
        login = await http.post("/console/api/login", json={"email": NUL, "password": NUL})
    assert (session.status_code, login.status_code) == (422, 422)
    assert "U+0000" in session.json()["error"]
    assert "U+0000" in login.json()["error"]


async def test_nul_is_refused_in_an_agents_reply_and_nothing_is_stored(
    server: RunningServer, agent: httpx.AsyncClient
) -> None:
    conversation_id = await customer(server, "hello")
    before = await server.services.pool.fetchval("SELECT count(*) FROM messages")
    response = await agent.post(
        f"/console/api/conversations/{conversation_id}/messages",
        json={"text": NUL, "client_id": "r1"},
    )
    assert response.status_code == 422
    assert await server.services.pool.fetchval("SELECT count(*) FROM messages") == before


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PUT", "/api/admin/brands/shop", {"name": NUL}),
        ("PUT", "/api/admin/brands/a%00b", {"name": "Shop"}),
        ("PUT", "/api/admin/skills/billing", {"description": NUL}),
        ("PATCH", f"/api/admin/contacts/{demo.AGENT_EMAIL}", {"tier": NUL}),
    ],
)
async def test_nul_is_refused_by_the_admin_api(
    admin: httpx.AsyncClient, method: str, path: str, body: dict[str, str]
) -> None:
    response = await admin.request(method, path, json=body)
    assert response.status_code == 422, response.text
