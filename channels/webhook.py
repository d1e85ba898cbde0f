"""What Telegram's and Slack's webhooks share: reading a body with a cap (refused before
reading when its Content-Length is over the cap, and as soon as more than the cap has arrived,
since a chunked body has no length, so never more than the cap plus one chunk is buffered),
and the answer at capacity, which tells the platform when to deliver again.

The two webhooks that take a flood (Telegram's updates, Slack's events) are plain ASGI
callables, not Starlette request handlers: ``read_body`` and ``answer`` work on the ASGI
scope and messages directly. Under wrk, Starlette's per-request layers (the Request, the
exception wrapper, a Response rendered through the stdlib json module) cost about as much
server CPU as the webhook's own work (py-spy, bench/webhooks.py). The interactivity route
(a person pressing a button) keeps the Starlette handler and ``capped_body``.
"""

from __future__ import annotations

from collections.abc import Sequence

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from channels.base import Busy

Header = tuple[bytes, bytes]


class TooLarge(Exception):
    """The body is over the cap (by its Content-Length, or by what has arrived)."""


class Disconnected(Exception):
    """The client went away before its body had arrived: there is nobody to answer."""


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


def headers_of(scope: Scope, names: Sequence[bytes]) -> list[bytes | None]:
    """The first value of each header in ``names`` (lower case, as ASGI gives them), in that
    order, None where absent: one pass over the request's headers."""
    found: list[bytes | None] = [None] * len(names)
    for key, value in scope["headers"]:
        if key in names:
            i = names.index(key)
            if found[i] is None:
                found[i] = value
    return found


async def read_body(receive: Receive, declared: bytes | None, cap: int) -> bytes:
    """The whole body from the ASGI messages, ``declared`` its Content-Length if given;
    TooLarge past ``cap`` bytes, Disconnected if the client leaves first."""
    # A length that is not a number is left to the running cap below.
    if declared is not None and declared.isdigit() and int(declared) > cap:
        raise TooLarge
    message = await receive()
    if message["type"] != "http.request":
        raise Disconnected
    body: bytes = message.get("body", b"")
    if not message.get("more_body", False) and len(body) <= cap:
        return body  # the usual case: the whole body in one message
    chunks = [body]
    size = len(body)
    while size <= cap and message.get("more_body", False):
        message = await receive()
        if message["type"] != "http.request":
            raise Disconnected
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        chunks.append(chunk)
    if size > cap:
        raise TooLarge
    return b"".join(chunks)


JSON = (b"content-type", b"application/json")


async def answer(
    send: Send, status: int, body: bytes = b"", headers: Sequence[Header] = ()
) -> None:
    """Send the whole response: ``body`` as JSON (or empty), with ``headers`` besides."""
    start = [JSON, (b"content-length", str(len(body)).encode()), *headers]
    await send({"type": "http.response.start", "status": status, "headers": start})
    await send({"type": "http.response.body", "body": body})


async def answer_error(send: Send, status: int, message: str) -> None:
    """``{"error": message}`` with ``status``."""
    await answer(send, status, orjson.dumps({"error": message}))


async def answer_busy(send: Send, busy: Busy) -> None:
    """503 with Retry-After: nothing was stored, and the platform delivers again."""
    retry_after = str(max(1, round(busy.retry_after))).encode()
    body = orjson.dumps({"error": "busy; not stored; retry"})
    await answer(send, 503, body, [(b"retry-after", retry_after)])


def busy_answer(busy: Busy) -> JSONResponse:
    """``answer_busy`` for a Starlette handler."""
    return JSONResponse(
        {"error": "busy; not stored; retry"},
        503,
        {"Retry-After": str(max(1, round(busy.retry_after)))},
    )
