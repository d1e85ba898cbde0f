"""Invites and password resets by link, mailed through a real SMTP relay: a single-use,
expiring link sets a password that meets the policy and ends every other session; a reset
request answers the same whether the email has an account or not."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest

from server.services import demo
from tests import mail
from tests.harness import RunningServer
from tests.web_console.account_client import (
    DateClock,
    audit_actions,
    browser,
    clocked_server,
)

NEW_PASSWORD = "marmalade-window-otter"
LINK = re.compile(r"(https?://\S+/console/password#token=([A-Za-z0-9_-]+))")


@pytest.fixture
async def relay() -> AsyncIterator[mail.Relay]:
    async with mail.relay() as stub:
        yield stub


@pytest.fixture
def clock() -> DateClock:
    return DateClock()


@pytest.fixture
async def server_with_mail(
    dsn: str, tmp_path: Path, relay: mail.Relay, clock: DateClock
) -> AsyncIterator[RunningServer]:
    async with clocked_server(
        dsn,
        tmp_path,
        clock,
        smtp_relay_url=relay.url,
        public_url="https://desk.example",
        account_mail_from="Switchboard <accounts@desk.example>",
    ) as running:
        yield running


def token_in(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    found = LINK.search(body.get_content())
    assert found, body.get_content()
    assert found.group(1).startswith("https://desk.example/console/password#token=")
    return found.group(2)


def admin(server: RunningServer) -> httpx.AsyncClient:
    token = server.services.settings.admin_api_token()
    return httpx.AsyncClient(base_url=server.base_url, headers={"authorization": f"Bearer {token}"})


async def test_an_invite_mail_link_sets_the_password_and_the_agent_logs_in(
    server_with_mail: RunningServer, relay: mail.Relay
) -> None:
    server = server_with_mail
    async with admin(server) as api:
        created = await api.post(
            "/api/admin/agents",
            json={"email": "new.agent@shop.example", "name": "New Agent", "invite": True},
        )
        assert created.status_code == 201, created.text
        assert created.json()["invite"]["mailed"] is True
        assert "link" not in created.json()["invite"]
    [invite] = await relay.wait_for(1)
    assert invite["To"] == "new.agent@shop.example"
    assert invite["From"] == "Switchboard <accounts@desk.example>"
    assert relay.envelopes[0] == ("accounts@desk.example", ["new.agent@shop.example"])
    token = token_in(invite)
    async with httpx.AsyncClient(base_url=server.base_url) as page:
        # Before the password is set, the account cannot log in at all.
        guess = {"email": "new.agent@shop.example", "password": "!unset-"}
        assert (await page.post("/console/api/login", json=guess)).status_code == 401
        what = await page.post("/console/api/password-reset/check", json={"token": token})
        assert what.json()["purpose"] == "invite"
        assert what.json()["email"] == "new.agent@shop.example"
        weak = await page.post(
            "/console/api/password-reset/confirm",
            json={"token": token, "new_password": "new.agent-1234"},
        )
        assert weak.status_code == 422
        assert weak.json()["error"] == "new_password: password must not contain your email address"
        done = await page.post(
            "/console/api/password-reset/confirm",
            json={"token": token, "new_password": NEW_PASSWORD},
        )
        assert done.status_code == 200, done.text
        again = await page.post(
            "/console/api/password-reset/confirm",
            json={"token": token, "new_password": NEW_PASSWORD},
        )
        assert again.status_code == 404
    agent = await browser(server, "new.agent@shop.example", NEW_PASSWORD)
    await agent.aclose()
    actions = [e["action"] for e in await audit_actions(server)]
    assert {"agent.invited", "agent.password_set", "agent.login"} <= set(actions)


async def test_an_invite_without_a_relay_answers_the_link(server: RunningServer) -> None:
    async with admin(server) as api:
        made = await api.post("/api/admin/agents/lea@demo.switchboard.test/invite")
        assert made.status_code == 201
        assert made.json()["mailed"] is False
        assert "/console/password#token=" in made.json()["link"]
        assert (await api.post("/api/admin/agents/nobody@x.test/invite")).status_code == 404


async def test_a_reset_is_mailed_to_agents_only_and_answers_alike_for_anyone(
    server_with_mail: RunningServer, relay: mail.Relay, clock: DateClock
) -> None:
    server = server_with_mail
    async with httpx.AsyncClient(base_url=server.base_url) as page:
        known = await page.post("/console/api/password-reset", json={"email": demo.AGENT_EMAIL})
        unknown = await page.post("/console/api/password-reset", json={"email": "no@one.test"})
        assert (known.status_code, unknown.status_code) == (202, 202)
        assert known.json() == unknown.json()
        [reset] = await relay.wait_for(1)
        assert reset["To"] == demo.AGENT_EMAIL
        # Asking again within the minute sends nothing more.
        await page.post("/console/api/password-reset", json={"email": demo.AGENT_EMAIL})
        await server.services.account_mail.settled()
        assert len(relay.received) == 1
        token = token_in(reset)
        signed_in = await browser(server)
        done = await page.post(
            "/console/api/password-reset/confirm",
            json={"token": token, "new_password": NEW_PASSWORD},
        )
        assert done.status_code == 200
        # Whoever held a session is out; the new password works, the old one does not.
        assert (await signed_in.get("/console/api/me")).status_code == 401
        await signed_in.aclose()
        await (await browser(server, password=NEW_PASSWORD)).aclose()
        # A reset link lives an hour.
        clock.advance(minutes=2)
        await page.post("/console/api/password-reset", json={"email": demo.AGENT_EMAIL})
        second = token_in((await relay.wait_for(2))[1])
        clock.advance(minutes=61)
        late = await page.post(
            "/console/api/password-reset/confirm",
            json={"token": second, "new_password": "another-fine-phrase"},
        )
        assert late.status_code == 404
    entries = await audit_actions(server)
    assert [e["action"] for e in entries].count("agent.password_reset_requested") == 2
    assert NEW_PASSWORD not in str(entries)


async def test_a_newer_link_voids_the_older_one(
    server_with_mail: RunningServer, relay: mail.Relay
) -> None:
    server = server_with_mail
    async with admin(server) as api:
        await api.post("/api/admin/agents/lea@demo.switchboard.test/invite")
        await api.post("/api/admin/agents/lea@demo.switchboard.test/invite")
    first, second = (token_in(m) for m in await relay.wait_for(2))
    async with httpx.AsyncClient(base_url=server.base_url) as page:
        assert (
            await page.post("/console/api/password-reset/check", json={"token": first})
        ).status_code == 404
        assert (
            await page.post("/console/api/password-reset/check", json={"token": second})
        ).status_code == 200


async def test_the_set_password_page_is_served_with_the_consoles_policy(
    server: RunningServer,
) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        page = await http.get("/console/password")
        assert page.status_code == 200
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        assert '<script type="module" src="/console/static/password.js">' in page.text
        assert (await http.get("/console/static/password.js")).status_code == 200
