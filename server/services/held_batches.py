"""Reading held webhook updates (Telegram's and Slack's drainers) a batch at a time."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import structlog

log = structlog.get_logger(__name__)


async def all_or_first_error(work: list[Coroutine[Any, Any, None]]) -> None:
    """Run ``work`` side by side to the end, then raise the first failure (logged with its
    traceback): a TaskGroup would cancel the others mid-statement, and a batch is read again
    whole anyway (what was stored is not stored twice). A part that ended cancelled (by
    something other than this task's own cancellation, which gather raises) is raised as an
    Exception, so the drainer's keep_trying reads the batch again instead of dying with it."""
    results = await asyncio.gather(*work, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            log.error("reading held webhook updates failed", exc_info=result)
            if isinstance(result, Exception):
                raise result
            raise RuntimeError(f"reading a held update ended with {result!r}") from result


__all__ = ["all_or_first_error"]
