"""Agents as routing sees them: status, load, capacity, teams and skills; status changes;
who has been online since when; and the supervisor's per-team figures."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from server.errors import NotFound
from server.payloads import AgentView
from server.store.agents import ROLES_COLUMN
from server.store.views import Conn, iso


def _uuid(value: str, what: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise NotFound(f"no {what} {value!r}") from None


# An agent's teams and load in each brand they work in (for agent.updated events).
_PER_BRAND = """
    (SELECT coalesce(jsonb_object_agg(w.brand_id::text, jsonb_build_object(
                'teams', coalesce((SELECT array_agg(t.slug ORDER BY t.slug)
                                     FROM team_members tm JOIN teams t ON t.id = tm.team_id
                                    WHERE tm.agent_id = a.id AND t.brand_id = w.brand_id), '{}'),
                'team_ids', coalesce((SELECT array_agg(t.id::text ORDER BY t.slug)
                                        FROM team_members tm JOIN teams t ON t.id = tm.team_id
                                       WHERE tm.agent_id = a.id AND t.brand_id = w.brand_id),
                                     '{}'),
                'load', (SELECT count(*) FROM conversations c
                          WHERE c.assignee_id = a.id AND c.status = 'assigned'
                            AND c.brand_id = w.brand_id))), '{}')
       FROM (SELECT r.brand_id FROM brand_roles r WHERE r.agent_id = a.id
             UNION SELECT t.brand_id FROM team_members tm JOIN teams t ON t.id = tm.team_id
                    WHERE tm.agent_id = a.id
             UNION SELECT c.brand_id FROM conversations c
                    WHERE c.assignee_id = a.id AND c.status = 'assigned') w) AS by_brand,
"""


async def agent_views(
    conn: Conn,
    agent_id: str | None = None,
    *,
    brands: list[str] | None = None,
    per_brand: bool = False,
) -> list[AgentView]:
    """Agents as the console shows them: status, load and capacity, teams and skills; those
    holding a role in one of ``brands`` (ids) when given, admins included, and then only
    their load, teams and roles in those brands (a supervisor of one brand learns nothing of
    another's teams through a colleague who also works there). ``per_brand`` adds their
    teams and load brand by brand, for an event each console sees its own share of."""
    rows = await conn.fetch(
        """SELECT a.id, a.name, a.email, a.role, a.status, a.capacity,
                  extract(epoch FROM a.status_at) AS status_at,
                  (SELECT count(*) FROM conversations c
                    WHERE c.assignee_id = a.id AND c.status = 'assigned'
                      AND ($2::uuid[] IS NULL OR c.brand_id = ANY($2::uuid[]))) AS load,
                  coalesce((SELECT array_agg(t.slug ORDER BY t.slug) FROM team_members tm
                             JOIN teams t ON t.id = tm.team_id WHERE tm.agent_id = a.id
                              AND ($2::uuid[] IS NULL OR t.brand_id = ANY($2::uuid[]))),
                           '{}') AS teams,
                  coalesce((SELECT array_agg(tm.team_id::text) FROM team_members tm
                             JOIN teams t ON t.id = tm.team_id WHERE tm.agent_id = a.id
                              AND ($2::uuid[] IS NULL OR t.brand_id = ANY($2::uuid[]))),
                           '{}') AS team_ids,
                  coalesce((SELECT array_agg(s.skill ORDER BY s.skill) FROM agent_skills s
                             WHERE s.agent_id = a.id), '{}') AS skills,
                  """
        + (_PER_BRAND if per_brand else "")
        + ROLES_COLUMN
        + """
             FROM agents a
            WHERE a.active AND ($1::uuid IS NULL OR a.id = $1)
              AND ($2::uuid[] IS NULL OR a.role = 'admin' OR EXISTS (
                   SELECT 1 FROM brand_roles r WHERE r.agent_id = a.id
                      AND r.brand_id = ANY($2::uuid[])))
            ORDER BY a.name""",
        _uuid(agent_id, "agent") if agent_id else None,
        None if brands is None else [UUID(b) for b in brands],
    )
    views: list[AgentView] = [
        {
            "id": str(r["id"]),
            "name": r["name"],
            "email": r["email"],
            "role": r["role"],
            "roles": {
                b: held for b, held in dict(r["roles"]).items() if brands is None or b in brands
            },
            "status": r["status"],
            "status_at": float(r["status_at"]),
            "capacity": r["capacity"],
            "load": r["load"],
            "teams": list(r["teams"]),
            "team_ids": list(r["team_ids"]),
            "skills": list(r["skills"]),
        }
        for r in rows
    ]
    if per_brand:
        for view, r in zip(views, rows, strict=True):
            view["brands"] = {
                brand: {
                    "teams": list(share["teams"]),
                    "team_ids": list(share["team_ids"]),
                    "load": int(share["load"]),
                }
                for brand, share in r["by_brand"].items()
            }
    return views


async def agent_status(conn: Conn, agent_id: str) -> str:
    status = await conn.fetchval(
        "SELECT status FROM agents WHERE id = $1 AND active", _uuid(agent_id, "agent")
    )
    if status is None:
        raise NotFound(f"no agent {agent_id}")
    return str(status)


async def set_agent_status(conn: Conn, agent_id: str, status: str) -> None:
    done = await conn.fetchval(
        # A person's choice (the agent's or an admin's): no longer the sweep's away. Every
        # status write stamps clock_timestamp(), not now() (its transaction's start): a writer
        # that waited for the row's lock then stamps after the one it waited for, so
        # status_at orders racing changes and consoles keep the newest.
        "UPDATE agents SET status = $2, status_at = clock_timestamp(), away_by_sweep = false"
        " WHERE id = $1 AND active RETURNING true",
        _uuid(agent_id, "agent"),
        status,
    )
    if not done:
        raise NotFound(f"no agent {agent_id}")


async def online_since(conn: Conn) -> dict[str, float]:
    """Agents whose status is online, and since when (Unix time)."""
    rows = await conn.fetch(
        "SELECT id, extract(epoch FROM status_at) AS since FROM agents"
        " WHERE status = 'online' AND active"
    )
    return {str(r["id"]): float(r["since"]) for r in rows}


async def mark_away(conn: Conn, agent_id: str) -> bool:
    """Online → away (the presence sweep), marked as the sweep's so that a console connecting
    again undoes it (``back_online``); False if their status changed meanwhile."""
    return bool(
        await conn.fetchval(
            "UPDATE agents SET status = 'away', status_at = clock_timestamp(), away_by_sweep = true"
            " WHERE id = $1 AND status = 'online' RETURNING true",
            UUID(agent_id),
        )
    )


async def back_online(conn: Conn, agent_id: str) -> bool:
    """Away by the sweep → online, their console being back; False if the away was a
    person's choice or their status changed meanwhile (one conditional UPDATE, so neither a
    sweep nor a status change racing it is undone)."""
    return bool(
        await conn.fetchval(
            "UPDATE agents SET status = 'online', status_at = clock_timestamp(),"
            " away_by_sweep = false"
            " WHERE id = $1 AND active AND status = 'away' AND away_by_sweep RETURNING true",
            UUID(agent_id),
        )
    )


async def away_by_sweep_since(conn: Conn) -> dict[str, float]:
    """Agents the sweep marked away, and since when (Unix time)."""
    rows = await conn.fetch(
        "SELECT id, extract(epoch FROM status_at) AS since FROM agents"
        " WHERE status = 'away' AND away_by_sweep AND active"
    )
    return {str(r["id"]): float(r["since"]) for r in rows}


async def team_of_conversation_brand(conn: Conn, team_id: str, conversation_id: str) -> None:
    """NotFound unless the team belongs to the conversation's brand."""
    exists = await conn.fetchval(
        "SELECT true FROM teams t JOIN conversations c ON c.brand_id = t.brand_id"
        " WHERE t.id = $1 AND c.id = $2",
        _uuid(team_id, "team"),
        UUID(conversation_id),
    )
    if not exists:
        raise NotFound(f"no team {team_id} in this conversation's brand")


