"""Web chat identity (issue 15), against a real server and Postgres: what a visitor types never
joins them to anyone; the embedding site vouches for its signed-in user with the hex
HMAC-SHA256 of their identifier made with the inbox's identity secret."""

from __future__ import annotations

import hashlib
import hmac
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
from websockets.asyncio.client import ClientConnection

from channels.base import Sender
from server import store
from server.services import demo
from tests.channels.webchat_client import (
    hello,
    new_session,
    next_frame,
    next_of,
    open_socket,
    text,
    vouched,
)
from tests.harness import ROOT, RunningServer, customer, identity_secret

SESSIONS = "/api/webchat/sessions"
GRACE = "grace@example.com"


@pytest.fixture
async def agent(server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        login = {"email": demo.AGENT_EMAIL, "password": demo.AGENT_PASSWORD}
        assert (await http.post("/console/api/login", json=login)).status_code == 200
        yield http


@pytest.fixture
async def admin(server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    token = server.services.settings.admin_api_token()
    headers = {"authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=server.base_url, headers=headers) as http:
        yield http


async def say(ws: ClientConnection, client_id: str, words: str) -> dict[str, Any]:
    await ws.send(text({"type": "message", "client_id": client_id, "text": words}))
    return await next_of(ws, "ack")


async def reply(agent: httpx.AsyncClient, conversation_id: str, words: str, n: str) -> None:
    path = f"/console/api/conversations/{conversation_id}/messages"
    response = await agent.post(path, json={"text": words, "client_id": n})
    assert response.status_code == 201, response.text


async def upload(base_url: str, token: str, content: bytes) -> int:
    async with httpx.AsyncClient(base_url=base_url) as http:
        sent = await http.post(
            "/api/webchat/files",
            params={"client_id": "statement", "filename": "statement.pdf"},
            content=content,
            headers={"authorization": f"Bearer {token}", "content-type": "application/pdf"},
        )
    assert sent.status_code == 201, sent.text
    message_id: int = sent.json()["message_id"]
    return message_id


async def download(base_url: str, token: str, message_id: int) -> httpx.Response:
    async with httpx.AsyncClient(base_url=base_url) as http:
        return await http.get(
            f"/api/webchat/messages/{message_id}/attachments/0",
            headers={"authorization": f"Bearer {token}"},
        )


async def contacts_with_email(server: RunningServer, email: str) -> list[dict[str, Any]]:
    rows = await server.services.pool.fetch(
        "SELECT id, name, verified FROM contacts WHERE lower(email) = lower($1)"
        " ORDER BY created_at",
        email,
    )
    return [dict(r) for r in rows]


async def test_a_visitor_typing_a_known_customers_email_gets_a_contact_of_their_own(
    server: RunningServer, agent: httpx.AsyncClient
) -> None:
    """No history, no files, no live replies of the known customer; the customer keeps their
    name; the typed address stays on the visitor's own, unverified contact."""
    secret = await identity_secret(server)
    grace = await new_session(server.base_url, name="Grace", **vouched(GRACE, secret))
    assert grace["verified"] is True
    async with await open_socket(server.ws_url) as grace_ws:
        await hello(grace_ws, grace["token"])
        conversation_id = (await say(grace_ws, "g1", "Which IBAN do I pay to?"))["conversation_id"]
        file_id = await upload(server.base_url, grace["token"], b"%PDF Grace's statement")
        await server.services.pipeline.settled()
        await reply(agent, conversation_id, "Pay to DE89 3704 0044 0532 0130 00", "r1")

        mallory = await new_session(server.base_url, email="Grace@Example.com", name="Mallory")
        assert mallory["verified"] is False
        async with await open_socket(server.ws_url) as mallory_ws:
            welcome = await hello(mallory_ws, mallory["token"])
            assert welcome["conversation_id"] is None  # no history to resume
            # The agent's next reply reaches Grace's socket, and nothing reaches Mallory's.
            await reply(agent, conversation_id, "Your refund is on its way", "r2")
            while (await next_of(grace_ws, "message"))["message"]["text"] != (
                "Your refund is on its way"
            ):
                pass
            await mallory_ws.send(text({"type": "ping"}))
            assert (await next_frame(mallory_ws))["type"] == "pong"
            # Mallory writing opens a conversation of her own.
            own = await say(mallory_ws, "m1", "hi, it's me, Grace")
            assert own["conversation_id"] != conversation_id

    assert (await download(server.base_url, mallory["token"], file_id)).status_code == 404
    assert (await download(server.base_url, grace["token"], file_id)).status_code == 200
    rows = await contacts_with_email(server, GRACE)
    assert [(r["name"], r["verified"]) for r in rows] == [("Grace", True), ("Mallory", False)]


async def test_a_valid_identifier_hash_joins_the_verified_contact_and_resumes_its_history(
    server: RunningServer, agent: httpx.AsyncClient
) -> None:
    """The same signed-in user on a second device (no token) sees the conversation, files
    included, as the first device left it."""
    secret = await identity_secret(server)
    first = await new_session(server.base_url, **vouched("user-42", secret), name="Ada")
    async with await open_socket(server.ws_url) as ws:
        await hello(ws, first["token"])
        conversation_id = (await say(ws, "a1", "Where is my order?"))["conversation_id"]
    file_id = await upload(server.base_url, first["token"], b"%PDF the invoice")
    await server.services.pipeline.settled()
    await reply(agent, conversation_id, "It ships tomorrow", "r1")

    second = await new_session(server.base_url, **vouched("user-42", secret))
    assert second["verified"] is True
    assert second["visitor_id"] != first["visitor_id"]
    async with await open_socket(server.ws_url) as ws:
        welcome = await hello(ws, second["token"])
        assert welcome["conversation_id"] == conversation_id
        seen = [(await next_of(ws, "message"))["message"]]
        while seen[-1]["text"] != "It ships tomorrow":
            seen.append((await next_of(ws, "message"))["message"])
    assert seen[0]["text"] == "Where is my order?"
    assert [m["seq"] for m in seen] == list(range(1, len(seen) + 1))
    assert any(m.get("attachments") for m in seen)
    assert (await download(server.base_url, second["token"], file_id)).status_code == 200
    contacts = await server.services.pool.fetch(
        "SELECT c.name, c.verified FROM contacts c JOIN contact_identities i"
        " ON i.contact_id = c.id WHERE i.channel = 'webchat-user'"
    )
    assert [(r["name"], r["verified"]) for r in contacts] == [("Ada", True)]


async def test_an_address_the_site_vouches_for_joins_the_contact_mail_made(
    server: RunningServer,
) -> None:
    """An identifier that is an email address is that address verified: the visitor joins the
    contact its mail made, and a contact a visitor only typed the address into is skipped."""
    pool = server.services.pool
    await new_session(server.base_url, email=GRACE, name="Typed")  # unverified, first
    async with pool.acquire() as conn:
        inbox = await store.inbox_by_address(conn, "email", demo.EMAIL_INBOX)
        by_mail = await store.resolve_contact(
            conn, inbox["brand_id"], "email", Sender(GRACE, name="Grace", email=GRACE)
        )
    secret = await identity_secret(server)
    session = await new_session(server.base_url, **vouched(GRACE, secret))
    joined = await pool.fetchval(
        "SELECT contact_id::text FROM contact_identities"
        " WHERE channel = 'webchat' AND external_id = $1",
        session["visitor_id"],
    )
    assert joined == by_mail
    rows = await contacts_with_email(server, GRACE)
    assert [(r["name"], r["verified"]) for r in rows] == [("Typed", False), ("Grace", True)]


@pytest.mark.parametrize(
    ("fields", "status", "error"),
    [
        (lambda s: {"identifier": "user-42", **_hash_of("user-43", s)}, 401, "is not the HMAC"),
        (lambda s: {"identifier": "user-42", **_hash_of("user-42", "x" * 40)}, 401, "HMAC"),
        (lambda s: {"identifier": "user-42"}, 422, "identifier and identifier_hash go together"),
        (lambda s: {"identifier": "user-42", "identifier_hash": "abc"}, 422, "identifier_hash"),
        (lambda s: {"identifier": " ", **_hash_of(" ", s)}, 422, "identifier is blank"),
    ],
)
async def test_a_wrong_hash_is_refused_with_a_clear_error_and_stores_nothing(
    server: RunningServer, fields: Any, status: int, error: str
) -> None:
    secret = await identity_secret(server)
    count = "SELECT count(*) FROM contacts"
    before = await server.services.pool.fetchval(count)
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        response = await http.post(SESSIONS, json={"inbox": "demo-web", **fields(secret)})
    assert response.status_code == status, response.text
    assert error in response.json()["error"]
    assert "token" not in response.json()  # never downgraded to an anonymous visitor
    assert await server.services.pool.fetchval(count) == before


def _hash_of(identifier: str, secret: str) -> dict[str, str]:
    return {"identifier_hash": vouched(identifier, secret)["identifier_hash"]}


async def test_an_identifier_for_an_inbox_without_a_secret_is_refused(
    server: RunningServer,
) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        response = await http.post(
            SESSIONS, json={"inbox": "demo-web", **vouched("user-42", "x" * 40)}
        )
    assert response.status_code == 401
    assert "verifies no identities" in response.json()["error"]


async def test_the_hash_is_the_documented_hmac_sha256(server: RunningServer) -> None:
    """The worked example of docs/webchat-identity.md, made with hashlib as a site would."""
    secret = await identity_secret(server)
    digest = hmac.new(secret.encode(), b"user-42", hashlib.sha256).hexdigest()
    session = await new_session(
        server.base_url, identifier="user-42", identifier_hash=digest.upper()
    )
    assert session["verified"] is True


async def test_a_signed_in_users_token_does_not_resume_after_sign_out(
    server: RunningServer,
) -> None:
    """On a shared browser: the next page without the user (or with another) starts a new
    visitor who sees nothing; the same user with the token keeps the visitor."""
    secret = await identity_secret(server)
    signed_in = await new_session(server.base_url, **vouched("user-42", secret))
    async with await open_socket(server.ws_url) as ws:
        await hello(ws, signed_in["token"])
        await say(ws, "s1", "my address is 1 Main St")
    token = signed_in["token"]
    signed_out = await new_session(server.base_url, token=token)
    other_user = await new_session(server.base_url, token=token, **vouched("user-7", secret))
    same = await new_session(server.base_url, token=token, **vouched("user-42", secret))
    assert signed_out["visitor_id"] != signed_in["visitor_id"]
    assert other_user["visitor_id"] != signed_in["visitor_id"]
    assert same["visitor_id"] == signed_in["visitor_id"]
    for session in (signed_out, other_user):
        async with await open_socket(server.ws_url) as ws:
            assert (await hello(ws, session["token"]))["conversation_id"] is None


async def test_one_identifier_in_two_brands_is_two_people(
    server: RunningServer, admin: httpx.AsyncClient
) -> None:
    assert (await admin.put("/api/admin/brands/other", json={})).status_code == 200
    made = await admin.put("/api/admin/inboxes/webchat/other-web", json={"brand": "other"})
    assert made.status_code == 200, made.text
    ours = await new_session(server.base_url, **vouched("user-42", await identity_secret(server)))
    theirs = await new_session(
        server.base_url,
        inbox="other-web",
        **vouched("user-42", await identity_secret(server, "other-web")),
    )
    rows = await server.services.pool.fetch(
        "SELECT external_id, contact_id FROM contact_identities WHERE channel = 'webchat'"
        " AND external_id = ANY($1::text[])",
        [ours["visitor_id"], theirs["visitor_id"]],
    )
    assert len({r["contact_id"] for r in rows}) == 2


async def test_the_console_says_whether_the_visitor_is_verified_and_linking_verifies(
    server: RunningServer, agent: httpx.AsyncClient
) -> None:
    """An agent links an unverified visitor to the customer it says it is (Link, the console's
    merge): the visitor's conversation is then the verified customer's, under their name."""
    known = await customer(server, "my parcel is late", "val@example.com")
    claimed = await agent.post(f"/console/api/conversations/{known}/claim")
    assert claimed.json()["contact"]["verified"] is True
    assert (await agent.post(f"/console/api/conversations/{known}/resolve")).status_code == 200

    session = await new_session(server.base_url, name="Val?", email="val@example.com")
    async with await open_socket(server.ws_url) as ws:
        await hello(ws, session["token"])
        visitor = (await say(ws, "v1", "it's Val again"))["conversation_id"]
    await server.services.pipeline.settled()
    view = (await agent.get(f"/console/api/conversations/{visitor}")).json()
    assert (view["contact"]["name"], view["contact"]["verified"]) == ("Val?", False)

    linked = await agent.post(
        f"/console/api/conversations/{visitor}/merge-contact", json={"contact": "val@example.com"}
    )
    assert linked.status_code == 200, linked.text
    contact = linked.json()["contact"]
    assert (contact["name"], contact["email"], contact["verified"]) == (
        "val",
        "val@example.com",
        True,
    )
    # One person now: the verified customer's old conversation is theirs too.
    assert (await agent.get(f"/console/api/conversations/{known}")).json()["contact"][
        "id"
    ] == contact["id"]
    assert len(await contacts_with_email(server, "val@example.com")) == 1


async def test_mail_never_joins_a_contact_a_visitor_only_typed_the_address_into(
    server: RunningServer,
) -> None:
    session = await new_session(server.base_url, email=GRACE)
    pool = server.services.pool
    typed = await pool.fetchval(
        "SELECT contact_id::text FROM contact_identities WHERE external_id = $1",
        session["visitor_id"],
    )
    async with pool.acquire() as conn:
        inbox = await store.inbox_by_address(conn, "email", demo.EMAIL_INBOX)
        by_mail = await store.resolve_contact(
            conn, inbox["brand_id"], "email", Sender(GRACE, email=GRACE)
        )
    assert by_mail != typed


async def test_the_admin_sets_rotates_and_clears_the_secret_without_reading_it_back(
    server: RunningServer, admin: httpx.AsyncClient
) -> None:
    path = "/api/admin/inboxes/webchat/demo-web/identity-secret"
    assert (await admin.get(path)).json()["identity_verification"] is False
    made = (await admin.put(path, json={})).json()
    secret = made["identity_secret"]
    assert len(secret) == 64
    shown = (await admin.get(path)).json()
    assert shown["identity_verification"] is True
    assert shown["identity_secret"] is None
    assert secret not in (await admin.get("/api/admin/inboxes")).text
    assert (await new_session(server.base_url, **vouched("u1", secret)))["verified"] is True

    own = "a-site-secret-of-forty-characters-000000"
    response = await admin.put(path, json={"secret": own})
    assert response.status_code == 200
    assert response.json()["identity_secret"] is None  # given, so not echoed
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        stale = await http.post(SESSIONS, json={"inbox": "demo-web", **vouched("u1", secret)})
    assert stale.status_code == 401  # rotated: the old secret's hashes fail
    assert (await new_session(server.base_url, **vouched("u1", own)))["verified"] is True

    short = await admin.put(path, json={"secret": "short"})
    assert short.status_code == 422
    email_inbox = await admin.put(
        f"/api/admin/inboxes/email/{demo.EMAIL_INBOX}/identity-secret", json={}
    )
    assert email_inbox.status_code == 422
    assert (await admin.get("/api/admin/inboxes/webchat/nope/identity-secret")).status_code == 404
    cleared = await admin.delete(path)
    assert cleared.json()["identity_verification"] is False
    audit = (await admin.get("/api/admin/audit?action=inbox.")).json()
    assert [e["action"] for e in audit["entries"] if e["target_id"] == "webchat:demo-web"] == [
        "inbox.identity_secret_cleared",
        "inbox.identity_secret_set",
        "inbox.identity_secret_set",
    ]
    assert secret not in str(audit)
    assert own not in str(audit)
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        off = await http.post(SESSIONS, json={"inbox": "demo-web", **vouched("u1", own)})
    assert off.status_code == 401


async def test_the_cli_makes_a_secret_once_and_reports_without_it(dsn: str) -> None:
    env = {**os.environ, "SWITCHBOARD_DATABASE_URL": dsn}

    def switchboard(*args: str) -> dict[str, Any]:
        done = subprocess.run(
            [sys.executable, "-m", "server.cli.main", "inbox", "identity-secret", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        result: dict[str, Any] = orjson.loads(done.stdout)
        return result

    made = switchboard("demo-web")
    assert len(made["identity_secret"]) == 64
    status = switchboard("demo-web", "--status")
    assert (status["identity_verification"], status["identity_secret"]) == (True, None)
    assert switchboard("demo-web", "--off")["identity_verification"] is False
