"""Reaching a channel's remote API (Telegram's Bot API, Slack's Web API): every failure is
retried after a doubling wait, so an API that cannot be reached stops nothing else."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog

log = structlog.get_logger(__name__)

BACKOFF_START, BACKOFF_MAX = 1.0, 60.0


def describe(exc: BaseException) -> str:
    """An error as /readyz and the logs show it."""
    return f"{exc.__class__.__name__}: {exc}"[:300]


async def keep_trying(
    channel: str, attempt: Callable[[], Awaitable[None]], on_failure: Callable[[str], None]
) -> None:
    """Run ``attempt`` until it returns; after each failure tell ``on_failure`` why, then wait
    1 s, 2 s, 4 s… up to a minute before the next try."""
    backoff = BACKOFF_START
    while True:
        try:
            await attempt()
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            on_failure(describe(exc))
            log.warning(
                "channel unavailable, retrying", channel=channel, error=describe(exc), wait=backoff
            )
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, BACKOFF_MAX)
