"""The queue in SQL: placing a handed-over conversation, reading the queue and the agents for
the dispatcher, transfer, resolve, SLA breaches and leases (the claims: ``server.store.claims``)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from routing.assignment import AgentState, Waiting
from routing.priority import Contribution, Priority
from routing.sla import SlaPolicy
from server.errors import NotFound
from server.payloads import ConversationView, EventData
from server.store.database import release_session_lock
from server.store.nlu import INTERPRETED_WINDOW
from server.store.views import CONVERSATION_VIEW_SQL, Conn, conversation_view, optional_str
from web_console import access

# "SWRT": one assignment pass at a time across every node.
ASSIGN_LOCK_ID = 0x53575254
# Earlier conversations within this many days count as a repeated contact.
REPEAT_DAYS = 7
SENTIMENT_HISTORY = 10
RECENT_TEXTS = 5
RECENT_TEXT_CHARS = 500


@dataclass(frozen=True, slots=True)
class Placement:
    team_id: str | None
    required_skills: tuple[str, ...]
    intent: str | None
    priority: Priority
    band: str
    first_response_due: datetime | None
    resolution_due: datetime | None
    previous_agent: str | None


@dataclass(frozen=True, slots=True)
class PlacementFacts:
    """What placing a conversation in a queue needs to know, read in one go."""

    brand_id: str
    channel: str
    intent: str | None
    language: str | None
    brand_language: str
    business_hours: str | None
    sentiments: tuple[float, ...]
    vip: bool
    tier: str | None
    value: float
    repeat_contacts: int
    escalation: int
    handoff_reason: str | None
    # The customer's latest messages (their openings), newest first: what they said while
    # waiting can make the conversation weightier than the reason it was handed over for.
    recent_texts: tuple[str, ...]
    previous_agent: str | None
    inbox_team: str | None
    default_team: str | None
    intent_team: str | None
    intent_skills: tuple[str, ...]
    policies: dict[str, SlaPolicy]
    # The team an agent last transferred it to, since it was last resolved or reopened: a
    # person's choice, which the next placement (a re-ranking when the customer writes
    # again) keeps rather than re-deriving the team.
    transferred_team: str | None = None
    status: str = "queued"
    # Where it sits now (None: never placed): a re-placement that would change nothing is
    # not written (Router.reprioritise).
    placed: Placement | None = None


_FACTS_SQL = """
    SELECT c.id, c.brand_id, c.channel, c.language, c.escalation, c.contact_id,
           c.handoff_reason, c.status, c.team_id, c.required_skills, c.intent AS placed_intent,
           c.priority, c.priority_parts, c.band, c.previous_agent_id, c.first_response_due,
           c.resolution_due,
           x.intent, i.team_id AS inbox_team, b.language AS brand_language,
           b.business_hours, ct.vip, ct.tier, ct.lifetime_value,
           r.team_id AS route_team, r.skills AS route_skills,
           ARRAY(SELECT left(coalesce(m.text, ''), $4) FROM messages m
                  WHERE m.conversation_id = c.id AND m.author_kind = 'customer'
                  ORDER BY m.seq DESC LIMIT $3) AS recent_texts,
           ARRAY(SELECT w.sentiment FROM (
                      SELECT m.sentiment, m.seq FROM messages m
                       WHERE m.conversation_id = c.id AND m.author_kind = 'customer'
                       ORDER BY m.seq DESC LIMIT $6) w
                  WHERE w.sentiment IS NOT NULL
                  ORDER BY w.seq DESC LIMIT $5) AS sentiments,
           (SELECT count(*) FROM conversations o
             WHERE o.contact_id = c.contact_id AND o.id <> c.id
               AND o.created_at > now() - make_interval(days => $2)) AS repeats,
           (SELECT o.assignee_id FROM conversations o
             WHERE o.contact_id = c.contact_id AND o.id <> c.id
               AND o.assignee_id IS NOT NULL
             ORDER BY o.created_at DESC LIMIT 1) AS previous_agent,
           (SELECT t.id FROM teams t WHERE t.brand_id = c.brand_id AND t.is_default)
               AS default_team,
           -- Since it was last resolved, reopened or given back to the bot: a thread
           -- reopened months later about something else is placed afresh.
           (SELECT CASE WHEN a.kind = 'transferred' THEN a.team_id END FROM activities a
             WHERE a.conversation_id = c.id
               AND (a.kind IN ('resolved', 'reopened', 'returned_to_bot')
                    OR (a.kind = 'transferred' AND a.team_id IS NOT NULL))
             ORDER BY a.id DESC LIMIT 1) AS transferred_team,
           (SELECT coalesce(jsonb_agg(jsonb_build_object(
                       'band', p.band,
                       'first_response_seconds', p.first_response_seconds,
                       'resolution_seconds', p.resolution_seconds,
                       'escalation_points', p.escalation_points,
                       'notify_team_id', p.notify_team_id)), '[]')
              FROM sla_policies p WHERE p.brand_id = c.brand_id) AS policies
      FROM conversations c
      JOIN inboxes i ON i.id = c.inbox_id
      JOIN brands b ON b.id = c.brand_id
      JOIN contacts ct ON ct.id = c.contact_id
      -- The customer's latest understood intent, else the one stored.
      CROSS JOIN LATERAL (
           SELECT coalesce((SELECT w.nlu->>'intent' FROM (
                                SELECT m.nlu, m.seq FROM messages m
                                 WHERE m.conversation_id = c.id AND m.author_kind = 'customer'
                                 ORDER BY m.seq DESC LIMIT $6) w
                             WHERE w.nlu IS NOT NULL
                             ORDER BY w.seq DESC LIMIT 1), c.intent) AS intent) x
      LEFT JOIN intent_routes r ON r.brand_id = c.brand_id AND r.intent = x.intent"""


async def placement_facts(conn: Conn, conversation_id: str) -> PlacementFacts:
    """Everything placing the conversation needs, in one statement (it was four: the row, the
    sentiments, the intent's route, the brand's SLA policies; issue 14 counts the statements
    of every handoff)."""
    row = await conn.fetchrow(
        _FACTS_SQL + " WHERE c.id = $1",
        UUID(conversation_id),
        REPEAT_DAYS,
        RECENT_TEXTS,
        RECENT_TEXT_CHARS,
        SENTIMENT_HISTORY,
        INTERPRETED_WINDOW,
    )
    assert row is not None
    return _placement_facts(row)


async def queued_placement_facts(
    conn: Conn, conversation_ids: list[str]
) -> dict[str, PlacementFacts]:
    """``placement_facts`` of those of these conversations that are queued, in one statement
    (a re-ranking round reads them all at once; issue 14).

    Without bitmap scans: a message table grown since its statistics were taken (a fresh
    node's first hour, the ws bench) looks as if a conversation's customer messages were
    rare, and the planner then fetched every message of each conversation (a bitmap scan)
    and sorted them, for each of its lookups, to keep the last few: the router's round of
    100 queued conversations read 200,000 buffers and took 104-213 ms of PostgreSQL at 500
    messages a conversation, every second and growing (the ws14 probe at 2,000 msg/s, 21:28
    and 21:45 UTC, EXPLAIN ANALYZE). Walking the (conversation_id, seq) key backwards reads
    only the messages kept: 3 ms on the same rows. SET LOCAL lasts until the transaction's
    end: the pool's connection goes back as it came."""
    async with conn.transaction():
        await conn.execute("SET LOCAL enable_bitmapscan = off")
        return await placement_facts_of(conn, conversation_ids, only_queued=True)


async def placement_facts_of(
    conn: Conn, conversation_ids: list[str], *, only_queued: bool = False
) -> dict[str, PlacementFacts]:
    """``placement_facts`` of several conversations (being handed over together) in one
    statement, by id; ``only_queued``: of those that are queued."""
    rows = await conn.fetch(
        _FACTS_SQL
        + " WHERE c.id = ANY($1::uuid[])"
        + (" AND c.status = 'queued'" if only_queued else ""),
        [UUID(i) for i in conversation_ids],
        REPEAT_DAYS,
        RECENT_TEXTS,
        RECENT_TEXT_CHARS,
        SENTIMENT_HISTORY,
        INTERPRETED_WINDOW,
    )
    return {str(row["id"]): _placement_facts(row) for row in rows}


def _placement_facts(row: Any) -> PlacementFacts:
    placed = None
    if row["priority"] is not None and row["band"] is not None:
        placed = Placement(
            team_id=optional_str(row["team_id"]),
            required_skills=tuple(row["required_skills"] or ()),
            intent=row["placed_intent"],
            priority=standing_priority(row),
            band=row["band"],
            first_response_due=row["first_response_due"],
            resolution_due=row["resolution_due"],
            previous_agent=optional_str(row["previous_agent_id"]),
        )
    return PlacementFacts(
        brand_id=str(row["brand_id"]),
        channel=row["channel"],
        intent=row["intent"],
        language=row["language"],
        brand_language=row["brand_language"],
        business_hours=row["business_hours"],
        sentiments=tuple(float(s) for s in reversed(row["sentiments"])),
        vip=bool(row["vip"]),
        tier=row["tier"],
        value=float(row["lifetime_value"]),
        repeat_contacts=int(row["repeats"]),
        escalation=int(row["escalation"]),
        handoff_reason=row["handoff_reason"],
        recent_texts=tuple(row["recent_texts"]),
        previous_agent=optional_str(row["previous_agent"]),
        inbox_team=optional_str(row["inbox_team"]),
        default_team=optional_str(row["default_team"]),
        intent_team=optional_str(row["route_team"]),
        intent_skills=tuple(row["route_skills"] or ()),
        policies={p["band"]: sla_policy(p) for p in row["policies"]},
        transferred_team=optional_str(row["transferred_team"]),
        status=row["status"],
        placed=placed,
    )


def sla_policy(row: Any) -> SlaPolicy:
    return SlaPolicy(
        band=row["band"],
        first_response_seconds=row["first_response_seconds"],
        resolution_seconds=row["resolution_seconds"],
        escalation_points=row["escalation_points"],
        notify_team=optional_str(row["notify_team_id"]),
    )


async def place(
    conn: Conn,
    conversation_id: str,
    placement: Placement,
    queued_at: datetime | None,
    handoff_reason: str | None = None,
) -> None:
    """Store where and how urgently the conversation waits. ``queued_at`` None keeps the
    current waiting time and deadlines (a re-score of a conversation already queued).
    ``handoff_reason``: it is being handed over now, and the same statement queues it (as
    ``set_handoff`` would): one row version, not two, of a row with many indexes."""
    p = placement
    await conn.execute(
        """UPDATE conversations
              SET team_id = $2, required_skills = $3, intent = $4, priority = $5,
                  priority_parts = $6, band = $7, previous_agent_id = $8,
                  queued_at = coalesce($9, queued_at),
                  first_response_due = CASE WHEN $9::timestamptz IS NULL
                                            THEN first_response_due ELSE $10 END,
                  resolution_due = CASE WHEN $9::timestamptz IS NULL
                                        THEN resolution_due ELSE $11 END,
                  status = CASE WHEN $12::text IS NULL THEN status ELSE 'queued' END,
                  handoff_reason = coalesce($12, handoff_reason),
                  handoff_at = CASE WHEN $12::text IS NULL THEN handoff_at ELSE now() END,
                  updated_at = CASE WHEN $12::text IS NULL THEN updated_at ELSE now() END
            WHERE id = $1""",
        UUID(conversation_id),
        UUID(p.team_id) if p.team_id else None,
        list(p.required_skills),
        p.intent,
        p.priority.score,
        p.priority.to_json(),
        p.band,
        UUID(p.previous_agent) if p.previous_agent else None,
        queued_at,
        p.first_response_due,
        p.resolution_due,
        handoff_reason,
    )


@dataclass(frozen=True, slots=True)
class Handover:
    """A conversation handed over now, where it is to wait and why (``place_handed_over``)."""

    conversation_id: str
    placement: Placement
    handoff_reason: str


async def place_handed_over(conn: Conn, handovers: list[Handover], queued_at: datetime) -> None:
    """``place`` with ``queued_at`` and a ``handoff_reason`` for several conversations at
    once, in one statement (inside the caller's transaction, which holds their row locks):
    each queued now, its waiting time and SLA clocks starting at ``queued_at``."""
    await conn.execute(
        """WITH input AS (
               SELECT * FROM jsonb_to_recordset($1::jsonb) AS i(
                   id uuid, team_id uuid, required_skills text[], intent text, priority int,
                   priority_parts jsonb, band text, previous_agent_id uuid,
                   first_response_due timestamptz, resolution_due timestamptz,
                   handoff_reason text))
           UPDATE conversations c
              SET team_id = i.team_id, required_skills = i.required_skills, intent = i.intent,
                  priority = i.priority, priority_parts = i.priority_parts, band = i.band,
                  previous_agent_id = i.previous_agent_id, queued_at = $2,
                  first_response_due = i.first_response_due,
                  resolution_due = i.resolution_due, status = 'queued',
                  handoff_reason = i.handoff_reason, handoff_at = now(), updated_at = now()
             FROM input i
            WHERE c.id = i.id""",
        [
            {
                "id": h.conversation_id,
                "team_id": h.placement.team_id,
                "required_skills": list(h.placement.required_skills),
                "intent": h.placement.intent,
                "priority": h.placement.priority.score,
                "priority_parts": h.placement.priority.to_json(),
                "band": h.placement.band,
                "previous_agent_id": h.placement.previous_agent,
                "first_response_due": h.placement.first_response_due,
                "resolution_due": h.placement.resolution_due,
                "handoff_reason": h.handoff_reason,
            }
            for h in handovers
        ],
        queued_at,
    )


@dataclass(frozen=True, slots=True)
class Replacement:
    """A queued conversation's new placement, and the inputs other writers change that it
    was worked out from (an SLA escalation, a handoff's reason)."""

    conversation_id: str
    placement: Placement
    escalation: int
    handoff_reason: str | None


async def replace_placements(conn: Conn, replacements: list[Replacement]) -> list[str]:
    """Store each conversation's new team, skills and priority, keeping its waiting time and
    deadlines, in one statement (inside the caller's transaction); the ids of those written.
    A conversation that is no longer queued, or whose escalation or handoff reason changed
    since its placement was worked out, is left as it is (what changed it placed it anew).
    Rows are locked in id order, as every batch writer of conversations does, so batches
    never wait for each other in a circle."""
    if not replacements:
        return []
    rows = await conn.fetch(
        """WITH input AS (
               SELECT * FROM jsonb_to_recordset($1::jsonb) AS i(
                   id uuid, team_id uuid, required_skills text[], intent text, priority int,
                   priority_parts jsonb, band text, previous_agent_id uuid, escalation int,
                   handoff_reason text)),
           locked AS (
               SELECT c.id FROM conversations c
                WHERE c.id IN (SELECT id FROM input)
                ORDER BY c.id FOR NO KEY UPDATE)
           UPDATE conversations c
              SET team_id = i.team_id, required_skills = i.required_skills, intent = i.intent,
                  priority = i.priority, priority_parts = i.priority_parts, band = i.band,
                  previous_agent_id = i.previous_agent_id
             FROM input i JOIN locked l ON l.id = i.id
            WHERE c.id = i.id AND c.status = 'queued' AND c.escalation = i.escalation
              AND c.handoff_reason IS NOT DISTINCT FROM i.handoff_reason
        RETURNING c.id""",
        [
            {
                "id": r.conversation_id,
                "team_id": r.placement.team_id,
                "required_skills": list(r.placement.required_skills),
                "intent": r.placement.intent,
                "priority": r.placement.priority.score,
                "priority_parts": r.placement.priority.to_json(),
                "band": r.placement.band,
                "previous_agent_id": r.placement.previous_agent,
                "escalation": r.escalation,
                "handoff_reason": r.handoff_reason,
            }
            for r in replacements
        ],
    )
    written = {str(r["id"]) for r in rows}
    return [r.conversation_id for r in replacements if r.conversation_id in written]


def standing_priority(row: Any) -> Priority:
    parts = row["priority_parts"] or []
    return Priority(
        int(row["priority"]), tuple(Contribution(int(p["points"]), p["label"]) for p in parts)
    )


@contextlib.asynccontextmanager
async def assignment_turn(conn: Conn) -> AsyncIterator[None]:
    """Hold the cluster-wide assignment lock (a session advisory lock) while inside."""
    await conn.execute("SELECT pg_advisory_lock($1)", ASSIGN_LOCK_ID)
    try:
        yield
    finally:
        await release_session_lock(conn, ASSIGN_LOCK_ID)


_WAITING_SQL = """
    SELECT c.id, c.brand_id, c.team_id, c.required_skills, c.priority, c.priority_parts,
           coalesce(c.queued_at, c.updated_at) AS queued_at, c.first_response_due,
           c.previous_agent_id
      FROM conversations c LEFT JOIN teams t ON t.id = c.team_id
     WHERE c.status = 'queued'"""


async def queued(conn: Conn, *, auto_only: bool, limit: int) -> list[Waiting]:
    """Queued conversations (in teams that auto-assign, when ``auto_only``)."""
    rows = await conn.fetch(
        _WAITING_SQL + " AND ($1 = false OR t.assignment = 'auto') ORDER BY c.queued_at LIMIT $2",
        auto_only,
        limit,
    )
    return _waiting(rows)


async def queued_placed(conn: Conn, *, limit: int) -> list[tuple[Waiting, access.Placement]]:
    """Every queued conversation with where it sits (the console's queue read checks each
    against the agent's reach), in one read."""
    rows = await conn.fetch(_WAITING_SQL + " ORDER BY c.queued_at LIMIT $1", limit)
    return [
        (w, access.Placement(str(r["brand_id"]), w.team or None, None))
        for w, r in zip(_waiting(rows), rows, strict=True)
    ]


async def queued_among(conn: Conn, conversation_ids: list[str]) -> list[Waiting]:
    """Those of these conversations that are queued now."""
    rows = await conn.fetch(
        _WAITING_SQL + " AND c.id = ANY($1::uuid[])", [UUID(i) for i in conversation_ids]
    )
    return _waiting(rows)


async def viewed_waiting(
    conn: Conn, conversation_id: str
) -> tuple[ConversationView, list[Waiting]]:
    """The conversation as a console list item, and as the dispatcher sees it if it is
    queued (else no item): what a handoff's events carry, in one read instead of two
    (``conversations.conversation`` and ``queued_among``)."""
    row = await conn.fetchrow(_VIEWED_WAITING_SQL + " WHERE c.id = $1", UUID(conversation_id))
    if row is None:
        raise NotFound(f"no conversation {conversation_id}")
    return _viewed_waiting(row)


async def viewed_waiting_of(
    conn: Conn, conversation_ids: list[str]
) -> dict[str, tuple[ConversationView, list[Waiting]]]:
    """``viewed_waiting`` of several conversations in one read, by id."""
    rows = await conn.fetch(
        _VIEWED_WAITING_SQL + " WHERE c.id = ANY($1::uuid[])", [UUID(i) for i in conversation_ids]
    )
    found = {str(row["id"]): _viewed_waiting(row) for row in rows}
    for conversation_id in conversation_ids:
        if conversation_id not in found:
            raise NotFound(f"no conversation {conversation_id}")
    return found


_VIEWED_WAITING_SQL = CONVERSATION_VIEW_SQL.replace(
    "SELECT c.id,", "SELECT c.previous_agent_id, c.id,", 1
)


def _viewed_waiting(row: Any) -> tuple[ConversationView, list[Waiting]]:
    waiting = []
    if row["status"] == "queued":
        waiting = [
            Waiting(
                id=str(row["id"]),
                team=optional_str(row["team_id"]) or "",
                required_skills=frozenset(row["required_skills"]),
                standing=standing_priority(row),
                waiting_since=row["queued_at"] or row["updated_at"],
                first_response_due=row["first_response_due"],
                previous_agent=optional_str(row["previous_agent_id"]),
            )
        ]
    return conversation_view(row), waiting


def _waiting(rows: list[Any]) -> list[Waiting]:
    return [
        Waiting(
            id=str(r["id"]),
            team=optional_str(r["team_id"]) or "",
            required_skills=frozenset(r["required_skills"]),
            standing=standing_priority(r),
            waiting_since=r["queued_at"],
            first_response_due=r["first_response_due"],
            previous_agent=optional_str(r["previous_agent_id"]),
        )
        for r in rows
    ]


_AGENTS_SQL = """
    SELECT a.id, a.capacity, a.status, a.last_assigned_at,
           coalesce((SELECT array_agg(tm.team_id::text) FROM team_members tm
                      WHERE tm.agent_id = a.id), '{}') AS teams,
           coalesce((SELECT array_agg(s.skill) FROM agent_skills s
                      WHERE s.agent_id = a.id), '{}') AS skills,
           (SELECT count(*) FROM conversations c
             WHERE c.assignee_id = a.id AND c.status = 'assigned') AS load
      FROM agents a WHERE a.active"""


async def agent_states(conn: Conn, *, online_only: bool) -> list[AgentState]:
    rows = await conn.fetch(_AGENTS_SQL + (" AND a.status = 'online'" if online_only else ""))
    return [
        AgentState(
            id=str(r["id"]),
            teams=frozenset(r["teams"]),
            skills=frozenset(r["skills"]),
            capacity=r["capacity"],
            load=int(r["load"]),
            online=r["status"] == "online",
            last_assigned_at=r["last_assigned_at"],
        )
        for r in rows
    ]


async def requeue(conn: Conn, conversation_id: str, team_id: str | None = None) -> None:
    """Back to the queue (of ``team_id`` when given), keeping its waiting time and deadlines."""
    await conn.execute(
        "UPDATE conversations SET status = 'queued', assignee_id = NULL, assigned_at = NULL,"
        " team_id = coalesce($2, team_id), queued_at = coalesce(queued_at, now()),"
        " updated_at = now() WHERE id = $1",
        UUID(conversation_id),
        UUID(team_id) if team_id else None,
    )


async def resolve(conn: Conn, conversation_id: str) -> None:
    """Resolved; the assignee stays on record (a reopened conversation goes back to them)."""
    await conn.execute(
        "UPDATE conversations SET status = 'resolved', resolved_at = now(), updated_at = now()"
        " WHERE id = $1",
        UUID(conversation_id),
    )


async def first_response(conn: Conn, conversation_id: str, at: datetime) -> None:
    await conn.execute(
        "UPDATE conversations SET first_response_at = coalesce(first_response_at, $2)"
        " WHERE id = $1",
        UUID(conversation_id),
        at,
    )


@dataclass(frozen=True, slots=True)
class DueBreach:
    conversation_id: str
    kind: str
    due_at: datetime
    team_id: str | None
    brand_id: str
    band: str | None


async def due_breaches(conn: Conn, now: datetime, limit: int = 500) -> list[DueBreach]:
    """Deadlines passed and not yet recorded: first responses not given, resolutions not
    reached."""
    rows = await conn.fetch(
        """SELECT c.id, 'first_response' AS kind, c.first_response_due AS due_at, c.team_id,
                  c.brand_id, c.band
             FROM conversations c
            WHERE c.status IN ('queued', 'assigned') AND c.first_response_at IS NULL
              AND c.first_response_due <= $1
              AND NOT EXISTS (SELECT 1 FROM sla_breaches b WHERE b.conversation_id = c.id
                               AND b.kind = 'first_response' AND b.due_at = c.first_response_due)
           UNION ALL
           SELECT c.id, 'resolution', c.resolution_due, c.team_id, c.brand_id, c.band
             FROM conversations c
            WHERE c.status IN ('queued', 'assigned') AND c.resolution_due <= $1
              AND NOT EXISTS (SELECT 1 FROM sla_breaches b WHERE b.conversation_id = c.id
                               AND b.kind = 'resolution' AND b.due_at = c.resolution_due)
            LIMIT $2""",
        now,
        limit,
    )
    return [
        DueBreach(
            str(r["id"]),
            r["kind"],
            r["due_at"],
            optional_str(r["team_id"]),
            str(r["brand_id"]),
            r["band"],
        )
        for r in rows
    ]


async def policy_of(conn: Conn, breach: DueBreach) -> SlaPolicy | None:
    """The SLA policy the breached conversation's band falls under, if any."""
    row = await conn.fetchrow(
        "SELECT * FROM sla_policies WHERE brand_id = $1 AND band = $2",
        UUID(breach.brand_id),
        breach.band,
    )
    return sla_policy(row) if row is not None else None


async def record_breach(conn: Conn, breach: DueBreach, now: datetime) -> int | None:
    """The breach's id, or None when it was recorded already (it fires once)."""
    value = await conn.fetchval(
        "INSERT INTO sla_breaches (conversation_id, kind, due_at, breached_at, team_id)"
        " VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING id",
        UUID(breach.conversation_id),
        breach.kind,
        breach.due_at,
        now,
        UUID(breach.team_id) if breach.team_id else None,
    )
    return int(value) if value is not None else None


async def escalate(conn: Conn, conversation_id: str, points: int) -> None:
    await conn.execute(
        "UPDATE conversations SET escalation = escalation + $2 WHERE id = $1",
        UUID(conversation_id),
        points,
    )


async def acquire_lease(conn: Conn, name: str, holder: str, seconds: float) -> bool:
    """Take or renew the lease; True while this holder has it. An expired lease (its holder
    died) passes to whoever asks next."""
    got = await conn.fetchval(
        """INSERT INTO leases (name, holder, expires_at)
           VALUES ($1, $2, now() + make_interval(secs => $3))
           ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder,
                                            expires_at = EXCLUDED.expires_at
            WHERE leases.holder = EXCLUDED.holder OR leases.expires_at < now()
           RETURNING holder""",
        name,
        holder,
        seconds,
    )
    return bool(got == holder)


async def release_lease(conn: Conn, name: str, holder: str) -> None:
    await conn.execute("DELETE FROM leases WHERE name = $1 AND holder = $2", name, holder)


async def expire_lease(conn: Conn, name: str, holder: str) -> None:
    """End the holder's lease now, leaving its row for another node to notice and take over
    (take_expired_leases), where release_lease would leave no trace."""
    await conn.execute(
        "UPDATE leases SET expires_at = now() WHERE name = $1 AND holder = $2", name, holder
    )


async def take_expired_leases(conn: Conn, prefix: str) -> list[str]:
    """Delete the expired leases whose names start with ``prefix``; their names. One
    statement: when several nodes ask at once, each lease goes to exactly one of them."""
    rows = await conn.fetch(
        "DELETE FROM leases WHERE starts_with(name, $1) AND expires_at < now() RETURNING name",
        prefix,
    )
    return [str(r["name"]) for r in rows]


async def live_lease_holders(conn: Conn, prefix: str) -> list[str]:
    """The holders of the unexpired leases whose names start with ``prefix``."""
    rows = await conn.fetch(
        "SELECT holder FROM leases WHERE starts_with(name, $1) AND expires_at >= now()", prefix
    )
    return [str(r["holder"]) for r in rows]


async def unanswered_of(conn: Conn, agent_id: str) -> list[str]:
    """The agent's open conversations whose last message is the customer's (owed a reply),
    in teams that requeue them."""
    rows = await conn.fetch(
        """SELECT c.id FROM conversations c LEFT JOIN teams t ON t.id = c.team_id
            WHERE c.assignee_id = $1 AND c.status = 'assigned'
              AND coalesce(t.requeue_unanswered, true)
              AND (SELECT m.author_kind FROM messages m WHERE m.conversation_id = c.id
                    ORDER BY m.seq DESC LIMIT 1) IN ('customer', 'system', 'bot')""",
        UUID(agent_id),
    )
    return [str(r["id"]) for r in rows]


def breach_json(breach: DueBreach, breach_id: int) -> EventData:
    return {
        "breach_id": breach_id,
        "kind": breach.kind,
        "due_at": breach.due_at.isoformat(),
        "team_id": breach.team_id,
        "band": breach.band,
    }
