"""Messages a node died holding: routed by a survivor within seconds, not at the next start.

A node routes the messages it stored itself, after their acknowledgement, from a queue in its
memory (flow.py). When it dies (kill -9, out of memory, the machine) the queue goes with it;
its messages stay stored but unrouted, so their conversations reach neither the bot nor a
person until something routes them. Until now that was the start-up sweep of the next node
to start, minutes later on a loaded machine, or never if the node does not come back.

So each node renews a lease named ``routing:<node>`` every ROUND seconds. A lease that has
expired (LIFETIME without a renewal) belonged to a node that died, or that stopped and left
its queue behind (``close`` expires its own at once). The first survivor to delete the
expired row (one DELETE: each goes to exactly one node) routes what is left unrouted
(``Pipeline.route_unrouted``). That read cannot tell the dead node's messages from those a
living node still holds in its queue; those are skipped when their second turn comes, by a
read before any NLU (``RoutingFacts.interpreted``), and a node never queues one twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable

import structlog

from server.store import DatabaseError, Pool, queue

log = structlog.get_logger(__name__)

PREFIX = "routing:"
# How often a node renews its lease and looks for expired ones; a death is noticed within
# LIFETIME + ROUND seconds (21 s). Three missed renewals, not one: a node whose event loop
# stalls for a few seconds under load is not taken for dead.
ROUND = 5.0
LIFETIME = 3 * ROUND + 1


class Orphans:
    """This node's routing lease, and the sweep (``sweep``: route what is left unrouted;
    returns how many it queued) after a node whose lease expired."""

    def __init__(
        self, pool: Pool, sweep: Callable[[], Awaitable[int]], *, round_seconds: float = ROUND
    ) -> None:
        self._pool = pool
        self._sweep = sweep
        self._round = round_seconds
        self.holder = f"node-{uuid.uuid4().hex[:12]}"
        self.name = PREFIX + self.holder
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Take this node's lease (and any expired one) now, then every round.

        At start, what is left unrouted is swept only when it can be in no living node's
        queue: a node's lease had expired (``run_once`` sweeps after it), or no other node
        holds a live lease (a lone node, or the first back after all stopped: leftovers). With
        other nodes alive it may be theirs, being routed right now (a sweep would run the NLU
        on it a second time); what this node's previous life left is swept once that life's
        lease expires, by whichever node notices first (within LIFETIME + ROUND seconds)."""
        gone = await self.run_once()
        if not gone:
            async with self._pool.acquire() as conn:
                holders = await queue.live_lease_holders(conn, PREFIX)
            if not [holder for holder in holders if holder != self.holder]:
                queued = await self._sweep()
                if queued:
                    log.info("no other node routing; routing what was left", queued=queued)
        self._task = asyncio.create_task(self._loop(), name="orphans")

    async def close(self) -> None:
        """Stop; the lease expires now, so a survivor routes what this node leaves queued."""
        if self._task is None:
            return  # never started: no lease
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        with contextlib.suppress(Exception):
            async with self._pool.acquire() as conn:
                await queue.expire_lease(conn, self.name, self.holder)

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._round)
            try:
                await self.run_once()
            except (OSError, DatabaseError) as exc:
                log.warning("routing lease not renewed", error=str(exc))
            except Exception:
                log.exception("routing lease not renewed")

    async def run_once(self) -> list[str]:
        """Renew this node's lease; take over the expired ones and, if any, sweep. The
        names of the leases taken over."""
        async with self._pool.acquire() as conn:
            await queue.acquire_lease(conn, self.name, self.holder, LIFETIME * self._round / ROUND)
            gone = await queue.take_expired_leases(conn, PREFIX)
        if gone:
            queued = await self._sweep()
            log.info("nodes gone; routing what they left", leases=gone, queued=queued)
        return gone


__all__ = ["LIFETIME", "PREFIX", "ROUND", "Orphans"]
