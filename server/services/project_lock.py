"""One edit of a bot project at a time on this node.

The studio's saves and the review inbox's labels both compute a change from the project's
files on disk, check it and write it. Run side by side, the second would be computed on
files the first is replacing: the writer then refuses it as stale at best. Both take the
lock of the folder they write.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

# Keyed by event loop too: an asyncio.Lock belongs to the loop it first waited in (tests run
# one loop each).
_locks: dict[tuple[asyncio.AbstractEventLoop, Path], asyncio.Lock] = {}


def project_lock(root: Path) -> asyncio.Lock:
    """The lock of the project folder ``root`` on the running loop."""
    key = (asyncio.get_running_loop(), root.resolve())
    lock = _locks.get(key)
    if lock is None:
        lock = _locks[key] = asyncio.Lock()
    return lock
