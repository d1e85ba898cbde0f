"""The audit log: who did what and when (migration 0011).

Entries are appended in the transaction of the change they record, where there is one, so a
change and its entry are committed together or not at all. The table refuses UPDATE, DELETE
and TRUNCATE (a trigger), so nothing here, nor anything else, can rewrite the record.

An entry names a contact by its id only, never by name or address: erasing a contact then
needs nothing from the log, and the log keeps the erasure's own entry.

Actions are dotted names, ``<what>.<verb>``: ``agent.created``, ``brand.changed``,
``contact.erased``; docs/privacy.md lists them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypedDict
from uuid import UUID

from server.errors import InvalidInput
from server.store.views import Conn, iso, optional_str

# Who acts when no agent does.
SYSTEM = "system"
ADMIN_TOKEN = "admin token"
# An action ("contact.erased") or a family of them ("contact.").
ACTION = re.compile(r"^[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?$")


async def record(
    conn: Conn,
    *,
    action: str,
    actor_id: str | None = None,
    actor_label: str = SYSTEM,
    brand_id: str | None = None,
    target_kind: str | None = None,
    target_id: str | None = None,
    detail: Mapping[str, object] | None = None,
    address: str | None = None,
) -> None:
    """Append one entry; call it on the connection (and in the transaction) of the change."""
    await conn.execute(
        """INSERT INTO audit_log (actor_id, actor_label, action, brand_id, target_kind,
                                  target_id, detail, address)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
        UUID(actor_id) if actor_id else None,
        actor_label,
        action,
        UUID(brand_id) if brand_id else None,
        target_kind,
        target_id,
        dict(detail or {}),
        address,
    )


class AuditEntry(TypedDict):
    id: int
    at: str
    actor_id: str | None
    actor_label: str
    action: str
    brand_id: str | None
    target_kind: str | None
    target_id: str | None
    detail: dict[str, Any]
    address: str | None


class AuditPage(TypedDict):
    """Entries newest first; ``next`` is the ``before`` that reads the following page (None:
    this is the last)."""

    entries: list[AuditEntry]
    next: int | None


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Which entries to read; each field given narrows the list."""

    # An agent's id, or an actor's label (an agent's email, "admin token", "system").
    actor: str | None = None
    # One action, or a family of them named by its prefix and a dot ("contact.").
    action: str | None = None
    brand_id: str | None = None
    target_kind: str | None = None
    target_id: str | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    # Keyset pagination: only entries older than this id (a page's ``next``).
    before: int | None = None
    limit: int = 100


async def entries(conn: Conn, query: AuditQuery) -> AuditPage:
    """One page of entries that match ``query``, newest first."""
    where: list[str] = []
    args: list[object] = []

    def holds(clause: str, *values: object) -> None:
        # Each "{}" in the clause is the next parameter; values never enter the SQL text.
        numbers = [f"${len(args) + n + 1}" for n in range(len(values))]
        where.append(clause.format(*numbers))
        args.extend(values)

    if query.actor is not None:
        actor_id = _uuid_or_none(query.actor)
        if actor_id is not None:
            holds("actor_id = {}", actor_id)
        else:
            holds("lower(actor_label) = lower({})", query.actor)
    if query.action is not None:
        if query.action.endswith("."):
            holds("starts_with(action, {})", query.action)
        else:
            holds("action = {}", query.action)
    if query.brand_id is not None:
        holds("brand_id = {}", UUID(query.brand_id))
    if query.target_kind is not None:
        holds("target_kind = {}", query.target_kind)
    if query.target_id is not None:
        holds("target_id = {}", query.target_id)
    if query.since is not None:
        holds("at >= {}", query.since)
    if query.until is not None:
        holds("at < {}", query.until)
    if query.before is not None:
        holds("id < {}", query.before)
    sql = "SELECT * FROM audit_log"
    if where:
        sql += " WHERE " + " AND ".join(where)
    # One more than asked: whether a next page exists, without counting.
    sql += f" ORDER BY id DESC LIMIT {int(query.limit) + 1}"
    rows = await conn.fetch(sql, *args)
    found: list[AuditEntry] = [
        {
            "id": r["id"],
            "at": iso(r["at"]) or "",
            "actor_id": optional_str(r["actor_id"]),
            "actor_label": r["actor_label"],
            "action": r["action"],
            "brand_id": optional_str(r["brand_id"]),
            "target_kind": r["target_kind"],
            "target_id": r["target_id"],
            "detail": r["detail"],
            "address": r["address"],
        }
        for r in rows[: query.limit]
    ]
    more = len(rows) > query.limit
    return {"entries": found, "next": found[-1]["id"] if more and found else None}


def action_filter(value: str) -> str:
    """An action or family to filter by; InvalidInput when it cannot be one."""
    if len(value) > 100 or not ACTION.match(value):
        raise InvalidInput(
            f"action: {value!r} is not an action ('contact.erased') or family ('contact.')"
        )
    return value


def moment(name: str, value: str) -> datetime:
    """An ISO 8601 date or time to filter by, UTC unless it says; InvalidInput otherwise."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            f"{name}: {value!r} is not an ISO 8601 date or time"
            " (e.g. 2026-05-01 or 2026-05-01T09:30:00Z)"
        ) from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _uuid_or_none(value: str) -> UUID | None:
    try:
        return UUID(value)
    except ValueError:
        return None
