"""The console's admin area: every agent with the roles and teams they hold per brand, and
setting them in one brand at a time."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypedDict
from uuid import UUID

import asyncpg

from server.errors import Conflict, InvalidInput, NotFound
from server.store.agents import ROLES_COLUMN
from server.store.organisation import set_roles
from server.store.views import Conn


class TeamEntry(TypedDict):
    id: str
    name: str


class BrandEntry(TypedDict):
    id: str
    slug: str
    name: str
    teams: list[TeamEntry]


class Person(TypedDict):
    id: str
    name: str
    email: str
    admin: bool
    # brand id -> roles held there
    roles: dict[str, list[str]]
    team_ids: list[str]


async def brands_and_teams(conn: Conn) -> list[BrandEntry]:
    rows = await conn.fetch(
        """SELECT b.id, b.slug, b.name,
                  coalesce((SELECT jsonb_agg(jsonb_build_object('id', t.id::text, 'name', t.name)
                                             ORDER BY t.name)
                              FROM teams t WHERE t.brand_id = b.id), '[]') AS teams
             FROM brands b ORDER BY b.name"""
    )
    return [
        BrandEntry(id=str(r["id"]), slug=r["slug"], name=r["name"], teams=list(r["teams"]))
        for r in rows
    ]


_PEOPLE_SQL = (
    "SELECT a.id, a.name, a.email, a.role = 'admin' AS admin,"
    + ROLES_COLUMN
    + """,
           coalesce((SELECT array_agg(team_id::text ORDER BY team_id) FROM team_members
                      WHERE agent_id = a.id), '{}') AS team_ids
      FROM agents a WHERE a.active AND ($1::uuid IS NULL OR a.id = $1) ORDER BY a.name"""
)


def _person(r: asyncpg.Record) -> Person:
    return Person(
        id=str(r["id"]),
        name=r["name"],
        email=r["email"],
        admin=r["admin"],
        roles=dict(r["roles"]),
        team_ids=list(r["team_ids"]),
    )


async def people(conn: Conn) -> list[Person]:
    return [_person(r) for r in await conn.fetch(_PEOPLE_SQL, None)]


async def person(conn: Conn, agent_id: str) -> Person:
    """One active agent as the people area shows them; NotFound otherwise."""
    row = await conn.fetchrow(_PEOPLE_SQL, _id(agent_id, "agent"))
    if row is None:
        raise NotFound(f"no agent {agent_id!r}")
    return _person(row)


async def set_access(
    conn: Conn,
    agent_id: str,
    brand_id: str,
    *,
    roles: Sequence[str],
    team_ids: Sequence[str],
    admin: bool,
) -> bool:
    """The agent's roles and teams in the brand, and whether they are an admin; whether their
    roles changed (their sessions then end: they sign in again under the new ones)."""
    agent, brand = _id(agent_id, "agent"), _id(brand_id, "brand")
    async with conn.transaction():
        if not await conn.fetchval("SELECT true FROM agents WHERE id = $1 AND active", agent):
            raise NotFound(f"no agent {agent_id}")
        if not await conn.fetchval("SELECT true FROM brands WHERE id = $1", brand):
            raise NotFound(f"no brand {brand_id}")
        teams = [_id(t, "team") for t in team_ids]
        found = await conn.fetchval(
            "SELECT count(*) FROM teams WHERE brand_id = $1 AND id = ANY($2)", brand, teams
        )
        if found != len(set(teams)):
            raise InvalidInput("team_ids: every team must belong to the brand")
        if teams and not {"agent", "supervisor"} & set(roles) and not admin:
            raise InvalidInput("team_ids: only agents and supervisors are members of teams")
        await conn.execute(
            "DELETE FROM team_members m USING teams t"
            " WHERE m.team_id = t.id AND t.brand_id = $1 AND m.agent_id = $2",
            brand,
            agent,
        )
        await conn.executemany(
            "INSERT INTO team_members (team_id, agent_id) VALUES ($1, $2)",
            [(t, agent) for t in sorted(set(teams))],
        )
        changed = await set_roles(conn, agent, brand, [*roles, *(["admin"] if admin else [])])
        if changed:
            await conn.execute(
                "UPDATE agents SET session_version = session_version + 1 WHERE id = $1", agent
            )
        if not await conn.fetchval("SELECT true FROM agents WHERE role = 'admin' AND active"):
            # The transaction rolls back: someone must be able to come back here.
            raise Conflict("at least one active admin must remain")
    return changed


def _id(value: str, what: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise NotFound(f"no {what} {value!r}") from None


async def forget(conn: Conn, agent_id: str) -> None:
    """Delete an agent made a moment ago whose access was then refused (an invite that did
    not go through): nothing refers to them yet."""
    await conn.execute("DELETE FROM agents WHERE id = $1", _id(agent_id, "agent"))
