"""The audit log on a real Postgres: entries are appended and listed with filters and keyset
pages, and the database itself refuses to change or delete one."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from server.store import audit
from server.store.audit import AuditQuery


async def _fill(pool: asyncpg.Pool) -> tuple[str, str]:
    agent, brand = str(uuid.uuid4()), str(uuid.uuid4())
    async with pool.acquire() as conn:
        await audit.record(conn, action="brand.changed", actor_label="admin token", brand_id=brand)
        await audit.record(
            conn,
            action="conversation.claimed",
            actor_id=agent,
            actor_label="lea@example.com",
            brand_id=brand,
            target_kind="conversation",
            target_id="c-1",
            detail={"how": "claim"},
            address="192.0.2.7",
        )
        await audit.record(conn, action="contact.erased", target_kind="contact", target_id="k-1")
        await audit.record(conn, action="contact.exported", target_kind="contact", target_id="k-1")
    return agent, brand


async def _actions(pool: asyncpg.Pool, query: AuditQuery) -> list[str]:
    async with pool.acquire() as conn:
        page = await audit.entries(conn, query)
    return [e["action"] for e in page["entries"]]


async def test_entries_are_listed_newest_first_with_every_field(pool: asyncpg.Pool) -> None:
    agent, brand = await _fill(pool)
    async with pool.acquire() as conn:
        page = await audit.entries(conn, AuditQuery())
    assert [e["action"] for e in page["entries"]] == [
        "contact.exported",
        "contact.erased",
        "conversation.claimed",
        "brand.changed",
    ]
    assert page["next"] is None
    claimed = page["entries"][2]
    assert claimed["actor_id"] == agent
    assert claimed["actor_label"] == "lea@example.com"
    assert claimed["brand_id"] == brand
    assert (claimed["target_kind"], claimed["target_id"]) == ("conversation", "c-1")
    assert claimed["detail"] == {"how": "claim"}
    assert claimed["address"] == "192.0.2.7"
    assert datetime.fromisoformat(claimed["at"]) <= datetime.now(UTC)
    system = page["entries"][1]
    assert (system["actor_id"], system["actor_label"], system["detail"]) == (None, "system", {})


async def test_each_filter_narrows_the_list(pool: asyncpg.Pool) -> None:
    agent, brand = await _fill(pool)
    assert await _actions(pool, AuditQuery(actor=agent)) == ["conversation.claimed"]
    assert await _actions(pool, AuditQuery(actor="LEA@example.com")) == ["conversation.claimed"]
    assert await _actions(pool, AuditQuery(actor="admin token")) == ["brand.changed"]
    assert await _actions(pool, AuditQuery(action="contact.erased")) == ["contact.erased"]
    # A family of actions by its prefix.
    assert await _actions(pool, AuditQuery(action="contact.")) == [
        "contact.exported",
        "contact.erased",
    ]
    assert await _actions(pool, AuditQuery(action="contact")) == []
    assert await _actions(pool, AuditQuery(brand_id=brand)) == [
        "conversation.claimed",
        "brand.changed",
    ]
    assert await _actions(pool, AuditQuery(target_kind="contact", target_id="k-1")) == [
        "contact.exported",
        "contact.erased",
    ]
    assert await _actions(pool, AuditQuery(target_kind="conversation")) == ["conversation.claimed"]
    now = datetime.now(UTC)
    assert len(await _actions(pool, AuditQuery(since=now - timedelta(minutes=5)))) == 4
    assert await _actions(pool, AuditQuery(since=now + timedelta(minutes=5))) == []
    assert await _actions(pool, AuditQuery(until=now - timedelta(minutes=5))) == []


async def test_pages_follow_each_other_by_their_next_key(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        for n in range(7):
            await audit.record(conn, action="skill.changed", target_kind="skill", target_id=str(n))
        seen: list[str | None] = []
        before = None
        while True:
            page = await audit.entries(conn, AuditQuery(limit=3, before=before))
            seen += [e["target_id"] for e in page["entries"]]
            if page["next"] is None:
                break
            before = page["next"]
    assert seen == [str(n) for n in reversed(range(7))]


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET action = 'nothing.happened'",
        "UPDATE audit_log SET detail = '{}' WHERE action = 'contact.erased'",
        "DELETE FROM audit_log",
        "DELETE FROM audit_log WHERE action = 'contact.erased'",
        "TRUNCATE audit_log",
    ],
)
async def test_the_database_refuses_to_change_or_delete_an_entry(
    pool: asyncpg.Pool, statement: str
) -> None:
    await _fill(pool)
    with pytest.raises(asyncpg.RaiseError, match="audit_log is append-only"):
        await pool.execute(statement)
    assert await pool.fetchval("SELECT count(*) FROM audit_log") == 4
