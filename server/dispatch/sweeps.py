"""The periodic jobs that must run on exactly one node: the SLA timer sweep, the presence
sweep and, about hourly, each brand's retention (retention.py). Every node loops; only the
holder of the lease (a row in Postgres, renewed each round, taken over by another node once
it expires) does the work. The breach's unique key is the
second guard: even two holders at once could not fire one breach twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from datetime import datetime, timedelta

import structlog

from server import events, store
from server.dispatch.retention import Applied, apply_retention
from server.dispatch.router import Router
from server.events import Event
from server.live.bus import EventBus
from server.metrics import Metrics
from server.store import (
    DatabaseError,
    Pool,
    activities,
    analytics_fold,
    kb_feedback,
    queue,
    roster,
)

log = structlog.get_logger(__name__)

LEASE = "sweeps"
# Retention deletes by the day: once an hour is often enough, and cheap.
RETENTION_EVERY = timedelta(hours=1)


class Sweeps:
    def __init__(
        self,
        pool: Pool,
        bus: EventBus,
        metrics: Metrics,
        router: Router,
        *,
        interval: float,
        grace_seconds: float,
        kb_settle_seconds: float = 24 * 3600.0,
    ) -> None:
        self._pool = pool
        self._bus = bus
        self._metrics = metrics
        self._router = router
        self._interval = interval
        self._grace = grace_seconds
        self._kb_settle = timedelta(seconds=kb_settle_seconds)
        self.holder = f"node-{uuid.uuid4().hex[:12]}"
        self._task: asyncio.Task[None] | None = None
        # The grace is counted from this node's start too: after a restart longer than the
        # grace, consoles need a moment to reconnect and be heard before anyone is "gone".
        self.started = time.time()
        # When this node last applied retention (None: not yet).
        self.retention_at: datetime | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="sweeps")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(Exception):
            async with self._pool.acquire() as conn:
                await queue.release_lease(conn, LEASE, self.holder)

    async def _loop(self) -> None:
        while True:
            try:
                await self.run_once()
            except (OSError, DatabaseError) as exc:
                log.warning("sweep failed", error=str(exc))
            except Exception:
                log.exception("sweep failed")
            await asyncio.sleep(self._interval)

    async def run_once(self) -> bool:
        """One round, if this node holds the lease; returns whether it did."""
        async with self._pool.acquire() as conn:
            # The lease outlives a few missed rounds, not a dead node.
            held = await queue.acquire_lease(conn, LEASE, self.holder, self._interval * 3 + 1)
        if not held:
            return False
        await self.sla()
        await self.presence()
        now = self._router.clock()
        await self.kb_settled(now)
        await self.analytics()
        if self.retention_at is None or now - self.retention_at >= RETENTION_EVERY:
            await self.retention(now)
        return True

    async def kb_settled(self, now: datetime) -> int:
        """Conversations quiet with the bot for SWITCHBOARD_KB_SETTLE_HOURS have ended: the
        articles it showed in them, with no handoff after, resolved them (issue 18)."""
        async with self._pool.acquire() as conn:
            return await kb_feedback.infer_idle(conn, now - self._kb_settle)

    async def analytics(self) -> analytics_fold.Folded:
        """Fold the reports' roll-ups: the hours changed since, and those the watermark
        passes (issue 20; store/analytics_fold.py)."""
        async with self._pool.acquire() as conn:
            return await analytics_fold.fold(conn)

    async def retention(self, now: datetime | None = None) -> list[Applied]:
        """Apply every brand's retention as of ``now`` (the router's clock by default)."""
        when = now if now is not None else self._router.clock()
        self.retention_at = when
        return await apply_retention(self._pool, when)

    async def sla(self) -> int:
        """Record and announce every deadline that has passed; escalate per policy."""
        now = self._router.clock()
        async with self._pool.acquire() as conn:
            due = await queue.due_breaches(conn, now)
        fired = 0
        for breach in due:
            async with self._pool.acquire() as conn:
                async with conn.transaction():
                    breach_id = await queue.record_breach(conn, breach, now)
                    if breach_id is None:
                        continue
                    rule = await queue.policy_of(conn, breach)
                    data = queue.breach_json(breach, breach_id)
                    if rule is not None:
                        if rule.escalation_points:
                            await queue.escalate(
                                conn, breach.conversation_id, rule.escalation_points
                            )
                            await self._router.place(conn, breach.conversation_id, queued_now=False)
                        data["escalation_points"] = rule.escalation_points
                        data["notify_team_id"] = rule.notify_team
                    shown = await activities.record(
                        conn, breach.conversation_id, "sla_breached", detail=breach.kind
                    )
                    view = await store.conversation(conn, breach.conversation_id)
                    stored = await store.store_events(
                        conn,
                        [
                            Event(
                                events.SLA_BREACHED,
                                breach.conversation_id,
                                {**data, "conversation": view},
                            ),
                            Event(
                                events.CONVERSATION_UPDATED,
                                breach.conversation_id,
                                {"conversation": view, "change": "escalated", "activity": shown},
                            ),
                            # Escalated (or the SLA clock's points): its rank moved.
                            *await self._router.queue_changes(conn, [breach.conversation_id]),
                        ],
                    )
                for event in stored:
                    await self._bus.publish(event)
            fired += 1
            self._metrics.sla_breaches.labels(breach.kind, breach.band or "none").inc()
            log.warning(
                "sla breached",
                conversation_id=breach.conversation_id,
                kind=breach.kind,
                due_at=breach.due_at.isoformat(),
            )
        if fired:
            self._router.wake()  # escalated conversations may now come first
        return fired

    async def presence(self) -> int:
        """Agents online by status but gone from every console past the grace period are
        marked away, and their unanswered conversations go back to the queue. Those it
        marked away who have been seen since are online again."""
        await self.returned()
        async with self._pool.acquire() as conn:
            online = await roster.online_since(conn)
        if not online:
            return 0
        seen = await self._router.presence.last_seen(online)
        now = time.time()
        gone = 0
        for agent_id, since in online.items():
            if now - max(seen.get(agent_id, 0.0), since, self.started) <= self._grace:
                continue
            async with self._pool.acquire() as conn:
                if not await roster.mark_away(conn, agent_id):
                    continue
            gone += 1
            log.info("agent gone past the grace period; marked away", agent=agent_id)
            requeued = await self._router.requeue_unanswered(agent_id)
            self._metrics.requeued.inc(requeued)
            view = await self._router.agent_view(agent_id, per_brand=True)
            await self._bus.publish(Event(events.AGENT_UPDATED, "", {"agent": view}))
        return gone

    async def returned(self) -> int:
        """Bring back online the agents this sweep marked away who have had a console since
        (on any node). The console's node does so as it connects (Router.console_connected);
        this round catches what that missed: a console that connected while this sweep was
        marking its agent away, or a database error then."""
        async with self._pool.acquire() as conn:
            away = await roster.away_by_sweep_since(conn)
        if not away:
            return 0
        # Without Redis nobody is brought back on a guess: only this node's sightings count.
        seen = await self._router.presence.last_seen(away, unsure_means_here=False)
        back = 0
        for agent_id, since in away.items():
            # The sweep marked them away only once unseen for the grace period, so a sighting
            # after the mark is a console that came back.
            if seen.get(agent_id, 0.0) > since and await self._router.back_online(agent_id):
                back += 1
        return back
