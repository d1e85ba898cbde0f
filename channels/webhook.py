"""What Telegram's and Slack's webhooks share: reading a body with a cap (refused before
reading when its Content-Length is over the cap, and as soon as more than the cap has arrived,
since a chunked body has no length, so never more than the cap plus one chunk is buffered),
and the answer at capacity, which tells the platform when to deliver again."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from channels.base import Busy


class TooLarge(Exception):
    """The body is over the cap (by its Content-Length, or by what has arrived)."""


async def capped_body(request: Request, cap: int) -> bytes:
    """The whole body; TooLarge past ``cap`` bytes."""
    declared = request.headers.get("content-length")
    # A length that is not a number is left to the running cap below.
    if declared is not None and declared.isdigit() and int(declared) > cap:
        raise TooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > cap:
            raise TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def busy_answer(busy: Busy) -> JSONResponse:
    """503 with Retry-After: nothing was stored, and the platform delivers again."""
    return JSONResponse(
        {"error": "busy; not stored; retry"},
        503,
        {"Retry-After": str(max(1, round(busy.retry_after)))},
    )
