"""What a node loads in the background once it listens, so its first customers do not.

A node with the NLU engine off (or Rasa's) loaded WordLlama's vectors when the first customer
message woke the embedder (server/services/embedder.py), that is during the first flood: the
import holds the GIL for a few hundred milliseconds, which the flood's acknowledgements waited
out (issue 14). Loading them before "listening" would make every start slower; loading them
right after, in threads, concurrently, costs the first requests nothing they would not have
paid anyway, and each part is a ``nlu.once.Once``: a request that needs a part still loading
waits for that load, never starts another.

Each part's state is on /metrics (``switchboard_warm{part}``: 1 once loaded) and in the log
("warm", with the seconds it took).
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Mapping
from typing import Any

import structlog

from nlu.once import Once, State
from server.metrics import Metrics

log = structlog.get_logger(__name__)


class WarmUp:
    """Loads each of ``parts`` (name: its once-only load) in a thread of its own."""

    def __init__(self, parts: Mapping[str, Once[Any]], metrics: Metrics | None = None) -> None:
        self.parts = dict(parts)
        self._tasks: list[asyncio.Task[None]] = []
        if metrics is not None:
            for name, part in self.parts.items():
                metrics.track_warm(name, functools.partial(_is_warm, part))

    def start(self) -> None:
        """Begin every part's load; returns at once."""
        self._tasks = [
            asyncio.create_task(self._warm(name, part), name=f"warm up {name}")
            for name, part in self.parts.items()
            if not part.warm
        ]

    def state(self) -> dict[str, State]:
        return {name: part.state for name, part in self.parts.items()}

    async def settled(self) -> None:
        """Until every part started has loaded or failed."""
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def close(self) -> None:
        # A thread cannot be cancelled: a load under way finishes on its own, and the event
        # loop's executor waits for it when it shuts down.
        for task in self._tasks:
            task.cancel()
        await self.settled()

    @staticmethod
    async def _warm(name: str, part: Once[Any]) -> None:
        began = time.perf_counter()
        try:
            await asyncio.to_thread(part.get)
        except Exception:
            # Shown failed (0 on /metrics): the first request that needs it loads it again.
            log.exception("warming up failed", part=name)
            return
        log.info("warm", part=name, seconds=round(time.perf_counter() - began, 2))


def _is_warm(part: Once[Any]) -> bool:
    return part.warm
