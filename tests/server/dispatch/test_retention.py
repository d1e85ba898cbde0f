"""Retention on a real server: the sweep, run with a clock, anonymises what was resolved longer
ago than the brand keeps conversations, prunes the replay log and deletes old files and raw
mail, records what it did, and leaves everything newer alone."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from server.dispatch.sweeps import LEASE
from server.errors import InvalidInput
from server.store import retention
from tests.harness import RunningServer, customer

NOW = datetime.now(UTC)


async def _age(server: RunningServer, table: str, column: str, where: str, days: float) -> None:
    await server.services.pool.execute(
        f"UPDATE {table} SET {column} = now() - make_interval(days => $1) WHERE {where}", days
    )


async def test_the_sweep_applies_each_setting_and_only_to_what_is_old_enough(
    server: RunningServer,
) -> None:
    sweeps = server.services.sweeps
    sweeps.retention_at = NOW  # the node's own hourly round waits; this test runs it
    pool = server.services.pool
    old = await customer(server, "words of an old conversation")
    recent = await customer(server, "words of a recent conversation")
    await pool.execute(
        "UPDATE conversations SET status = 'resolved',"
        " resolved_at = now() - CASE WHEN id = $1::uuid THEN interval '10 days'"
        "                           ELSE interval '1 day' END",
        old,
    )
    # A file and a raw mail four days old in the recent conversation; one of today.
    first = await pool.fetchval(
        "SELECT min(id) FROM messages WHERE conversation_id = $1::uuid", recent
    )
    await _age(server, "messages", "created_at", f"id = {first}", 4)
    await pool.execute(
        "INSERT INTO attachments (message_id, position, filename, content_type, size, content)"
        " SELECT id, 0, 'old.txt', 'text/plain', 3, 'old'::bytea FROM messages WHERE id = $1"
        " UNION ALL SELECT max(id), 0, 'new.txt', 'text/plain', 3, 'new'::bytea FROM messages"
        "  WHERE conversation_id = $2::uuid AND id <> $1",
        first,
        recent,
    )
    for days in (4, 0):
        await pool.execute(
            "INSERT INTO mail_receipts (peer, mail_from, rcpt_tos, raw, state, conversation_id,"
            " received_at) VALUES ('192.0.2.1', 'a@example.com',"
            " ARRAY['support@demo.switchboard.test'], 'raw', 'stored', $1::uuid,"
            " now() - make_interval(days => $2))",
            recent,
            days,
        )
    # One event of the recent conversation past the replay window.
    aged_event = await pool.fetchval(
        "SELECT min(id) FROM events WHERE conversation_id = $1::uuid", recent
    )
    await _age(server, "events", "created_at", f"id = {aged_event}", 6)
    recent_events = await pool.fetchval(
        "SELECT count(*) FROM events WHERE conversation_id = $1::uuid", recent
    )

    # By default conversations and files are kept, and events for 30 days: nothing to do.
    assert await sweeps.retention(NOW) == []
    async with pool.acquire() as conn:
        brand = (await retention.retention(conn))[0].brand_id
        await retention.set_retention(
            conn,
            brand,
            {"retention_days": 7, "events_retention_days": 5, "files_retention_days": 3},
        )
    [applied] = await sweeps.retention(NOW)

    assert (applied.brand, applied.conversations, applied.attachments, applied.mail_receipts) == (
        "demo",
        1,
        1,
        1,
    )
    texts = await pool.fetch(
        "SELECT conversation_id::text AS c, text FROM messages WHERE conversation_id = ANY($1)",
        [old, recent],
    )
    assert {r["text"] for r in texts if r["c"] == old} == {"[erased]"}
    assert "words of a recent conversation" in {r["text"] for r in texts if r["c"] == recent}
    assert (
        await pool.fetchval("SELECT count(*) FROM events WHERE conversation_id = $1::uuid", old)
        == 0
    )
    assert (
        await pool.fetchval("SELECT count(*) FROM events WHERE conversation_id = $1::uuid", recent)
        == recent_events - 1
    )
    assert [r["filename"] for r in await pool.fetch("SELECT filename FROM attachments")] == [
        "new.txt"
    ]
    assert await pool.fetchval("SELECT count(*) FROM mail_receipts") == 1
    anonymised = await pool.fetch("SELECT id::text, anonymised_at FROM conversations")
    assert {r["id"] for r in anonymised if r["anonymised_at"] is not None} == {old}
    entry = await pool.fetchrow("SELECT * FROM audit_log WHERE action = 'retention.applied'")
    assert entry is not None
    assert (entry["actor_label"], entry["target_id"], entry["detail"]["conversations"]) == (
        "system",
        "demo",
        1,
    )

    # Again at once: nothing left to do, and nothing recorded.
    assert await sweeps.retention(NOW) == []
    # Eight days on, the recent conversation's turn has come.
    [later] = await sweeps.retention(NOW + timedelta(days=8))
    assert later.conversations == 1
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM messages WHERE conversation_id = $1::uuid AND text <> '[erased]'",
            recent,
        )
        == 0
    )
    assert await pool.fetchval("SELECT count(*) FROM audit_log") == 2


async def test_a_round_of_the_sweeps_applies_retention_once_an_hour(
    server: RunningServer,
) -> None:
    sweeps = server.services.sweeps
    sweeps.retention_at = None
    assert await sweeps.run_once()
    first = sweeps.retention_at
    assert first is not None
    assert await sweeps.run_once()
    assert sweeps.retention_at == first
    sweeps.retention_at = first - timedelta(hours=1, seconds=1)
    assert await sweeps.run_once()
    assert sweeps.retention_at is not None
    assert sweeps.retention_at > first


async def test_a_brand_that_deletes_loses_its_old_conversations_and_all_they_held(
    server: RunningServer,
) -> None:
    """retention_action 'delete': a conversation resolved longer ago than the brand keeps them
    is gone with its messages, files, raw mail, events, notes and rating; the contact and the
    newer conversations stay."""
    sweeps = server.services.sweeps
    sweeps.retention_at = NOW
    pool = server.services.pool
    old = await customer(server, "words of an old conversation")
    recent = await customer(server, "words of a recent conversation")
    # The old one was anonymised by an earlier setting: deleting takes it all the same.
    await pool.execute(
        "UPDATE conversations SET status = 'resolved', anonymised_at = CASE WHEN id = $1::uuid"
        " THEN now() END, resolved_at = now() - CASE WHEN id = $1::uuid THEN interval '10 days'"
        " ELSE interval '1 day' END",
        old,
    )
    await pool.execute(
        "INSERT INTO attachments (message_id, position, filename, content_type, size, content)"
        " SELECT min(id), 0, 'old.txt', 'text/plain', 3, 'old'::bytea FROM messages"
        " WHERE conversation_id = $1::uuid",
        old,
    )
    await pool.execute(
        "INSERT INTO mail_receipts (peer, mail_from, rcpt_tos, raw, state, conversation_id)"
        " VALUES ('192.0.2.1', 'a@example.com', ARRAY['support@demo.switchboard.test'], 'raw',"
        " 'stored', $1::uuid)",
        old,
    )
    await pool.execute("INSERT INTO notes (conversation_id, text) VALUES ($1::uuid, 'a note')", old)
    await pool.execute(
        "INSERT INTO csat (conversation_id, brand_id, rating, comment)"
        " SELECT id, brand_id, 4, 'fine' FROM conversations WHERE id = $1::uuid",
        old,
    )
    contacts = await pool.fetchval("SELECT count(*) FROM contacts")
    async with pool.acquire() as conn:
        brand = (await retention.retention(conn))[0].brand_id
        await retention.set_retention(conn, brand, {"retention_days": 7})
        await retention.set_retention_action(conn, brand, "delete")
    [applied] = await sweeps.retention(NOW)

    assert (applied.deleted, applied.conversations, applied.attachments) == (1, 0, 1)
    assert applied.mail_receipts == 1
    assert applied.messages >= 1
    assert applied.events >= 1
    for table in ("conversations", "events", "notes", "csat", "mail_receipts"):
        column = "id" if table == "conversations" else "conversation_id"
        left = await pool.fetchval(f"SELECT count(*) FROM {table} WHERE {column} = $1::uuid", old)
        assert left == 0, table
    assert await pool.fetchval("SELECT count(*) FROM attachments") == 0
    assert (
        await pool.fetchval("SELECT count(*) FROM messages WHERE conversation_id = $1::uuid", old)
        == 0
    )
    assert await pool.fetchval("SELECT count(*) FROM contacts") == contacts
    assert await pool.fetchval(
        "SELECT count(*) FROM messages WHERE conversation_id = $1::uuid AND text <> '[erased]'",
        recent,
    )
    entry = await pool.fetchrow("SELECT * FROM audit_log WHERE action = 'retention.applied'")
    assert entry is not None
    assert (entry["detail"]["deleted"], entry["detail"]["conversations"]) == (1, 0)
    async with pool.acquire() as conn:
        with pytest.raises(InvalidInput, match=r"^retention_action: anonymise or delete$"):
            await retention.set_retention_action(conn, brand, "shred")


async def test_only_the_node_holding_the_sweeps_lease_applies_retention(
    server: RunningServer,
) -> None:
    sweeps = server.services.sweeps
    pool = server.services.pool
    old = await customer(server, "words of an old conversation")
    await pool.execute(
        "UPDATE conversations SET status = 'resolved', resolved_at = now() - interval '10 days'"
        " WHERE id = $1::uuid",
        old,
    )
    # Another node holds the lease (taken before the setting, so this node's own loop never
    # gets a round in with it): this one's round does nothing, retention included.
    await pool.execute(
        "INSERT INTO leases (name, holder, expires_at) VALUES ($1, 'another-node',"
        " now() + interval '1 hour') ON CONFLICT (name) DO UPDATE"
        " SET holder = 'another-node', expires_at = now() + interval '1 hour'",
        LEASE,
    )
    async with pool.acquire() as conn:
        brand = (await retention.retention(conn))[0].brand_id
        await retention.set_retention(conn, brand, {"retention_days": 7})
    sweeps.retention_at = None
    assert not await sweeps.run_once()
    assert sweeps.retention_at is None

    def anonymised() -> Awaitable[Any]:
        return pool.fetchval(
            "SELECT anonymised_at IS NOT NULL FROM conversations WHERE id = $1::uuid", old
        )

    assert not await anonymised()
    # That node dies (its lease expires): this one takes over, and applies retention.
    await pool.execute("UPDATE leases SET expires_at = now() - interval '1 second'")
    assert await sweeps.run_once()
    assert await anonymised()
