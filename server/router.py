"""The priority router's I/O: it places handed-over conversations in their team's queue with
an explained priority and SLA deadlines, assigns them to agents, and carries out the agents'
queue actions (claim, transfer, resolve, status).

The decisions are ``routing``'s pure functions; this module reads the facts, makes the claim
stick in Postgres and publishes what changed. Assignment passes run one at a time across all
nodes (a Postgres advisory lock), so the queue is served strictly in priority order; the claim
itself is still transactional, so a manual claim racing a pass can never double-assign.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
import structlog

from routing import assignment, priority, sla
from routing.hours import BusinessHours, parse_hours
from routing.priority import Weights
from server import events, store
from server.bus import EventBus
from server.errors import Conflict, InvalidInput, NotFound
from server.events import Event
from server.metrics import Metrics
from server.presence import LocalPresence
from server.store import queue

log = structlog.get_logger(__name__)

# "SWRT": one assignment pass at a time across every node.
ASSIGN_LOCK_ID = 0x53575254
QUEUE_SCAN = 5000
STATUSES = ("online", "away", "offline")


class Router:
    def __init__(
        self,
        pool: asyncpg.Pool,
        bus: EventBus,
        metrics: Metrics,
        presence: LocalPresence,
        weights: Weights,
        *,
        clock: Callable[[], datetime],
        default_hours: BusinessHours | None = None,
        assign_interval: float = 5.0,
    ) -> None:
        self._pool = pool
        self._bus = bus
        self._metrics = metrics
        self.presence = presence
        self.weights = weights
        self.clock = clock
        self._default_hours = default_hours
        self._interval = assign_interval
        self._wanted = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    # ---- placing ----

    async def place(self, conn: store.Conn, conversation_id: str, *, queued_now: bool) -> None:
        """Work out the conversation's team, skills, priority and deadlines, inside the
        caller's transaction. ``queued_now``: it has just been handed over (the waiting time
        and the SLA clocks start); otherwise only the priority is brought up to date."""
        facts = await queue.placement_facts(conn, conversation_id)
        standing = priority.score(
            priority.Facts(
                channel=facts.channel,
                intent=facts.intent,
                sentiments=facts.sentiments,
                vip=facts.vip,
                tier=facts.tier,
                value=facts.value,
                repeat_contacts=facts.repeat_contacts,
                escalation=facts.escalation,
            ),
            self.weights,
        )
        skills = set(facts.intent_skills)
        if facts.language and facts.language != facts.brand_language:
            skills.add(facts.language)  # a French question needs an agent who speaks French
        band = priority.band(standing.score, self.weights)
        now = self.clock()
        due: sla.Deadlines | None = None
        policy = facts.policies.get(band)
        if queued_now and policy is not None:
            hours = parse_hours(facts.business_hours) if facts.business_hours else None
            due = sla.deadlines(policy, now, hours or self._default_hours)
        await queue.place(
            conn,
            conversation_id,
            queue.Placement(
                team_id=facts.intent_team or facts.inbox_team or facts.default_team,
                required_skills=tuple(sorted(skills)),
                intent=facts.intent,
                priority=standing,
                band=band,
                first_response_due=due.first_response if due else None,
                resolution_due=due.resolution if due else None,
                previous_agent=facts.previous_agent,
            ),
            queued_at=now if queued_now else None,
        )

    # ---- the dispatcher ----

    def wake(self) -> None:
        """Ask for an assignment pass soon (passes coalesce)."""
        self._wanted.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="router")
        self.wake()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wanted.wait(), self._interval)
            self._wanted.clear()
            try:
                await self.assign_pass()
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("assignment pass failed", error=str(exc))
            except Exception:
                log.exception("assignment pass failed")

    async def assign_pass(self) -> int:
        """Offer the queue, highest priority first, to the agents who can take it; returns
        how many conversations were assigned."""
        async with self._pool.acquire() as lock_conn:
            await lock_conn.execute("SELECT pg_advisory_lock($1)", ASSIGN_LOCK_ID)
            try:
                return await self._assign_all()
            finally:
                await lock_conn.execute("SELECT pg_advisory_unlock($1)", ASSIGN_LOCK_ID)

    async def _assign_all(self) -> int:
        async with self._pool.acquire() as conn:
            waiting = await queue.queued(conn, auto_only=True, limit=QUEUE_SCAN)
            if not waiting:
                return 0
            agents = {a.id: a for a in await queue.agent_states(conn, online_only=True)}
        now = self.clock()
        assigned = 0
        for item in assignment.order(waiting, now, self.weights):
            while (agent := assignment.choose(item, list(agents.values()))) is not None:
                outcome = await self._claim(item.id, agent.id, "auto")
                if outcome is None:
                    agents[agent.id] = replace(agent, load=agent.load + 1, last_assigned_at=now)
                    assigned += 1
                    break
                if not outcome.startswith("the agent is at capacity"):
                    break  # the conversation moved on (claimed, resolved): next one
                # Someone else filled the agent meanwhile: look again without them.
                agents[agent.id] = replace(agent, load=agent.capacity)
        return assigned

    async def _claim(
        self,
        conversation_id: str,
        agent_id: str,
        how: str,
        *,
        statuses: tuple[str, ...] = ("queued",),
        check_capacity: bool = True,
    ) -> str | None:
        now = self.clock()
        async with self._pool.acquire() as conn:
            async with conn.transaction():
                refused = await queue.claim(
                    conn,
                    conversation_id,
                    agent_id,
                    how,
                    now,
                    statuses=statuses,
                    check_capacity=check_capacity,
                )
                if refused is not None:
                    return refused
                stored = await self._updated(conn, conversation_id, change=f"assigned:{how}")
            await self._publish(stored)
        self._metrics.assignments.labels(how).inc()
        return None

    # ---- agents' actions ----

    async def claim(self, agent_id: str, conversation_id: str) -> None:
        """An agent takes a queued conversation (or one the bot has). Conflict if it is
        resolved, someone else's, or the agent is full."""
        async with self._pool.acquire() as conn:
            conv = await store.conversation_row(conn, conversation_id)
        if conv["assignee_id"] == agent_id and conv["status"] == "assigned":
            return
        refused = await self._claim(conversation_id, agent_id, "claim", statuses=("bot", "queued"))
        if refused is not None:
            raise Conflict(refused)

    async def transfer(
        self,
        agent_id: str,
        conversation_id: str,
        *,
        to_agent: str | None = None,
        to_team: str | None = None,
    ) -> None:
        """Hand the conversation to another agent (who must be online with room) or back to
        a team's queue."""
        if (to_agent is None) == (to_team is None):
            raise InvalidInput("give exactly one of agent_id and team_id")
        async with self._pool.acquire() as conn:
            conv = await store.conversation_row(conn, conversation_id)
            self._may_act(conv, agent_id)
            if to_agent is not None:
                target = await conn.fetchrow(
                    "SELECT status FROM agents WHERE id = $1 AND active", _uuid(to_agent, "agent")
                )
                if target is None:
                    raise NotFound(f"no agent {to_agent}")
                if target["status"] != "online":
                    raise Conflict(f"the agent is {target['status']}: transfer to someone online")
            else:
                exists = await conn.fetchval(
                    "SELECT true FROM teams t JOIN conversations c ON c.brand_id = t.brand_id"
                    " WHERE t.id = $1 AND c.id = $2",
                    _uuid(str(to_team), "team"),
                    UUID(conversation_id),
                )
                if not exists:
                    raise NotFound(f"no team {to_team} in this conversation's brand")
        if to_agent is not None:
            refused = await self._claim(
                conversation_id, to_agent, "transfer", statuses=("bot", "queued", "assigned")
            )
            if refused is not None:
                raise Conflict(refused)
            return
        async with self._pool.acquire() as conn:
            async with conn.transaction():
                await store.conversation_row(conn, conversation_id, lock=True)
                await queue.requeue(conn, conversation_id, to_team)
                stored = await self._updated(conn, conversation_id, change="transferred")
            await self._publish(stored)
        self.wake()

    async def resolve(self, agent_id: str, conversation_id: str) -> None:
        async with self._pool.acquire() as conn:
            async with conn.transaction():
                conv = await store.conversation_row(conn, conversation_id, lock=True)
                self._may_act(conv, agent_id)
                await queue.resolve(conn, conversation_id)
                stored = await self._updated(conn, conversation_id, change="resolved")
            await self._publish(stored)
        self.wake()  # a seat is free

    async def requeue_unanswered(self, agent_id: str) -> int:
        """Put the agent's conversations that await their reply back in the queue."""
        async with self._pool.acquire() as conn:
            ids = await queue.unanswered_of(conn, agent_id)
        for conversation_id in ids:
            async with self._pool.acquire() as conn:
                async with conn.transaction():
                    conv = await store.conversation_row(conn, conversation_id, lock=True)
                    if conv["assignee_id"] != agent_id or conv["status"] != "assigned":
                        continue
                    await queue.requeue(conn, conversation_id)
                    stored = await self._updated(conn, conversation_id, change="requeued")
                await self._publish(stored)
        if ids:
            log.info("unanswered conversations back in the queue", agent=agent_id, count=len(ids))
            self.wake()
        return len(ids)

    async def set_status(self, agent_id: str, status: str) -> dict[str, Any]:
        if status not in STATUSES:
            raise InvalidInput(f"status must be one of {', '.join(STATUSES)}")
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(
                "UPDATE agents SET status = $2, status_at = now() WHERE id = $1 AND active"
                " RETURNING id",
                _uuid(agent_id, "agent"),
                status,
            )
        if row is None:
            raise NotFound(f"no agent {agent_id}")
        if status == "offline":
            await self.requeue_unanswered(agent_id)
        view = await self.agent_view(agent_id)
        await self._bus.publish(Event(events.AGENT_UPDATED, "", {"agent": view}))
        if status == "online":
            self.wake()
        return view

    @staticmethod
    def _may_act(conv: store.ConversationRow, agent_id: str) -> None:
        if conv["status"] == "resolved":
            raise Conflict("the conversation is resolved")
        if conv["assignee_id"] not in (None, agent_id):
            raise Conflict("the conversation is assigned to another agent")

    # ---- views ----

    async def agent_view(self, agent_id: str) -> dict[str, Any]:
        async with self._pool.acquire() as conn:
            views = await agent_views(conn, agent_id)
        if not views:
            raise NotFound(f"no agent {agent_id}")
        return views[0]

    async def queue_view(self) -> list[dict[str, Any]]:
        """Queued conversations, highest priority now first, each with its explanation."""
        now = self.clock()
        async with self._pool.acquire() as conn:
            waiting = await queue.queued(conn, auto_only=False, limit=QUEUE_SCAN)
            views = {
                v["id"]: v for v in await store.conversations_by_id(conn, [w.id for w in waiting])
            }
        result = []
        for item in assignment.order(waiting, now, self.weights):
            live = priority.at(
                item.standing,
                waiting_since=item.waiting_since,
                first_response_due=item.first_response_due,
                now=now,
                weights=self.weights,
            )
            view = views.get(item.id)
            if view is None:
                continue
            result.append(
                {
                    **view,
                    "score": live.score,
                    "explanation": live.explanation(),
                    "contributions": live.to_json(),
                }
            )
        return result

    async def overview(self) -> dict[str, Any]:
        """The supervisor's view: queue depth and SLA state per team, and every agent."""
        now = self.clock()
        async with self._pool.acquire() as conn:
            teams = await conn.fetch(
                """SELECT t.id, t.slug, t.name, t.assignment, b.slug AS brand,
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
                    GROUP BY t.id, b.slug ORDER BY b.slug, t.slug""",
                now,
            )
            unteamed = await conn.fetchval(
                "SELECT count(*) FROM conversations WHERE status = 'queued' AND team_id IS NULL"
            )
            agents = await agent_views(conn)
            breaches = await conn.fetchval(
                "SELECT count(*) FROM sla_breaches"
                " WHERE breached_at > $1::timestamptz - interval '1 day'",
                now,
            )
        return {
            "now": now.isoformat(),
            "teams": [
                {
                    "id": str(t["id"]),
                    "slug": t["slug"],
                    "name": t["name"],
                    "brand": t["brand"],
                    "assignment": t["assignment"],
                    "queued": t["queued"],
                    "assigned": t["assigned"],
                    "oldest_queued_at": _iso(t["oldest"]),
                    "overdue": t["overdue"],
                    "next_due": _iso(t["next_due"]),
                }
                for t in teams
            ],
            "queued_without_team": unteamed,
            "agents": agents,
            "breaches_last_day": breaches,
        }

    async def _updated(self, conn: store.Conn, conversation_id: str, change: str) -> list[Event]:
        view = await store.conversation(conn, conversation_id)
        return await store.store_events(
            conn,
            [
                Event(
                    events.CONVERSATION_UPDATED,
                    conversation_id,
                    {"conversation": view, "change": change},
                )
            ],
        )

    async def _publish(self, stored: list[Event]) -> None:
        for event in stored:
            await self._bus.publish(event)


