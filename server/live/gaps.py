"""Stored events that never came over the bus, found in Postgres and delivered late.

Every stored event is committed, then published. A node killed between the two (or whose
publish failed) leaves an event that no other node hears live: widgets and consoles that stay
connected elsewhere never see it, since only a reconnect replays the log (issue 21 counted it:
a message stored and acknowledged, missing from consoles on the surviving nodes). Event ids
come from one sequence, so a node that hears 41 then 44 knows 42 and 43 are missing, or not
yet published (ids are handed out in one order and committed in another), or rolled back.
Past a grace time it reads the ones that exist from the log and delivers them on this node;
listeners take a late event as they take a replayed one (widgets by seq, consoles by id).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from server.events import Event
from server.store import Pool, events_after

# How long a missing id may still be on its way (a slow commit, a slow node) before the log
# is read for it.
GRACE_SECONDS = 3.0
# Past this many ids missing at once (Redis was away) the bus's resync covers the gap.
MAX_MISSING = 2000


@dataclass
class EventGaps:
    pool: Pool
    highest: int | None = None
    # missing id -> when it was first missed (monotonic seconds)
    missing: dict[int, float] = field(default_factory=dict)
    filled: int = 0

    def saw(self, event_id: int | None) -> None:
        """An event heard over the bus (or delivered here without it)."""
        if event_id is None:  # live-only (typing): never stored
            return
        self.missing.pop(event_id, None)
        if self.highest is None or event_id <= self.highest:
            self.highest = max(event_id, self.highest or 0)
            return
        gap = range(self.highest + 1, event_id)
        if len(gap) + len(self.missing) <= MAX_MISSING:
            now = time.monotonic()
            for missed in gap:
                self.missing[missed] = now
        self.highest = event_id

    async def due(self) -> list[Event]:
        """The stored events missing for longer than the grace; they stop being missing
        whether found or not (an id never committed is never found)."""
        settled = time.monotonic() - GRACE_SECONDS
        ids = sorted(i for i, when in self.missing.items() if when <= settled)
        if not ids:
            return []
        async with self.pool.acquire() as conn:
            page = await events_after(conn, ids[0] - 1, ids[-1] - ids[0] + 1)
        for i in ids:
            self.missing.pop(i, None)
        wanted = set(ids)
        found = [e for e in page if e.id in wanted]
        self.filled += len(found)
        return found
