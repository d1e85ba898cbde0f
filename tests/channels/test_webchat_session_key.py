"""A widget's session request repeated with its key (issue 21): the proxy retried it on another
node after the first died holding it, or the widget asked again after a lost answer. The same
key is the same visitor, with one contact; against a real server and Postgres."""

from __future__ import annotations

import asyncio
import secrets

import httpx
import pytest

from tests.channels.webchat_client import new_session
from tests.harness import RunningServer

SESSIONS = "/api/webchat/sessions"
CONTACTS = "SELECT count(*) FROM contacts"


async def test_the_same_key_twice_is_one_visitor_and_one_contact(server: RunningServer) -> None:
    key = secrets.token_hex(16)
    pool = server.services.pool
    before = await pool.fetchval(CONTACTS)
    first = await new_session(server.base_url, key=key)
    again = await new_session(server.base_url, key=key)
    assert again["visitor_id"] == first["visitor_id"]
    assert await pool.fetchval(CONTACTS) - before == 1


async def test_requests_with_one_key_at_once_make_one_contact(server: RunningServer) -> None:
    """As when the proxy's retry and a slow first try both reach a node."""
    key = secrets.token_hex(16)
    pool = server.services.pool
    before = await pool.fetchval(CONTACTS)
    sessions = await asyncio.gather(*(new_session(server.base_url, key=key) for _ in range(8)))
    assert len({s["visitor_id"] for s in sessions}) == 1
    assert await pool.fetchval(CONTACTS) - before == 1


async def test_other_keys_and_no_key_are_other_visitors(server: RunningServer) -> None:
    one = await new_session(server.base_url, key=secrets.token_hex(16))
    other = await new_session(server.base_url, key=secrets.token_hex(16))
    unkeyed = [await new_session(server.base_url) for _ in range(2)]
    ids = {one["visitor_id"], other["visitor_id"], *(s["visitor_id"] for s in unkeyed)}
    assert len(ids) == 4


async def test_a_valid_token_wins_over_the_key(server: RunningServer) -> None:
    first = await new_session(server.base_url)
    again = await new_session(server.base_url, token=first["token"], key=secrets.token_hex(16))
    assert again["visitor_id"] == first["visitor_id"]


async def test_a_key_whose_visitor_is_over_an_hour_old_is_refused_with_409(
    server: RunningServer,
) -> None:
    """A key is for retries, not a lasting way back to a visitor (the token is that)."""
    key = secrets.token_hex(16)
    first = await new_session(server.base_url, key=key)
    await server.services.pool.execute(
        "UPDATE contact_identities SET created_at = now() - interval '61 minutes'"
        " WHERE channel = 'webchat' AND external_id = $1",
        first["visitor_id"],
    )
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        answer = await http.post(SESSIONS, json={"inbox": "demo-web", "key": key})
    assert answer.status_code == 409, answer.text
    assert "new key" in answer.json()["error"]


@pytest.mark.parametrize(
    "key",
    ["short", "x" * 65, "has spaces in it, twenty-two+", "semi;colon-0123456789abcdef", 42],
)
async def test_a_key_that_is_not_22_to_64_url_safe_characters_is_a_422(
    server: RunningServer, key: object
) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        answer = await http.post(SESSIONS, json={"inbox": "demo-web", "key": key})
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"].startswith("key:")
