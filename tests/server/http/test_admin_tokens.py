"""Personal API tokens on the admin API and the console API: scopes, expiry, revocation, the
actor in the audit log; and the bootstrap admin token, refused once an admin agent exists
unless SWITCHBOARD_ADMIN_TOKEN_ALWAYS is set."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from server.services import demo
from tests.harness import RunningServer
from tests.web_console.account_client import DateClock, audit_actions, browser, clocked_server


@pytest.fixture
def clock() -> DateClock:
    return DateClock()


@pytest.fixture
async def strict(dsn: str, tmp_path: Path, clock: DateClock) -> AsyncIterator[RunningServer]:
    """A server that retires the bootstrap token once an admin exists (the default)."""
    async with clocked_server(dsn, tmp_path, clock, admin_token_always=False) as running:
        yield running


async def make_token(
    http: httpx.AsyncClient, scopes: list[str], days: int = 30
) -> tuple[str, dict[str, object]]:
    made = await http.post(
        "/console/api/me/tokens", json={"name": "ci", "scopes": scopes, "expires_in_days": days}
    )
    assert made.status_code == 201, made.text
    return made.json()["secret"], made.json()["token"]


def bearer(server: RunningServer, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=server.base_url, headers={"authorization": f"Bearer {token}"})


async def test_an_admins_token_works_on_the_admin_api_and_acts_as_them(
    strict: RunningServer,
) -> None:
    dana = await browser(strict)
    secret, token = await make_token(dana, ["admin"])
    assert token["hint"] == secret[:10]
    assert secret not in str(token)
    async with bearer(strict, secret) as api:
        assert (await api.get("/api/admin/agents")).status_code == 200
        changed = await api.patch(
            "/api/admin/agents/lea@demo.switchboard.test", json={"capacity": 2}
        )
        assert changed.status_code == 200
    entry = (await audit_actions(strict, "agent.changed"))[-1]
    assert entry["actor_label"] == demo.AGENT_EMAIL
    me = (await dana.get("/console/api/me")).json()["agent"]
    assert str(entry["actor_id"]) == me["id"]
    listed = (await dana.get("/console/api/me/tokens")).json()["tokens"]
    assert [t["id"] for t in listed] == [token["id"]]
    assert listed[0]["last_used_at"]
    await dana.aclose()


async def test_a_token_without_the_admin_scope_or_holder_is_refused(strict: RunningServer) -> None:
    dana = await browser(strict)
    reader, _ = await make_token(dana, ["conversations:read"])
    lea = await browser(strict, "lea@demo.switchboard.test")
    refused = await lea.post("/console/api/me/tokens", json={"name": "x", "scopes": ["admin"]})
    assert refused.status_code == 403
    unknown = await lea.post("/console/api/me/tokens", json={"name": "x", "scopes": ["root"]})
    assert unknown.status_code == 422
    async with bearer(strict, reader) as api:
        assert (await api.get("/api/admin/agents")).status_code == 401
    async with bearer(strict, "sbp_made-up-token") as api:
        assert (await api.get("/api/admin/agents")).status_code == 401
    # An admin's token stops working on the admin API when they are no longer an admin.
    async with bearer(strict, (await make_token(dana, ["admin"]))[0]) as api:
        promoted = await api.patch(
            "/api/admin/agents/sam@demo.switchboard.test", json={"role": "admin"}
        )
        assert promoted.status_code == 200
    sam = await browser(strict, "sam@demo.switchboard.test")
    sams, _ = await make_token(sam, ["admin"])
    async with bearer(strict, sams) as api:
        assert (await api.get("/api/admin/agents")).status_code == 200
        demoted = await api.patch(
            "/api/admin/agents/sam@demo.switchboard.test", json={"role": "supervisor"}
        )
        assert demoted.status_code == 200
        assert (await api.get("/api/admin/agents")).status_code == 401
    for http in (dana, lea, sam):
        await http.aclose()


async def test_a_token_expires_and_can_be_revoked(strict: RunningServer, clock: DateClock) -> None:
    dana = await browser(strict)
    short, _ = await make_token(dana, ["admin"], days=1)
    revoked, revoked_view = await make_token(dana, ["admin"])
    async with bearer(strict, short) as api:
        assert (await api.get("/api/admin/agents")).status_code == 200
        clock.advance(days=1, seconds=1)
        assert (await api.get("/api/admin/agents")).status_code == 401
    await dana.aclose()
    dana = await browser(strict)  # the old session is past its absolute timeout now
    async with bearer(strict, revoked) as api:
        assert (await api.get("/api/admin/agents")).status_code == 200
        gone = await dana.delete(f"/console/api/me/tokens/{revoked_view['id']}")
        assert gone.status_code == 204
        assert (await api.get("/api/admin/agents")).status_code == 401
    assert (await dana.delete(f"/console/api/me/tokens/{revoked_view['id']}")).status_code == 404
    actions = [e["action"] for e in await audit_actions(strict, "agent.token")]
    assert actions == ["agent.token_created", "agent.token_created", "agent.token_revoked"]
    await dana.aclose()


async def test_a_conversations_token_reads_and_writes_the_console_api_as_its_agent(
    strict: RunningServer,
) -> None:
    lea = await browser(strict, "lea@demo.switchboard.test")
    reader, _ = await make_token(lea, ["conversations:read"])
    writer, _ = await make_token(lea, ["conversations:read", "conversations:write"])
    async with bearer(strict, reader) as api:
        listed = await api.get("/console/api/conversations")
        assert listed.status_code == 200
        assert (await api.get("/console/api/me")).json()["agent"]["email"] == lea_email()
        assert (
            await api.post("/console/api/me/status", json={"status": "away"})
        ).status_code == 401
        # Account pages take a signed-in browser only, never a token.
        assert (await api.get("/console/api/me/sessions")).status_code == 401
        assert (await api.get("/console/api/me/tokens")).status_code == 401
    async with bearer(strict, writer) as api:
        changed = await api.post("/console/api/me/status", json={"status": "away"})
        assert changed.status_code == 200
    await lea.aclose()


def lea_email() -> str:
    return "lea@demo.switchboard.test"


async def test_the_bootstrap_token_is_for_first_set_up_only(strict: RunningServer) -> None:
    bootstrap = strict.services.settings.admin_api_token()
    async with strict.services.pool.acquire() as conn:
        await conn.execute("UPDATE agents SET role = 'member' WHERE role = 'admin'")
    async with bearer(strict, bootstrap) as api:
        # No admin yet: the bootstrap token sets one up.
        created = await api.post(
            "/api/admin/agents",
            json={
                "email": "first.admin@shop.example",
                "name": "First Admin",
                "role": "admin",
                "password": "lighthouse-keeper-47",
            },
        )
        assert created.status_code == 201, created.text
        refused = await api.get("/api/admin/agents")
        assert refused.status_code == 401
        assert "refused once an admin agent exists" in refused.json()["error"]
    first = await browser(strict, "first.admin@shop.example", "lighthouse-keeper-47")
    personal, _ = await make_token(first, ["admin"])
    async with bearer(strict, personal) as api:
        assert (await api.get("/api/admin/agents")).status_code == 200
    await first.aclose()


async def test_the_bootstrap_token_stays_when_configured_so(server: RunningServer) -> None:
    # tests/harness.py sets admin_token_always, as SWITCHBOARD_ADMIN_TOKEN_ALWAYS=1 would.
    async with bearer(server, server.services.settings.admin_api_token()) as api:
        assert (await api.get("/api/admin/agents")).status_code == 200
