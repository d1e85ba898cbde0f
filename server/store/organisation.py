"""How the support organisation is set up: brands and their business hours, teams, skills,
agents' capacity/skills/teams, SLA policies, which intents need which skills, and which team
an inbox feeds. Shared by the admin REST API and the CLI; every change is validated here and
raises InvalidInput (422), NotFound (404) or Conflict (409) with a message naming the field.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from routing.hours import parse_hours
from routing.priority import BANDS
from server.errors import Conflict, InvalidInput, NotFound
from server.store.views import Conn
from web_console.access import ROLES as BRAND_ROLES

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
SKILL = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
INTENT = re.compile(r"^[A-Za-z0-9_./-]{1,100}$")
MAX_CAPACITY = 1000


async def brand_id(conn: Conn, slug: str | None) -> UUID:
    """The brand with this slug; with none given, the only brand (an error if several)."""
    if slug is None:
        rows = await conn.fetch("SELECT id FROM brands LIMIT 2")
        if len(rows) != 1:
            raise InvalidInput("brand: name the brand (there is more than one, or none)")
        return UUID(str(rows[0]["id"]))
    value = await conn.fetchval("SELECT id FROM brands WHERE slug = $1", slug)
    if value is None:
        raise NotFound(f"no brand {slug!r}")
    return UUID(str(value))


async def brand_count(conn: Conn) -> int:
    return int(await conn.fetchval("SELECT count(*) FROM brands"))


async def team_id(conn: Conn, brand: UUID, slug: str) -> UUID:
    value = await conn.fetchval(
        "SELECT id FROM teams WHERE brand_id = $1 AND slug = $2", brand, slug
    )
    if value is None:
        raise NotFound(f"no team {slug!r}")
    return UUID(str(value))


# ---- brands ----


async def brands(conn: Conn) -> list[dict[str, Any]]:
    rows = await conn.fetch("SELECT slug, name, business_hours, language FROM brands ORDER BY slug")
    return [dict(r) for r in rows]


async def put_brand(
    conn: Conn,
    slug: str,
    *,
    name: str | None = None,
    business_hours: str | None = None,
    language: str | None = None,
    clear_hours: bool = False,
) -> dict[str, Any]:
    if not SLUG.match(slug):
        raise InvalidInput(f"slug: {slug!r} must be lowercase letters, digits and dashes")
    if business_hours is not None:
        try:
            parse_hours(business_hours)
        except ValueError as exc:
            raise InvalidInput(f"business_hours: {exc}") from None
    if language is not None and not re.fullmatch(r"[a-z]{2}", language):
        raise InvalidInput(f"language: {language!r} is not a two-letter code")
    row = await conn.fetchrow(
        """INSERT INTO brands (slug, name, business_hours, language)
           VALUES ($1, coalesce($2, $1), $3, coalesce($4, 'en'))
           ON CONFLICT (slug) DO UPDATE SET
               name = coalesce($2, brands.name),
               business_hours = CASE WHEN $5 THEN NULL
                                     ELSE coalesce($3, brands.business_hours) END,
               language = coalesce($4, brands.language)
           RETURNING slug, name, business_hours, language""",
        slug,
        name,
        business_hours,
        language,
        clear_hours,
    )
    return dict(row) if row else {}


# ---- teams ----


async def teams(conn: Conn) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        """SELECT t.id, b.slug AS brand, t.slug, t.name, t.assignment, t.requeue_unanswered,
                  t.is_default,
                  coalesce((SELECT array_agg(a.email ORDER BY a.email) FROM team_members m
                             JOIN agents a ON a.id = m.agent_id WHERE m.team_id = t.id),
                           '{}') AS members
             FROM teams t JOIN brands b ON b.id = t.brand_id ORDER BY b.slug, t.slug"""
    )
    return [{**dict(r), "id": str(r["id"]), "members": list(r["members"])} for r in rows]


async def put_team(
    conn: Conn,
    brand: str | None,
    slug: str,
    *,
    name: str | None = None,
    assignment: str | None = None,
    requeue_unanswered: bool | None = None,
    default: bool | None = None,
) -> dict[str, Any]:
    if not SLUG.match(slug):
        raise InvalidInput(f"slug: {slug!r} must be lowercase letters, digits and dashes")
    if assignment is not None and assignment not in ("auto", "manual"):
        raise InvalidInput("assignment: must be auto or manual")
    async with conn.transaction():
        owner = await brand_id(conn, brand)
        if default:
            await conn.execute(
                "UPDATE teams SET is_default = false WHERE brand_id = $1 AND slug <> $2",
                owner,
                slug,
            )
        await conn.execute(
            """INSERT INTO teams (brand_id, slug, name, assignment, requeue_unanswered,
                                  is_default)
               VALUES ($1, $2, coalesce($3, $2), coalesce($4, 'auto'), coalesce($5, true),
                       coalesce($6, false))
               ON CONFLICT (brand_id, slug) DO UPDATE SET
                   name = coalesce($3, teams.name),
                   assignment = coalesce($4, teams.assignment),
                   requeue_unanswered = coalesce($5, teams.requeue_unanswered),
                   is_default = coalesce($6, teams.is_default)""",
            owner,
            slug,
            name,
            assignment,
            requeue_unanswered,
            default,
        )
    return next(t for t in await teams(conn) if t["slug"] == slug)


async def delete_team(conn: Conn, brand: str | None, slug: str) -> None:
    owner = await brand_id(conn, brand)
    await team_id(conn, owner, slug)
    await conn.execute("DELETE FROM teams WHERE brand_id = $1 AND slug = $2", owner, slug)


# ---- skills ----


async def skills(conn: Conn) -> list[dict[str, Any]]:
    return [dict(r) for r in await conn.fetch("SELECT name, description FROM skills ORDER BY name")]


async def put_skill(conn: Conn, name: str, description: str = "") -> dict[str, Any]:
    if not SKILL.match(name):
        raise InvalidInput(f"skill: {name!r} must be lowercase letters, digits, - and _")
    await conn.execute(
        "INSERT INTO skills (name, description) VALUES ($1, $2)"
        " ON CONFLICT (name) DO UPDATE SET description = $2",
        name,
        description,
    )
    return {"name": name, "description": description}


async def delete_skill(conn: Conn, name: str) -> None:
    if await conn.execute("DELETE FROM skills WHERE name = $1", name) == "DELETE 0":
        raise NotFound(f"no skill {name!r}")


async def _known_skills(conn: Conn, names: list[str]) -> None:
    known = {r["name"] for r in await conn.fetch("SELECT name FROM skills")}
    unknown = sorted(set(names) - known)
    if unknown:
        raise NotFound(f"no skill {', '.join(unknown)} (add it first)")


# ---- agents ----


async def check_references(
    conn: Conn, skills: list[str] | None, teams: list[str] | None, brand: str | None
) -> None:
    """NotFound unless every skill and team named exists."""
    if skills:
        await _known_skills(conn, skills)
    if teams:
        owner = await brand_id(conn, brand)
        for slug in teams:
            await team_id(conn, owner, slug)


async def agent_id(conn: Conn, email_or_id: str) -> UUID:
    try:
        key: UUID | None = UUID(email_or_id)
    except ValueError:
        key = None
    value = await conn.fetchval(
        "SELECT id FROM agents WHERE (id = $1 OR lower(email) = lower($2)) AND active",
        key,
        email_or_id,
    )
    if value is None:
        raise NotFound(f"no agent {email_or_id!r}")
    return UUID(str(value))


async def update_agent(
    conn: Conn,
    email_or_id: str,
    *,
    capacity: int | None = None,
    skills: list[str] | None = None,
    teams: list[str] | None = None,
    brand: str | None = None,
    role: str | None = None,
    roles: Sequence[str] | None = None,
) -> None:
    """Set what is given: capacity, the whole skill set, the whole team list (in the brand),
    and the roles held in the brand (``role`` is one role; "admin" makes an admin, any brand
    role makes a member holding these roles in the brand). Joining a team of a brand where
    the agent holds no role makes them an agent there."""
    if capacity is not None and not 0 <= capacity <= MAX_CAPACITY:
        raise InvalidInput(f"capacity: must be between 0 and {MAX_CAPACITY}")
    held = list(roles) if roles is not None else ([role] if role is not None else None)
    if held is not None and (unknown := [r for r in held if r not in ("admin", *BRAND_ROLES)]):
        raise InvalidInput(f"role {unknown[0]!r}: must be admin or one of {', '.join(BRAND_ROLES)}")
    async with conn.transaction():
        agent = await agent_id(conn, email_or_id)
        owner = await brand_id(conn, brand) if teams or held else None
        team_ids = [await team_id(conn, owner, slug) for slug in teams or []] if owner else []
        if skills is not None:
            await _known_skills(conn, skills)
            await conn.execute("DELETE FROM agent_skills WHERE agent_id = $1", agent)
            await conn.executemany(
                "INSERT INTO agent_skills (agent_id, skill) VALUES ($1, $2)",
                [(agent, s) for s in sorted(set(skills))],
            )
        if teams is not None:
            await conn.execute("DELETE FROM team_members WHERE agent_id = $1", agent)
            await conn.executemany(
                "INSERT INTO team_members (team_id, agent_id) VALUES ($1, $2)",
                [(t, agent) for t in set(team_ids)],
            )
        changed = False
        if held is not None:
            changed = await set_roles(conn, agent, owner, held)
        if team_ids:
            await conn.execute(
                "INSERT INTO brand_roles (agent_id, brand_id, role) SELECT $1, $2, 'agent'"
                " WHERE NOT EXISTS (SELECT 1 FROM brand_roles WHERE agent_id = $1"
                " AND brand_id = $2)",
                agent,
                owner,
            )
        # New roles end the agent's console sessions: they log in again under them.
        await conn.execute(
            "UPDATE agents SET capacity = coalesce($2, capacity),"
            " session_version = session_version + CASE WHEN $3 THEN 1 ELSE 0 END"
            " WHERE id = $1",
            agent,
            capacity,
            changed,
        )


async def set_roles(conn: Conn, agent: UUID, brand: UUID | None, held: list[str]) -> bool:
    """Make the agent an admin, or a member holding ``held`` in the brand; whether anything
    changed."""
    before = await _roles_of(conn, agent)
    admin = "admin" in held
    await conn.execute(
        "UPDATE agents SET role = $2 WHERE id = $1", agent, "admin" if admin else "member"
    )
    if brand is not None:
        await conn.execute(
            "DELETE FROM brand_roles WHERE agent_id = $1 AND brand_id = $2", agent, brand
        )
        await conn.executemany(
            "INSERT INTO brand_roles (agent_id, brand_id, role) VALUES ($1, $2, $3)",
            [(agent, brand, r) for r in sorted(set(held) - {"admin"})],
        )
    return before != await _roles_of(conn, agent)


async def _roles_of(conn: Conn, agent: UUID) -> tuple[str, list[tuple[str, str]]]:
    role = await conn.fetchval("SELECT role FROM agents WHERE id = $1", agent)
    rows = await conn.fetch(
        "SELECT brand_id::text, role FROM brand_roles WHERE agent_id = $1 ORDER BY 1, 2", agent
    )
    return str(role), [(r[0], r[1]) for r in rows]


# ---- SLA policies ----


async def sla_policies(conn: Conn) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        """SELECT b.slug AS brand, p.band, p.first_response_seconds, p.resolution_seconds,
                  p.escalation_points, t.slug AS notify_team
             FROM sla_policies p JOIN brands b ON b.id = p.brand_id
             LEFT JOIN teams t ON t.id = p.notify_team_id
            ORDER BY b.slug, array_position($1::text[], p.band)""",
        list(BANDS),
    )
    return [dict(r) for r in rows]


async def put_sla_policy(
    conn: Conn,
    brand: str | None,
    band: str,
    *,
    first_response_seconds: int,
    resolution_seconds: int,
    escalation_points: int = 0,
    notify_team: str | None = None,
) -> dict[str, Any]:
    if band not in BANDS:
        raise InvalidInput(f"band: must be one of {', '.join(BANDS)}")
    if first_response_seconds <= 0 or resolution_seconds <= 0:
        raise InvalidInput("targets must be positive durations")
    if resolution_seconds < first_response_seconds:
        raise InvalidInput("resolution target must not come before the first response target")
    if escalation_points < 0:
        raise InvalidInput("escalation_points: must not be negative")
    owner = await brand_id(conn, brand)
    notify = await team_id(conn, owner, notify_team) if notify_team else None
    await conn.execute(
        """INSERT INTO sla_policies (brand_id, band, first_response_seconds,
                                     resolution_seconds, escalation_points, notify_team_id)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (brand_id, band) DO UPDATE SET
               first_response_seconds = $3, resolution_seconds = $4,
               escalation_points = $5, notify_team_id = $6""",
        owner,
        band,
        first_response_seconds,
        resolution_seconds,
        escalation_points,
        notify,
    )
    brand_slug = await conn.fetchval("SELECT slug FROM brands WHERE id = $1", owner)
    return next(
        p for p in await sla_policies(conn) if p["brand"] == brand_slug and p["band"] == band
    )


# ---- intent routes ----


async def intent_routes(conn: Conn) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        """SELECT b.slug AS brand, r.intent, t.slug AS team, r.skills
             FROM intent_routes r JOIN brands b ON b.id = r.brand_id
             LEFT JOIN teams t ON t.id = r.team_id ORDER BY b.slug, r.intent"""
    )
    return [{**dict(r), "skills": list(r["skills"])} for r in rows]


async def put_intent_route(
    conn: Conn, brand: str | None, intent: str, *, skills: list[str], team: str | None = None
) -> dict[str, Any]:
    if not INTENT.match(intent):
        raise InvalidInput(f"intent: {intent!r} is not an intent name")
    await _known_skills(conn, skills)
    owner = await brand_id(conn, brand)
    team_key = await team_id(conn, owner, team) if team else None
    await conn.execute(
        """INSERT INTO intent_routes (brand_id, intent, team_id, skills) VALUES ($1, $2, $3, $4)
           ON CONFLICT (brand_id, intent) DO UPDATE SET team_id = $3, skills = $4""",
        owner,
        intent,
        team_key,
        sorted(set(skills)),
    )
    return {"intent": intent, "team": team, "skills": sorted(set(skills))}


async def delete_intent_route(conn: Conn, brand: str | None, intent: str) -> None:
    owner = await brand_id(conn, brand)
    done = await conn.execute(
        "DELETE FROM intent_routes WHERE brand_id = $1 AND intent = $2", owner, intent
    )
    if done == "DELETE 0":
        raise NotFound(f"no route for intent {intent!r}")


# ---- inboxes and contacts ----

CHANNELS = ("webchat", "email", "telegram", "slack")


async def inboxes(conn: Conn) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        """SELECT b.slug AS brand, i.channel, i.address, i.name, t.slug AS team
             FROM inboxes i JOIN brands b ON b.id = i.brand_id
             LEFT JOIN teams t ON t.id = i.team_id ORDER BY b.slug, i.channel, i.address"""
    )
    return [dict(r) for r in rows]


async def put_inbox(
    conn: Conn,
    brand: str | None,
    channel: str,
    address: str,
    *,
    name: str | None = None,
    team: str | None = None,
) -> dict[str, Any]:
    """Create an inbox (a widget key, a support address, a bot) or rename it / change its
    team. An address already used by another brand is a Conflict."""
    if channel not in CHANNELS:
        raise InvalidInput(f"channel: must be one of {', '.join(CHANNELS)}")
    if not address or len(address) > 320 or any(c.isspace() for c in address):
        raise InvalidInput(f"address: {address!r} must be 1-320 characters without spaces")
    owner = await brand_id(conn, brand)
    team_key = await team_id(conn, owner, team) if team else None
    row = await conn.fetchrow(
        """INSERT INTO inboxes (brand_id, channel, address, name, team_id)
           VALUES ($1, $2, $3, coalesce($4, $3), $5)
           ON CONFLICT (channel, address) DO UPDATE SET
               name = coalesce($4, inboxes.name), team_id = coalesce($5, inboxes.team_id)
            WHERE inboxes.brand_id = $1
           RETURNING id""",
        owner,
        channel,
        address,
        name,
        team_key,
    )
    if row is None:
        raise Conflict(f"the {channel} address {address!r} belongs to another brand")
    return next(
        i for i in await inboxes(conn) if (i["channel"], i["address"]) == (channel, address)
    )


async def set_inbox_team(conn: Conn, channel: str, address: str, team: str | None) -> None:
    row = await conn.fetchrow(
        "SELECT id, brand_id FROM inboxes WHERE channel = $1 AND address = $2", channel, address
    )
    if row is None:
        raise NotFound(f"no {channel} inbox {address!r}")
    key = await team_id(conn, row["brand_id"], team) if team else None
    await conn.execute("UPDATE inboxes SET team_id = $2 WHERE id = $1", row["id"], key)


async def set_contact_profile(
    conn: Conn, email: str, *, tier: str | None, value: float | None
) -> int:
    """Tier and lifetime value of every verified contact with this email (a web chat
    visitor who only typed the address does not get the customer's standing); returns how
    many."""
    if value is not None and value < 0:
        raise InvalidInput("value: must not be negative")
    if tier is not None and not SLUG.match(tier):
        raise InvalidInput(f"tier: {tier!r} must be a lowercase word")
    done = await conn.execute(
        "UPDATE contacts SET tier = coalesce($2, tier),"
        " lifetime_value = coalesce($3, lifetime_value), updated_at = now()"
        " WHERE lower(email) = lower($1) AND verified",
        email,
        tier,
        value,
    )
    count = int(done.split()[-1])
    if count == 0:
        raise NotFound(f"no contact with email {email}")
    return count


async def ensure_brand(conn: Conn, slug: str, name: str) -> UUID:
    """The brand with this slug, created with ``name`` when missing."""
    brand: UUID = await conn.fetchval(
        "INSERT INTO brands (slug, name) VALUES ($1, $2)"
        " ON CONFLICT (slug) DO UPDATE SET slug = EXCLUDED.slug RETURNING id",
        slug,
        name,
    )
    return brand


async def set_vip_by_email(conn: Conn, email: str, vip: bool) -> int:
    """Mark every verified contact with this email VIP (or not): a web chat visitor who only
    typed the address does not jump the queue; how many there were."""
    changed: int = await conn.fetchval(
        "WITH c AS (UPDATE contacts SET vip = $2, updated_at = now()"
        " WHERE lower(email) = lower($1) AND verified RETURNING 1) SELECT count(*) FROM c",
        email,
        vip,
    )
    return changed
