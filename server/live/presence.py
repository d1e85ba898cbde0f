"""Which agents have a console open, across nodes: when each was last seen.

Each node counts its own console sockets per agent. On one node that is the whole truth. With
Redis, every node also writes "seen now" for its connected agents into one sorted set every
heartbeat, so any node (the one running the presence sweep) can tell how long an agent has
been gone, wherever they were connected. The sweep marks an agent away once they have been
gone longer than the grace period; a reload or a flaky network within it changes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterable

import redis.asyncio as aioredis
import structlog

log = structlog.get_logger(__name__)

REDIS_KEY = "switchboard:presence:seen"


class LocalPresence:
    """This node's console sockets per agent (the whole truth on one node)."""

    def __init__(self) -> None:
        self._sockets: dict[str, int] = {}
        self._left_at: dict[str, float] = {}

    def connected(self, agent_id: str) -> None:
        self._sockets[agent_id] = self._sockets.get(agent_id, 0) + 1

    def disconnected(self, agent_id: str) -> None:
        left = self._sockets.get(agent_id, 0) - 1
        if left > 0:
            self._sockets[agent_id] = left
        else:
            self._sockets.pop(agent_id, None)
            self._left_at[agent_id] = time.time()

    def here(self) -> list[str]:
        return list(self._sockets)

    async def last_seen(
        self, agent_ids: Iterable[str], *, unsure_means_here: bool = True
    ) -> dict[str, float]:
        """Unix time each agent was last connected (now if they are); absent if never.
        ``unsure_means_here``: when the other nodes cannot be asked, everyone counts as seen
        now (nobody is judged gone); otherwise only this node's sightings count."""
        now = time.time()
        seen = {}
        for agent_id in agent_ids:
            if agent_id in self._sockets:
                seen[agent_id] = now
            elif agent_id in self._left_at:
                seen[agent_id] = self._left_at[agent_id]
        return seen

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        pass

    def state(self) -> dict[str, object]:
        return {"kind": "local", "agents_here": len(self._sockets)}


class RedisPresence(LocalPresence):
    """Local counts, plus a heartbeat of this node's agents into Redis for the other nodes."""

    def __init__(self, url: str, heartbeat_seconds: float) -> None:
        super().__init__()
        self._redis = aioredis.Redis.from_url(url)
        self._heartbeat = heartbeat_seconds
        self._task: asyncio.Task[None] | None = None
        # Immediate beats in flight: held so they are not collected half-way, and bounded
        # by the agents connecting at once.
        self._beats: set[asyncio.Task[None]] = set()

    def connected(self, agent_id: str) -> None:
        super().connected(agent_id)
        # Seen at once, not at the next heartbeat: a quick reconnect on another node counts.
        self._beat_soon(agent_id)

    def disconnected(self, agent_id: str) -> None:
        super().disconnected(agent_id)
        self._beat_soon(agent_id)

    def _beat_soon(self, agent_id: str) -> None:
        task = asyncio.get_running_loop().create_task(self._beat([agent_id]))
        self._beats.add(task)
        task.add_done_callback(self._beats.discard)

    async def _beat(self, agent_ids: list[str]) -> None:
        if not agent_ids:
            return
        try:
            await self._redis.zadd(REDIS_KEY, {a: time.time() for a in agent_ids})
        except (aioredis.RedisError, OSError) as exc:
            log.warning("presence heartbeat failed", error=str(exc))

    async def _loop(self) -> None:
        while True:
            await self._beat(self.here())
            await asyncio.sleep(self._heartbeat)

    async def last_seen(
        self, agent_ids: Iterable[str], *, unsure_means_here: bool = True
    ) -> dict[str, float]:
        ids = list(agent_ids)
        seen = await super().last_seen(ids)
        if not ids:
            return seen
        try:
            scores = await self._redis.zmscore(REDIS_KEY, ids)
        except (aioredis.RedisError, OSError) as exc:
            # Without Redis nobody can be judged gone: treat everyone as seen now.
            log.warning("presence read failed", error=str(exc))
            return {a: time.time() for a in ids} if unsure_means_here else seen
        for agent_id, score in zip(ids, scores, strict=True):
            if score is not None and score > seen.get(agent_id, 0.0):
                # A remote node's heartbeat: connected there up to one heartbeat ago.
                seen[agent_id] = float(score)
        return seen

    async def start(self) -> None:
        await self._redis.ping()
        self._task = asyncio.create_task(self._loop(), name="presence-heartbeat")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._redis.aclose()

    def state(self) -> dict[str, object]:
        return {"kind": "redis", "agents_here": len(self.here())}