async def agent_of_conversation_brand(conn: Conn, agent_id: str, conversation_id: str) -> None:
    """NotFound unless the agent may take conversations of the conversation's brand: an
    admin, or a supervisor or agent there."""
    exists = await conn.fetchval(
        "SELECT true FROM agents a, conversations c WHERE a.id = $1 AND c.id = $2 AND a.active"
        " AND (a.role = 'admin' OR EXISTS (SELECT 1 FROM brand_roles r WHERE r.agent_id = a.id"
        " AND r.brand_id = c.brand_id AND r.role IN ('supervisor', 'agent')))",
        _uuid(agent_id, "agent"),
        UUID(conversation_id),
    )
    if not exists:
        raise NotFound(f"no agent {agent_id} in this conversation's brand")


async def team_figures(
    conn: Conn, now: datetime, brands: list[str] | None = None
) -> dict[str, Any]:
    """Per team: queued, assigned, oldest wait, overdue first responses, next deadline; of
    these brands (ids), or of every brand when None."""
    scope = None if brands is None else [UUID(b) for b in brands]
    teams = await conn.fetch(
        """SELECT t.id, t.slug, t.name, t.assignment, b.slug AS brand, b.id AS brand_id,
                  count(c.id) FILTER (WHERE c.status = 'queued') AS queued,
                  count(c.id) FILTER (WHERE c.status = 'assigned') AS assigned,
                  min(c.queued_at) FILTER (WHERE c.status = 'queued') AS oldest,
                  count(c.id) FILTER (WHERE c.status IN ('queued', 'assigned')
                        AND c.first_response_at IS NULL
                        AND c.first_response_due <= $1) AS overdue,
                  min(c.first_response_due) FILTER (
                      WHERE c.status IN ('queued', 'assigned')
                        AND c.first_response_at IS NULL) AS next_due
             FROM teams t JOIN brands b ON b.id = t.brand_id
             LEFT JOIN conversations c ON c.team_id = t.id
            WHERE $2::uuid[] IS NULL OR b.id = ANY($2::uuid[])
            GROUP BY t.id, b.slug, b.id ORDER BY b.slug, t.slug""",
        now,
        scope,
    )
    unteamed = await conn.fetchval(
        "SELECT count(*) FROM conversations WHERE status = 'queued' AND team_id IS NULL"
        " AND ($1::uuid[] IS NULL OR brand_id = ANY($1::uuid[]))",
        scope,
    )
    breaches = await conn.fetchval(
        "SELECT count(*) FROM sla_breaches s JOIN conversations c ON c.id = s.conversation_id"
        " WHERE s.breached_at > $1::timestamptz - interval '1 day'"
        " AND ($2::uuid[] IS NULL OR c.brand_id = ANY($2::uuid[]))",
        now,
        scope,
    )
    return {
        "teams": [
            {
                "id": str(t["id"]),
                "slug": t["slug"],
                "name": t["name"],
                "brand": t["brand"],
                "brand_id": str(t["brand_id"]),
                "assignment": t["assignment"],
                "queued": t["queued"],
                "assigned": t["assigned"],
                "oldest_queued_at": iso(t["oldest"]),
                "overdue": t["overdue"],
                "next_due": iso(t["next_due"]),
            }
            for t in teams
        ],
        "queued_without_team": unteamed,
        "breaches_last_day": breaches,
    }