async def agent_views(conn: store.Conn, agent_id: str | None = None) -> list[dict[str, Any]]:
    """Agents as the console shows them: status, load and capacity, teams and skills."""
    rows = await conn.fetch(
        """SELECT a.id, a.name, a.email, a.role, a.status, a.capacity,
                  (SELECT count(*) FROM conversations c
                    WHERE c.assignee_id = a.id AND c.status = 'assigned') AS load,
                  coalesce((SELECT array_agg(t.slug ORDER BY t.slug) FROM team_members tm
                             JOIN teams t ON t.id = tm.team_id WHERE tm.agent_id = a.id),
                           '{}') AS teams,
                  coalesce((SELECT array_agg(tm.team_id::text) FROM team_members tm
                             WHERE tm.agent_id = a.id), '{}') AS team_ids,
                  coalesce((SELECT array_agg(s.skill ORDER BY s.skill) FROM agent_skills s
                             WHERE s.agent_id = a.id), '{}') AS skills
             FROM agents a
            WHERE a.active AND ($1::uuid IS NULL OR a.id = $1)
            ORDER BY a.name""",
        _uuid(agent_id, "agent") if agent_id else None,
    )
    return [
        {
            "id": str(r["id"]),
            "name": r["name"],
            "email": r["email"],
            "role": r["role"],
            "status": r["status"],
            "capacity": r["capacity"],
            "load": r["load"],
            "teams": list(r["teams"]),
            "team_ids": list(r["team_ids"]),
            "skills": list(r["skills"]),
        }
        for r in rows
    ]


def _uuid(value: str, what: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise NotFound(f"no {what} {value!r}") from None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
