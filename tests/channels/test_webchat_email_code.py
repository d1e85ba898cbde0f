"""A widget visitor proves an email address with a one-time code sent through the mail relay
(issue 15), against a real server, Postgres and an SMTP relay (aiosmtpd)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import mail
from tests.channels.webchat_client import hello, new_session, next_of, open_socket, text, vouched
from tests.harness import RunningServer, identity_secret, run_server, settings_for

GRACE = "grace@example.com"


@pytest.fixture
async def relay() -> AsyncIterator[mail.Relay]:
    async with mail.relay() as found:
        yield found


@pytest.fixture
async def site(dsn: str, tmp_path: Path, relay: mail.Relay) -> AsyncIterator[RunningServer]:
    async with run_server(settings_for(dsn, tmp_path, smtp_relay_url=relay.url)) as running:
        yield running


async def post(server: RunningServer, token: str, path: str, body: Any) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        return await http.post(
            f"/api/webchat/{path}", json=body, headers={"authorization": f"Bearer {token}"}
        )


async def code_in(relay: mail.Relay, count: int) -> str:
    sent = (await relay.wait_for(count))[count - 1]
    found = re.search(r"\b(\d{6})\b", sent.get_content())
    assert found is not None, sent.get_content()
    return found.group(1)


async def grace_has_a_conversation(server: RunningServer) -> str:
    secret = await identity_secret(server)
    grace = await new_session(server.base_url, name="Grace", **vouched(GRACE, secret))
    async with await open_socket(server.ws_url) as ws:
        await hello(ws, grace["token"])
        await ws.send(text({"type": "message", "client_id": "g1", "text": "my order?"}))
        conversation_id: str = (await next_of(ws, "ack"))["conversation_id"]
    await server.services.pipeline.settled()
    return conversation_id


async def test_a_visitor_who_proves_the_address_joins_that_customer(
    site: RunningServer, relay: mail.Relay
) -> None:
    conversation_id = await grace_has_a_conversation(site)
    visitor = await new_session(site.base_url, email=GRACE)
    assert visitor["verified"] is False
    token = visitor["token"]

    asked = await post(site, token, "email-code", {"email": GRACE})
    assert asked.status_code == 202, asked.text
    assert asked.json() == {"sent_to": GRACE, "expires_in": 600}
    code = await code_in(relay, 1)
    assert relay.envelopes[0][1] == [GRACE]
    wrong = "000000" if code != "000000" else "111111"
    refused = await post(site, token, "email-code/confirm", {"code": wrong})
    assert refused.status_code == 422
    assert refused.json()["error"] == "wrong code; 4 tries left"

    confirmed = await post(site, token, "email-code/confirm", {"code": code})
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json() == {"verified": True, "reconnect": True}
    async with await open_socket(site.ws_url) as ws:
        assert (await hello(ws, token))["conversation_id"] == conversation_id
        assert (await next_of(ws, "message"))["message"]["text"] == "my order?"
    again = await new_session(site.base_url, token=token)
    assert (again["visitor_id"], again["verified"]) == (visitor["visitor_id"], True)
    used = await post(site, token, "email-code/confirm", {"code": code})
    assert used.status_code == 410  # a code works once


async def test_an_address_nobody_holds_verifies_the_visitors_own_contact(
    site: RunningServer, relay: mail.Relay
) -> None:
    visitor = await new_session(site.base_url, name="Newcomer")
    assert (
        await post(site, visitor["token"], "email-code", {"email": "new@example.com"})
    ).is_success
    code = await code_in(relay, 1)
    assert (await post(site, visitor["token"], "email-code/confirm", {"code": code})).is_success
    rows = await site.services.pool.fetch(
        "SELECT name, email, verified FROM contacts WHERE email = 'new@example.com'"
    )
    assert [tuple(r) for r in rows] == [("Newcomer", "new@example.com", True)]


async def test_five_wrong_tries_or_ten_minutes_void_the_code(
    site: RunningServer, relay: mail.Relay
) -> None:
    visitor = await new_session(site.base_url, email=GRACE)
    token = visitor["token"]
    assert (await post(site, token, "email-code", {"email": GRACE})).status_code == 202
    code = await code_in(relay, 1)
    wrong = "000000" if code != "000000" else "111111"
    answers = [await post(site, token, "email-code/confirm", {"code": wrong}) for _ in range(5)]
    assert [a.status_code for a in answers] == [422, 422, 422, 422, 410]
    assert answers[-1].json()["error"] == "wrong code; ask again"
    late = await post(site, token, "email-code/confirm", {"code": code})
    assert late.status_code == 410  # the right code, too late

    assert (await post(site, token, "email-code", {"email": GRACE})).status_code == 202
    fresh = await code_in(relay, 2)
    await site.services.pool.execute(
        "UPDATE contact_identities SET profile = jsonb_set(profile, '{email_code,expires_at}',"
        " to_jsonb((now() - interval '1 second')::text)) WHERE external_id = $1",
        visitor["visitor_id"],
    )
    expired = await post(site, token, "email-code/confirm", {"code": fresh})
    assert expired.status_code == 410
    assert "expired" in expired.json()["error"]
    verified = await site.services.pool.fetchval(
        "SELECT count(*) FROM contacts WHERE verified AND lower(email) = $1", GRACE
    )
    assert verified == 0


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({"code": "12345"}, 422, "code"),
        ({"code": "abcdef"}, 422, "code"),
        ({"code": "123456"}, 410, "no code is waiting"),
    ],
)
async def test_a_bad_confirmation_is_refused_precisely(
    site: RunningServer, body: dict[str, str], status: int, error: str
) -> None:
    visitor = await new_session(site.base_url)
    answer = await post(site, visitor["token"], "email-code/confirm", body)
    assert answer.status_code == status
    assert error in answer.json()["error"]


async def test_codes_are_limited_and_refused_to_the_verified(site: RunningServer) -> None:
    visitor = await new_session(site.base_url)
    statuses = [
        (await post(site, visitor["token"], "email-code", {"email": f"x{n}@example.com"}))
        for n in range(4)
    ]
    assert [s.status_code for s in statuses] == [202, 202, 202, 429]
    assert statuses[-1].headers["retry-after"] == "600"
    unauthorised = await post(site, "not-a-token", "email-code", {"email": GRACE})
    assert unauthorised.status_code == 401

    signed_in = await new_session(site.base_url, **vouched("u-1", await identity_secret(site)))
    again = await post(site, signed_in["token"], "email-code", {"email": GRACE})
    assert again.status_code == 409


async def test_without_a_mail_relay_codes_are_refused(server: RunningServer) -> None:
    plain = await new_session(server.base_url)
    off = await post(server, plain["token"], "email-code", {"email": GRACE})
    assert off.status_code == 503
    assert "sends no mail" in off.json()["error"]
