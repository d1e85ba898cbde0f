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
import functools
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

import structlog

from routing import assignment, priority, risk, sla
from routing.hours import BusinessHours, parse_hours
from routing.priority import Weights
from server import events, store
from server.errors import Conflict, InvalidInput, NotFound
from server.events import Event
from server.live.bus import EventBus
from server.live.presence import LocalPresence
from server.metrics import Metrics
from server.payloads import ActivityView, AgentView, EventData, QueueEntry
from server.store import (
    DatabaseError,
    Pool,
    activities,
    claims,
    clocks,
    kb_feedback,
    queue,
    roster,
)
from web_console.access import Placement

log = structlog.get_logger(__name__)

QUEUE_SCAN = 5000
# Claims committed together in an assignment pass.
ASSIGN_BATCH = 50
# A queued conversation's priority is brought up to date when its customer writes again. The
# requests coalesce for this long, so a customer sending ten lines costs one re-placement (and
# one conversation.updated) rather than ten; the queue's order lags by at most this much.
REPRIORITISE_AFTER = 1.0
# Conversations re-ranked in one transaction, and ranked between two yields to the loop
# (about 0.4 ms each when five recent texts are new to the risk phrases: routing/risk.py).
REPRIORITISE_BATCH = 100
RANK_SLICE = 10
# Texts whose risk categories are remembered: a queued conversation's recent texts are
# mostly the ones its last ranking read.
RISK_CACHE = 4096
# A conversation another writer holds when a pass reaches it keeps its team's seats for this
# long: the pass gives nothing lower in that team away and tries again after it.
HELD_RETRY_AFTER = 0.05
STATUSES = ("online", "away", "offline")


