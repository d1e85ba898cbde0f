"""Second factors and password links (migration 0012): TOTP secrets, recovery codes, and the
single-use invite and reset links. Secrets a client holds are stored as SHA-256 hashes; the
caller hashes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TypedDict
from uuid import UUID

from server.store.views import Conn


class TotpState(TypedDict):
    pending: str | None
    secret: str | None
    last_step: int | None
    recovery_codes_left: int


async def totp_state(conn: Conn, agent_id: UUID, *, lock: bool = False) -> TotpState:
    """The agent's TOTP columns; ``lock`` holds the row to the end of the transaction (two
    logins with one code cannot both pass)."""
    row = await conn.fetchrow(
        "SELECT totp_pending, totp_secret, totp_last_step FROM agents WHERE id = $1"
        + (" FOR UPDATE" if lock else ""),
        agent_id,
    )
    left = await conn.fetchval(
        "SELECT count(*) FROM recovery_codes WHERE agent_id = $1 AND used_at IS NULL", agent_id
    )
    return TotpState(
        pending=row["totp_pending"] if row else None,
        secret=row["totp_secret"] if row else None,
        last_step=row["totp_last_step"] if row else None,
        recovery_codes_left=int(left or 0),
    )


async def set_pending(conn: Conn, agent_id: UUID, secret: str) -> None:
    await conn.execute("UPDATE agents SET totp_pending = $2 WHERE id = $1", agent_id, secret)


async def enable(
    conn: Conn, agent_id: UUID, secret: str, step: int, code_hashes: Sequence[bytes]
) -> None:
    """The pending secret is in use from now on, with a new set of recovery codes."""
    await conn.execute(
        "UPDATE agents SET totp_secret = $2, totp_pending = NULL, totp_last_step = $3"
        " WHERE id = $1",
        agent_id,
        secret,
        step,
    )
    await conn.execute("DELETE FROM recovery_codes WHERE agent_id = $1", agent_id)
    await conn.executemany(
        "INSERT INTO recovery_codes (agent_id, code_hash) VALUES ($1, $2)",
        [(agent_id, h) for h in code_hashes],
    )


async def disable(conn: Conn, agent_id: UUID) -> None:
    await conn.execute(
        "UPDATE agents SET totp_secret = NULL, totp_pending = NULL, totp_last_step = NULL"
        " WHERE id = $1",
        agent_id,
    )
    await conn.execute("DELETE FROM recovery_codes WHERE agent_id = $1", agent_id)


async def accept_step(conn: Conn, agent_id: UUID, step: int) -> bool:
    """Record ``step`` as the last one used, unless it or a later one already was (a replay)."""
    done = await conn.fetchval(
        "UPDATE agents SET totp_last_step = $2 WHERE id = $1"
        " AND (totp_last_step IS NULL OR totp_last_step < $2) RETURNING id",
        agent_id,
        step,
    )
    return done is not None


async def use_recovery_code(conn: Conn, agent_id: UUID, code_hash: bytes, now: datetime) -> bool:
    """Spend one recovery code; False when it is not one of the agent's unused codes."""
    done = await conn.fetchval(
        "UPDATE recovery_codes SET used_at = $3"
        " WHERE agent_id = $1 AND code_hash = $2 AND used_at IS NULL RETURNING agent_id",
        agent_id,
        code_hash,
        now,
    )
    return done is not None


class PasswordLink(TypedDict):
    agent_id: str
    purpose: str
    expires_at: datetime


async def insert_link(
    conn: Conn,
    agent_id: UUID,
    token_hash: bytes,
    purpose: str,
    now: datetime,
    expires_at: datetime,
) -> None:
    """A new link; the agent's earlier unused links of any purpose stop working (only the
    newest mail's link counts)."""
    await conn.execute(
        "DELETE FROM password_links WHERE agent_id = $1 AND used_at IS NULL", agent_id
    )
    await conn.execute(
        "INSERT INTO password_links (token_hash, agent_id, purpose, created_at, expires_at)"
        " VALUES ($1, $2, $3, $4, $5)",
        token_hash,
        agent_id,
        purpose,
        now,
        expires_at,
    )


async def link_made_since(conn: Conn, agent_id: UUID, since: datetime) -> bool:
    """Whether a link was made for the agent after ``since``."""
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM password_links WHERE agent_id = $1 AND created_at > $2)",
            agent_id,
            since,
        )
    )


async def live_link(conn: Conn, token_hash: bytes, now: datetime) -> PasswordLink | None:
    """The unused, unexpired link with this token (of an active agent)."""
    row = await conn.fetchrow(
        "SELECT l.agent_id, l.purpose, l.expires_at FROM password_links l"
        " JOIN agents a ON a.id = l.agent_id"
        " WHERE l.token_hash = $1 AND l.used_at IS NULL AND l.expires_at > $2 AND a.active",
        token_hash,
        now,
    )
    if row is None:
        return None
    return PasswordLink(
        agent_id=str(row["agent_id"]), purpose=row["purpose"], expires_at=row["expires_at"]
    )


async def use_link(conn: Conn, token_hash: bytes, now: datetime) -> PasswordLink | None:
    """Spend the link (once: a second use finds nothing)."""
    row = await conn.fetchrow(
        "UPDATE password_links SET used_at = $2"
        " WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2"
        " RETURNING agent_id, purpose, expires_at",
        token_hash,
        now,
    )
    if row is None:
        return None
    return PasswordLink(
        agent_id=str(row["agent_id"]), purpose=row["purpose"], expires_at=row["expires_at"]
    )
