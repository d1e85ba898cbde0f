"""Reaching a channel's remote API (Telegram's Bot API, Slack's Web API): every failure is
retried after a growing, jittered wait, so an API that cannot be reached stops nothing else,
and many nodes that lost it together do not come back in step."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable

import structlog

log = structlog.get_logger(__name__)

BACKOFF_START, BACKOFF_MAX = 1.0, 60.0
# An attempt that ran this long before failing was a healthy run (a poll loop that worked for
# a while): the next wait starts again from BACKOFF_START.
HEALTHY_SECONDS = BACKOFF_MAX


def describe(exc: BaseException) -> str:
    """An error as /readyz and the logs show it."""
    return f"{exc.__class__.__name__}: {exc}"[:300]


def next_backoff(backoff: float) -> float:
    return min(backoff * 2, BACKOFF_MAX)


def jittered(backoff: float, rng: random.Random | None = None) -> float:
    """A wait between half and all of ``backoff`` ("equal jitter"): still growing, never in
    step with another node's."""
    return backoff * (0.5 + 0.5 * (rng or random).random())


async def keep_trying(
    channel: str,
    attempt: Callable[[], Awaitable[None]],
    on_failure: Callable[[str], None],
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> None:
    """Run ``attempt`` until it returns; after each failure tell ``on_failure`` why, then wait
    about 1 s, 2 s, 4 s… up to a minute before the next try; after a healthy run the waits
    start again from a second."""
    backoff = BACKOFF_START
    while True:
        started = clock()
        try:
            await attempt()
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if clock() - started >= HEALTHY_SECONDS:
                backoff = BACKOFF_START
            wait = jittered(backoff)
            on_failure(describe(exc))
            log.warning(
                "channel unavailable, retrying", channel=channel, error=describe(exc), wait=wait
            )
            await sleep(wait)
            backoff = next_backoff(backoff)