class Router:
    def __init__(
        self,
        pool: Pool,
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
        self._stale: set[str] = set()
        self._reprioritising: asyncio.Task[None] | None = None
        # Consoles just connected whose agent may be away by the sweep: one task per agent
        # at most (bounded by the agents), held so none is collected half-way.
        self._returning: dict[str, asyncio.Task[None]] = {}

    # ---- placing ----

    async def place(
        self,
        conn: store.Conn,
        conversation_id: str,
        *,
        queued_now: bool,
        handoff_reason: str | None = None,
    ) -> None:
        """Work out the conversation's team, skills, priority and deadlines, inside the
        caller's transaction. ``queued_now``: it has just been handed over (the waiting time
        and the SLA clocks start); otherwise only the priority is brought up to date.
        ``handoff_reason``: the handover itself, written by the same statement (status
        queued, the reason and its time; ``store.set_handoff`` otherwise)."""
        facts = await queue.placement_facts(conn, conversation_id)
        if handoff_reason is not None:
            facts = replace(facts, handoff_reason=handoff_reason)
        now = self.clock() if queued_now else None
        await queue.place(
            conn,
            conversation_id,
            self._placement(facts, queued_at=now),
            queued_at=now,
            handoff_reason=handoff_reason,
        )

    async def place_handed_over(self, conn: store.Conn, handoffs: list[tuple[str, str]]) -> None:
        """``place(..., queued_now=True, handoff_reason=...)`` for several conversations
        handed over together, ``handoffs`` being (conversation id, reason): their facts in
        one read and their placements in one UPDATE, whatever their number (it was two
        statements a conversation; issue 14)."""
        facts = await queue.placement_facts_of(conn, [i for i, _ in handoffs])
        now = self.clock()
        await queue.place_handed_over(
            conn,
            [
                queue.Handover(
                    conversation_id,
                    self._placement(
                        replace(facts[conversation_id], handoff_reason=reason), queued_at=now
                    ),
                    reason,
                )
                for conversation_id, reason in handoffs
            ],
            now,
        )

    def _placement(
        self, facts: queue.PlacementFacts, *, queued_at: datetime | None
    ) -> queue.Placement:
        """The conversation's team, skills and priority, and its deadlines when it is queued
        now (``queued_at``: the SLA clocks start)."""
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
                handoff_reason=priority.weightiest_reason(
                    facts.handoff_reason,
                    (found for text in facts.recent_texts for found in _risks(text)),
                    self.weights,
                ),
            ),
            self.weights,
        )
        skills = set(facts.intent_skills)
        if facts.language and facts.language != facts.brand_language:
            skills.add(facts.language)  # a French question needs an agent who speaks French
        band = priority.band(standing.score, self.weights)
        due: sla.Deadlines | None = None
        policy = facts.policies.get(band)
        if queued_at is not None and policy is not None:
            hours = parse_hours(facts.business_hours) if facts.business_hours else None
            due = sla.deadlines(policy, queued_at, hours or self._default_hours)
        return queue.Placement(
            team_id=facts.transferred_team
            or facts.intent_team
            or facts.inbox_team
            or facts.default_team,
            required_skills=tuple(sorted(skills)),
            intent=facts.intent,
            priority=standing,
            band=band,
            first_response_due=due.first_response if due else None,
            resolution_due=due.resolution if due else None,
            previous_agent=facts.previous_agent,
        )

    def reprioritise(self, conversation_id: str) -> None:
        """Bring a queued conversation's priority up to date soon (requests coalesce)."""
        self._stale.add(conversation_id)
        if self._reprioritising is None:
            self._reprioritising = asyncio.create_task(
                self._reprioritise_stale(), name="reprioritise"
            )

    async def _reprioritise_stale(self) -> None:
        try:
            while self._stale:
                await asyncio.sleep(REPRIORITISE_AFTER)
                stale, self._stale = sorted(self._stale), set()
                for start in range(0, len(stale), REPRIORITISE_BATCH):
                    batch = stale[start : start + REPRIORITISE_BATCH]
                    try:
                        await self._reprioritise(batch)
                    except (OSError, DatabaseError) as exc:
                        log.warning("reprioritising failed", count=len(batch), error=str(exc))
                    except Exception:
                        log.exception("reprioritising failed", count=len(batch))
        finally:
            # No await between the loop's last check and here: a request cannot be missed.
            self._reprioritising = None

    async def _reprioritise(self, conversation_ids: list[str]) -> None:
        """Re-rank these conversations (those still queued): their facts in one read, the
        changed placements in one UPDATE and their events in one insert, one transaction
        for them all (it was one, of some ten statements, per conversation: 15 % of the
        server's CPU under web-chat load). A placement that would not change is not
        written, and tells the consoles nothing."""
        async with self._pool.acquire() as conn:
            facts = await queue.queued_placement_facts(conn, conversation_ids)
            changes = []
            for n, (conversation_id, known) in enumerate(facts.items(), 1):
                placement = self._placement(known, queued_at=None)
                placed = known.placed
                if placed is None or placement != replace(
                    placed,
                    first_response_due=None,
                    resolution_due=None,
                ):
                    changes.append(
                        queue.Replacement(
                            conversation_id, placement, known.escalation, known.handoff_reason
                        )
                    )
                if n % RANK_SLICE == 0:
                    # Ranking is CPU work (the risk phrases of every recent text): in slices,
                    # so the sockets' frames do not wait for a whole batch of it.
                    await asyncio.sleep(0)
            if not changes:
                return
            async with conn.transaction():
                written = await queue.replace_placements(conn, changes)
                stored = await self._updated_many(conn, written, "reprioritised")
                # A priority is derived data: recomputed from the messages after a crash.
                await store.commit_without_flush(conn)
        await self._publish(stored)

    async def settled(self) -> None:
        """Wait until the requested re-prioritisations are done (tests, shutdown)."""
        while self._reprioritising is not None:
            await asyncio.gather(self._reprioritising, return_exceptions=True)

    # ---- the dispatcher ----

    def wake(self) -> None:
        """Ask for an assignment pass soon (passes coalesce)."""
        self._wanted.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="router")
        self.wake()

    async def close(self) -> None:
        if self._reprioritising is not None:
            self._reprioritising.cancel()
        returning = list(self._returning.values())
        for task in returning:
            task.cancel()
        # Awaited, so no agent's return is still writing when the pool closes after this.
        await asyncio.gather(*returning, return_exceptions=True)
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
            except (OSError, DatabaseError) as exc:
                log.warning("assignment pass failed", error=str(exc))
            except Exception:
                log.exception("assignment pass failed")

    async def assign_pass(self) -> int:
        """Offer the queue, highest priority first, to the agents who can take it; returns
        how many conversations were assigned."""
        async with self._pool.acquire() as conn:
            agents = {a.id: a for a in await queue.agent_states(conn, online_only=True)}
        if not self._seats_left(agents):
            # Every seat is taken (the usual state of a busy queue, and of every handoff's
            # wake then): no need to wait for the cluster's assignment turn, nor to take it,
            # to place nothing (two statements and a connection a pass; issue 14, mail).
            return 0
        async with self._pool.acquire() as lock_conn, queue.assignment_turn(lock_conn):
            return await self._assign_all()

    async def _assign_all(self) -> int:
        async with self._pool.acquire() as conn:
            agents = {a.id: a for a in await queue.agent_states(conn, online_only=True)}
            if not self._seats_left(agents):
                # Every seat is taken (the usual state of a busy queue): reading and ranking
                # the whole queue would place nothing.
                return 0
            waiting = await queue.queued(conn, auto_only=True, limit=QUEUE_SCAN)
        if not waiting:
            return 0
        now = self.clock()
        ordered = list(assignment.order(waiting, now, self.weights))
        assigned = 0
        # Teams whose next conversation in order was being changed by another writer (a
        # message arriving, an SLA escalation): serving what ranks below it would give its
        # seat away out of order, so the team waits for the retry.
        held: set[str] = set()
        # Claims are committed in batches: one WAL flush and one read of the views per
        # batch, not per claim. A batch is first claimed as planned, in one statement; if
        # any of its claims is refused, that is rolled back and the batch is claimed one at
        # a time, where a refused claim writes nothing (no savepoint needed) and the choice
        # of the next agent sees every claim made before it.
        for start in range(0, len(ordered), ASSIGN_BATCH):
            batch = [i for i in ordered[start : start + ASSIGN_BATCH] if i.team not in held]
            async with self._pool.acquire() as conn:
                async with conn.transaction():
                    claimed = await self._claim_planned(conn, batch, agents, now)
                    if claimed is None:
                        claimed = []
                        for item in batch:
                            if item.team in held:
                                continue
                            outcome = await self._claim_best(conn, item, agents, now)
                            if outcome == "claimed":
                                claimed.append(item.id)
                            elif outcome == "held":
                                held.add(item.team)
                    shown = await activities.latest_assignments(conn, claimed)
                    stored = await self._updated_many(conn, claimed, "assigned:auto", shown)
                await self._publish(stored)
            if claimed:
                self._metrics.assignments.labels("auto").inc(len(claimed))
            assigned += len(claimed)
            if not self._seats_left(agents):
                break
        if held:
            asyncio.get_running_loop().call_later(HELD_RETRY_AFTER, self.wake)
        return assigned

    @staticmethod
    def _seats_left(agents: dict[str, assignment.AgentState]) -> bool:
        return any(a.online and a.spare > 0 for a in agents.values())

    async def _claim_planned(
        self,
        conn: store.Conn,
        batch: list[assignment.Waiting],
        agents: dict[str, assignment.AgentState],
        now: datetime,
    ) -> list[str] | None:
        """Claim the batch as planned, in one statement (inside the caller's transaction):
        each conversation for the agent ``_claim_best`` would choose if every claim before it
        succeeded, as they nearly always do. Returns the claimed ids, with ``agents`` brought
        up to date; or None, with nothing written, when any planned claim was refused (then
        the caller claims one at a time, which handles each refusal in order). One round trip
        a batch instead of one a conversation: the router's share of a pass (issue 14)."""
        planned = dict(agents)
        pairs: list[tuple[str, str]] = []
        for item in batch:
            agent = assignment.choose(item, list(planned.values()))
            if agent is not None:
                planned[agent.id] = replace(agent, load=agent.load + 1, last_assigned_at=now)
                pairs.append((item.id, agent.id))
        if not pairs:
            return []
        savepoint = conn.transaction()
        await savepoint.start()
        if not all(await claims.claim_many(conn, pairs, "auto", now)):
            await savepoint.rollback()
            return None
        await savepoint.commit()
        agents.update(planned)
        return [conversation_id for conversation_id, _ in pairs]

    async def _claim_best(
        self,
        conn: store.Conn,
        item: assignment.Waiting,
        agents: dict[str, assignment.AgentState],
        now: datetime,
    ) -> Literal["claimed", "passed", "held"]:
        """Claim the conversation for the best agent who can take it (inside the caller's
        transaction); ``agents`` keeps each agent's load up to date. "passed": nobody can
        take it, or it moved on (claimed, resolved); "held": another writer has it now."""
        while (agent := assignment.choose(item, list(agents.values()))) is not None:
            refused = await claims.claim(conn, item.id, agent.id, "auto", now, online_only=True)
            if refused is None:
                agents[agent.id] = replace(agent, load=agent.load + 1, last_assigned_at=now)
                return "claimed"
            if refused == claims.BEING_CHANGED:
                return "held"
            if refused.startswith(claims.NOT_ONLINE):
                # Gone away since the pass read them: look again without them.
                agents[agent.id] = replace(agent, online=False)
                continue
            if not refused.startswith(claims.AT_CAPACITY):
                return "passed"
            # Someone else filled the agent meanwhile: look again without them.
            agents[agent.id] = replace(agent, load=agent.capacity)
        return "passed"

    async def _claim(
        self,
        conversation_id: str,
        agent_id: str,
        how: str,
        *,
        statuses: tuple[str, ...] = ("queued",),
        check_capacity: bool = True,
        actor_id: str | None = None,
    ) -> str | None:
        now = self.clock()
        async with self._pool.acquire() as conn:
            async with conn.transaction():
                refused = await claims.claim(
                    conn,
                    conversation_id,
                    agent_id,
                    how,
                    now,
                    statuses=statuses,
                    check_capacity=check_capacity,
                    actor_id=actor_id,
                )
                if refused is not None:
                    return refused
                shown = await activities.latest_assignments(conn, [conversation_id])
                stored = await self._updated(conn, conversation_id, f"assigned:{how}", shown)
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
        refused = await self._claim(
            conversation_id, agent_id, "claim", statuses=("bot", "queued"), actor_id=agent_id
        )
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
                await roster.agent_of_conversation_brand(conn, to_agent, conversation_id)
                status = await roster.agent_status(conn, to_agent)
                if status != "online":
                    raise Conflict(f"the agent is {status}: transfer to someone online")
            else:
                await roster.team_of_conversation_brand(conn, str(to_team), conversation_id)
        if to_agent is not None:
            refused = await self._claim(
                conversation_id,
                to_agent,
                "transfer",
                statuses=("bot", "queued", "assigned"),
                actor_id=agent_id,
            )
            if refused is not None:
                raise Conflict(refused)
            return
        async with self._pool.acquire() as conn:
            async with conn.transaction():
                await store.conversation_row(conn, conversation_id, lock=True)
                await queue.requeue(conn, conversation_id, to_team)
                shown = await activities.record(
                    conn, conversation_id, "transferred", actor_id=agent_id, team_id=to_team
                )
                stored = await self._updated(
                    conn, conversation_id, "transferred", {conversation_id: shown}
                )
            await self._publish(stored)
        self.wake()

    async def resolve(self, agent_id: str, conversation_id: str) -> None:
        async with self._pool.acquire() as conn:
            async with conn.transaction():
                conv = await store.conversation_row(conn, conversation_id, lock=True)
                self._may_act(conv, agent_id)
                await queue.resolve(conn, conversation_id)
                took = await clocks.resolution(conn, conversation_id)
                # The articles the bot showed with no handoff after them answered it.
                await kb_feedback.infer_no_handoff(conn, UUID(conversation_id))
                shown = await activities.record(
                    conn, conversation_id, "resolved", actor_id=agent_id
                )
                stored = await self._updated(
                    conn, conversation_id, "resolved", {conversation_id: shown}
                )
            await self._publish(stored)
        if took is not None:
            self._metrics.resolution_seconds.labels(took.brand, took.channel).observe(took.seconds)
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
                    # The agent left with it unanswered (went offline, or away past the sweep).
                    shown = await activities.record(
                        conn, conversation_id, "requeued", agent_id=agent_id, detail="unanswered"
                    )
                    stored = await self._updated(
                        conn, conversation_id, "requeued", {conversation_id: shown}
                    )
                await self._publish(stored)
        if ids:
            log.info("unanswered conversations back in the queue", agent=agent_id, count=len(ids))
            self.wake()
        return len(ids)

    async def set_status(self, agent_id: str, status: str) -> AgentView:
        if status not in STATUSES:
            raise InvalidInput(f"status must be one of {', '.join(STATUSES)}")
        async with self._pool.acquire() as conn:
            await roster.set_agent_status(conn, agent_id, status)
        if status == "offline":
            await self.requeue_unanswered(agent_id)
        view = await self.agent_view(agent_id, per_brand=True)
        await self._bus.publish(Event(events.AGENT_UPDATED, "", {"agent": view}))
        if status == "online":
            self.wake()
        return without_brands(view)

    async def back_online(self, agent_id: str) -> bool:
        """Online again if the presence sweep (not a person) made them away, their console
        being back: announced and offered conversations as ``set_status`` does. Whether
        they were."""
        async with self._pool.acquire() as conn:
            if not await roster.back_online(conn, agent_id):
                return False
        log.info("agent's console is back; online again", agent=agent_id)
        view = await self.agent_view(agent_id, per_brand=True)
        await self._bus.publish(Event(events.AGENT_UPDATED, "", {"agent": view}))
        self.wake()
        return True

    def console_connected(self, agent_id: str) -> None:
        """A console of the agent's has connected (the hub's presence callback, which may
        not wait): ``back_online`` soon. The sweep's round retries what fails here."""
        under_way = self._returning.get(agent_id)
        if under_way is not None and not under_way.done():
            return  # a second tab of theirs: the one under way will do
        task = asyncio.get_running_loop().create_task(self._return(agent_id))
        self._returning[agent_id] = task
        task.add_done_callback(self._returned)

    def _returned(self, task: asyncio.Task[None]) -> None:
        for agent_id, held in list(self._returning.items()):
            if held is task:
                del self._returning[agent_id]

    async def _return(self, agent_id: str) -> None:
        try:
            await self.back_online(agent_id)
        except (OSError, DatabaseError) as exc:
            log.warning("bringing an agent back online failed", agent=agent_id, error=str(exc))
        except Exception:
            log.exception("bringing an agent back online failed", agent=agent_id)

    @staticmethod
    def _may_act(conv: store.ConversationRow, agent_id: str) -> None:
        if conv["status"] == "resolved":
            raise Conflict("the conversation is resolved")
        if conv["assignee_id"] not in (None, agent_id):
            raise Conflict("the conversation is assigned to another agent")

    # ---- views ----

    async def agent_view(self, agent_id: str, *, per_brand: bool = False) -> AgentView:
        """The agent as the console shows them; ``per_brand`` (for an agent.updated event)
        adds their teams and load brand by brand."""
        async with self._pool.acquire() as conn:
            views = await roster.agent_views(conn, agent_id, per_brand=per_brand)
        if not views:
            raise NotFound(f"no agent {agent_id}")
        return views[0]

    async def queue_view(
        self, admit: Callable[[Placement], bool], first: int | None = None
    ) -> tuple[list[dict[str, Any]], int]:
        """Queued conversations whose placement ``admit`` accepts, highest priority now first,
        each with its explanation, rank and band (a conversation view with the keys of a
        queue.changed entry); only the ``first`` of them when given, and how many there are.
        Ranking and the placements are cheap for the whole queue; the views are not (they
        were most of a 5,000-item read), so only the ``first`` are read."""
        now = self.clock()
        async with self._pool.acquire() as conn:
            placed = await queue.queued_placed(conn, limit=QUEUE_SCAN)
            where = {w.id: p for w, p in placed}
            ranked = assignment.ranked((w for w, _ in placed), now, self.weights)
            admitted = [r for r in ranked if admit(where[r.item.id])]
            shown = admitted if first is None else admitted[:first]
            views = {
                v["id"]: v
                for v in await store.conversations_by_id(conn, [r.item.id for r in shown])
            }
        result = [{**views[r.item.id], **self._entry(r)} for r in shown if r.item.id in views]
        return result, len(admitted)

    def _entry(self, ranked: assignment.Ranked) -> QueueEntry:
        return {
            "id": ranked.item.id,
            "score": ranked.live.score,
            "band": priority.band(ranked.item.standing.score, self.weights),
            "rank": ranked.rank,
            "explanation": ranked.live.explanation(),
            "contributions": ranked.live.to_json(),
        }

    async def queue_changes(
        self,
        conn: store.Conn,
        conversation_ids: list[str],
        waiting: list[assignment.Waiting] | None = None,
    ) -> list[Event]:
        """A queue.changed event for each of these conversations (just changed, inside the
        caller's transaction): its rank, score and band now, or None when it is not queued.
        One event per conversation, so the consoles' per-conversation filter decides who
        receives it, as for the conversation.updated it follows. ``waiting``: those of them
        that are queued, as the caller read them just now (``queue.viewed_waiting``)."""
        if not conversation_ids:
            return []
        now = self.clock()
        if waiting is None:
            waiting = await queue.queued_among(conn, conversation_ids)
        entries = {r.item.id: self._entry(r) for r in assignment.ranked(waiting, now, self.weights)}
        return [Event(events.QUEUE_CHANGED, i, {"queue": entries.get(i)}) for i in conversation_ids]

    async def overview(self, brands: list[str] | None = None) -> dict[str, Any]:
        """The supervisor's view: queue depth and SLA state per team, and the agents; of
        these brands (ids), or of every brand when None."""
        now = self.clock()
        async with self._pool.acquire() as conn:
            figures = await roster.team_figures(conn, now, brands)
            agents = await roster.agent_views(conn, brands=brands)
        return {"now": now.isoformat(), **figures, "agents": agents}

    async def _updated(
        self,
        conn: store.Conn,
        conversation_id: str,
        change: str,
        shown: dict[str, ActivityView] | None = None,
    ) -> list[Event]:
        return await self._updated_many(conn, [conversation_id], change, shown)

    async def _updated_many(
        self,
        conn: store.Conn,
        conversation_ids: list[str],
        change: str,
        shown: dict[str, ActivityView] | None = None,
    ) -> list[Event]:
        """Store a conversation.updated event for each conversation, with its view as it now
        reads (one query for them all) and the activity the transcript shows, each followed
        by its queue.changed, in order."""
        if not conversation_ids:
            return []
        views = {v["id"]: v for v in await store.conversations_by_id(conn, conversation_ids)}
        ranks = {e.conversation_id: e for e in await self.queue_changes(conn, conversation_ids)}
        stored = []
        for conversation_id in conversation_ids:
            data: EventData = {"conversation": views[conversation_id], "change": change}
            if shown and conversation_id in shown:
                data["activity"] = shown[conversation_id]
            stored.append(Event(events.CONVERSATION_UPDATED, conversation_id, data))
            # After the update: the consoles' hub learns where the conversation sits from it.
            stored.append(ranks[conversation_id])
        return await store.store_events(conn, stored)

    async def _publish(self, stored: list[Event]) -> None:
        for event in stored:
            await self._bus.publish(event)


@functools.lru_cache(maxsize=RISK_CACHE)
def _risks(text: str) -> tuple[str, ...]:
    """The risk categories the text falls in (routing.risk.detect), remembered."""
    return tuple(found.category for found in risk.detect(text))


def without_brands(view: AgentView) -> AgentView:
    """The view without its per-brand shares (what an HTTP answer carries)."""
    shown = view.copy()
    shown.pop("brands", None)
    return shown
