"""The api_tokens table (migration 0012): personal API tokens, stored as SHA-256 hashes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TypedDict
from uuid import UUID

import asyncpg

from server.store.agents import ACCOUNT_SQL, AgentAccount, account_of
from server.store.views import Conn, iso

# Tokens one agent may hold at once (revoked and expired ones do not count).
MAX_PER_AGENT = 100


class TokenRow(TypedDict):
    id: str
    name: str
    hint: str
    scopes: list[str]
    created_at: str
    expires_at: str
    last_used_at: str | None


def _row(row: asyncpg.Record) -> TokenRow:
    return TokenRow(
        id=str(row["id"]),
        name=row["name"],
        hint=row["hint"],
        scopes=list(row["scopes"]),
        created_at=iso(row["created_at"]) or "",
        expires_at=iso(row["expires_at"]) or "",
        last_used_at=iso(row["last_used_at"]),
    )


async def live_count(conn: Conn, agent_id: UUID, now: datetime) -> int:
    return int(
        await conn.fetchval(
            "SELECT count(*) FROM api_tokens"
            " WHERE agent_id = $1 AND revoked_at IS NULL AND expires_at > $2",
            agent_id,
            now,
        )
    )


async def insert(
    conn: Conn,
    *,
    agent_id: UUID,
    name: str,
    token_hash: bytes,
    hint: str,
    scopes: Sequence[str],
    now: datetime,
    expires_at: datetime,
) -> TokenRow:
    row = await conn.fetchrow(
        "INSERT INTO api_tokens (agent_id, name, token_hash, hint, scopes, created_at,"
        " expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *",
        agent_id,
        name,
        token_hash,
        hint,
        list(scopes),
        now,
        expires_at,
    )
    assert row is not None
    return _row(row)


async def of_agent(conn: Conn, agent_id: UUID, now: datetime) -> list[TokenRow]:
    """The agent's live tokens, newest first."""
    rows = await conn.fetch(
        "SELECT * FROM api_tokens WHERE agent_id = $1 AND revoked_at IS NULL"
        " AND expires_at > $2 ORDER BY created_at DESC",
        agent_id,
        now,
    )
    return [_row(r) for r in rows]


async def revoke(conn: Conn, agent_id: UUID, token_id: UUID, now: datetime) -> TokenRow | None:
    row = await conn.fetchrow(
        "UPDATE api_tokens SET revoked_at = $3"
        " WHERE agent_id = $1 AND id = $2 AND revoked_at IS NULL AND expires_at > $3"
        " RETURNING *",
        agent_id,
        token_id,
        now,
    )
    return _row(row) if row else None


class TokenHolder(TypedDict):
    account: AgentAccount
    token_id: str
    scopes: list[str]


async def holder(conn: Conn, token_hash: bytes, now: datetime) -> TokenHolder | None:
    """The active agent holding this live token, and its scopes; its use is noted (at most
    once a minute)."""
    row = await conn.fetchrow(
        f"""SELECT acc.*, t.id AS token_id, t.scopes AS token_scopes,
                   t.last_used_at AS token_used
              FROM api_tokens t
              CROSS JOIN LATERAL ({ACCOUNT_SQL} WHERE a.id = t.agent_id AND a.active) acc
             WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND t.expires_at > $2""",
        token_hash,
        now,
    )
    if row is None:
        return None
    used = row["token_used"]
    if used is None or (now - used).total_seconds() >= 60:
        await conn.execute(
            "UPDATE api_tokens SET last_used_at = $2 WHERE id = $1", row["token_id"], now
        )
    return TokenHolder(
        account=account_of(row), token_id=str(row["token_id"]), scopes=list(row["token_scopes"])
    )
