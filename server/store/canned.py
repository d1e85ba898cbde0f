"""Canned responses: a brand's ready replies, found by a /shortcut in the reply box, with
variables filled in for the conversation at hand."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TypedDict
from uuid import UUID

import asyncpg

from server.errors import Conflict, InvalidInput, NotFound
from server.store.views import Conn, iso

SHORTCUT = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
VARIABLE = re.compile(r"\{\{\s*([a-z_]+\.[a-z_]+)\s*\}\}")
# The variables a response may use, each filled from the conversation at hand.
VARIABLES = ("contact.name", "contact.email", "agent.name", "conversation.id")


class CannedView(TypedDict):
    id: str
    brand_id: str
    shortcut: str
    title: str
    text: str
    updated_at: str | None


class RenderedCanned(CannedView):
    # The text with the conversation's values filled in, ready for the reply box.
    rendered: str


def _view(r: asyncpg.Record) -> CannedView:
    return CannedView(
        id=str(r["id"]),
        brand_id=str(r["brand_id"]),
        shortcut=r["shortcut"],
        title=r["title"],
        text=r["text"],
        updated_at=iso(r["updated_at"]),
    )


def check(shortcut: str, text: str) -> None:
    """InvalidInput for a malformed shortcut or an unknown variable."""
    if not SHORTCUT.match(shortcut):
        raise InvalidInput("shortcut: lowercase letters, digits, - and _ (up to 40)")
    unknown = sorted({v for v in VARIABLE.findall(text) if v not in VARIABLES})
    if unknown:
        raise InvalidInput(f"text: unknown variable {unknown[0]!r}; use {', '.join(VARIABLES)}")


def render(text: str, values: Mapping[str, str | None]) -> str:
    """The text with its variables filled in (an unknown value becomes empty)."""
    return VARIABLE.sub(lambda m: values.get(m.group(1)) or "", text)


async def canned(
    conn: Conn, brand_ids: list[str], query: str = "", limit: int = 50
) -> list[CannedView]:
    """The responses of these brands whose shortcut or title starts with / contains the
    query, shortcut order."""
    rows = await conn.fetch(
        """SELECT * FROM canned_responses
            WHERE brand_id = ANY($1::uuid[])
              AND ($2 = '' OR shortcut LIKE $2 || '%' OR title ILIKE '%' || $2 || '%')
            ORDER BY shortcut LIMIT $3""",
        [UUID(b) for b in brand_ids],
        query.lstrip("/").replace("%", "").replace("_", r"\_"),
        limit,
    )
    return [_view(r) for r in rows]


async def canned_by_id(conn: Conn, canned_id: str) -> CannedView:
    try:
        key = UUID(canned_id)
    except ValueError:
        raise NotFound(f"no canned response {canned_id!r}") from None
    row = await conn.fetchrow("SELECT * FROM canned_responses WHERE id = $1", key)
    if row is None:
        raise NotFound(f"no canned response {canned_id!r}")
    return _view(row)


async def put_canned(
    conn: Conn,
    brand_id: str,
    shortcut: str,
    title: str,
    text: str,
    agent_id: str,
    canned_id: str | None = None,
) -> CannedView:
    """Create a response (no id) or change one; Conflict when the brand has the shortcut."""
    check(shortcut, text)
    try:
        if canned_id is None:
            row = await conn.fetchrow(
                """INSERT INTO canned_responses (brand_id, shortcut, title, text, updated_by)
                   VALUES ($1, $2, $3, $4, $5) RETURNING *""",
                UUID(brand_id),
                shortcut,
                title,
                text,
                UUID(agent_id),
            )
        else:
            row = await conn.fetchrow(
                """UPDATE canned_responses SET shortcut = $2, title = $3, text = $4,
                          updated_by = $5, updated_at = now()
                    WHERE id = $1 RETURNING *""",
                UUID(canned_id),
                shortcut,
                title,
                text,
                UUID(agent_id),
            )
    except asyncpg.UniqueViolationError:
        raise Conflict(f"the brand has a response /{shortcut} already") from None
    except asyncpg.ForeignKeyViolationError:  # an admin may name any brand, even none
        raise NotFound(f"no brand {brand_id}") from None
    if row is None:
        raise NotFound(f"no canned response {canned_id!r}")
    return _view(row)


async def delete_canned(conn: Conn, canned_id: str) -> None:
    await conn.execute("DELETE FROM canned_responses WHERE id = $1", UUID(canned_id))
