"""Contacts over a real Postgres: a channel's profile fills what a contact lacks, and only that."""

from __future__ import annotations

import asyncpg

from channels.base import Sender
from server import store


async def _slack_contact(pool: asyncpg.Pool, user: str) -> str:
    async with pool.acquire() as conn:
        await store.ensure_inbox(conn, "slack", "T0TEAM", "Slack T0TEAM", None)
        inbox = await store.inbox_by_address(conn, "slack", "T0TEAM")
        return await store.resolve_contact(conn, inbox["brand_id"], "slack", Sender(user))


async def _row(pool: asyncpg.Pool, contact: str) -> asyncpg.Record:
    row = await pool.fetchrow(
        "SELECT name, email, updated_at, xmin::text AS version FROM contacts WHERE id = $1",
        contact,
    )
    assert row is not None
    return row


async def test_a_profile_fills_what_is_missing_and_a_known_one_writes_nothing(
    pool: asyncpg.Pool,
) -> None:
    """The first profile fills the name and email; the same profile again (each message a
    writer sends looks it up) leaves the row as it is, not even its updated_at; an email
    learnt later fills the email and keeps the name an agent set."""
    contact = await _slack_contact(pool, "U0ADA")
    async with pool.acquire() as conn:
        await store.fill_missing_profile(conn, "slack", "U0ADA", "Ada Lovelace", None)
    first = await _row(pool, contact)
    assert (first["name"], first["email"]) == ("Ada Lovelace", None)
    async with pool.acquire() as conn:
        await store.fill_missing_profile(conn, "slack", "U0ADA", "Ada Lovelace", None)
        await store.fill_missing_profile(conn, "slack", "U0ADA", None, None)
    again = await _row(pool, contact)
    assert (again["updated_at"], again["version"]) == (first["updated_at"], first["version"])
    await pool.execute("UPDATE contacts SET name = 'Ada (VIP)' WHERE id = $1", contact)
    async with pool.acquire() as conn:
        await store.fill_missing_profile(conn, "slack", "U0ADA", "Ada Lovelace", "ada@example.com")
    filled = await _row(pool, contact)
    assert (filled["name"], filled["email"]) == ("Ada (VIP)", "ada@example.com")
    assert filled["updated_at"] > first["updated_at"]


async def test_a_profile_for_an_unknown_identity_changes_nothing(pool: asyncpg.Pool) -> None:
    before = await pool.fetchval("SELECT count(*) FROM contacts WHERE name IS NOT NULL")
    async with pool.acquire() as conn:
        await store.fill_missing_profile(conn, "slack", "U0NOBODY", "Nobody", "no@example.com")
    assert await pool.fetchval("SELECT count(*) FROM contacts WHERE name IS NOT NULL") == before
