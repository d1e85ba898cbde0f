"""The one map from exceptions to HTTP answers, installed on the app (``create_app``).

Switchboard's own errors (server/errors.py) and the console's (``ActionRefused``) become their
statuses; Starlette's ``HTTPException``, which the console and the web chat routes raise for
their refusals (they may not import the server), keeps its status. Every answer is
``{"error": "<field>: <what is wrong>"}``. Anything else is a bug: a 500, logged by uvicorn,
whose body says nothing of the cause. A bare ``LookupError`` or ``ValueError`` is never a 404
or a 422 here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from server.errors import Conflict, InvalidInput, MalformedRequest, NotFound, Unauthorized
from server.http.responses import error
from web_console.port import ActionRefused

Handler = Callable[[Request, Exception], Awaitable[Response]]

STATUSES: Mapping[type[Exception], int] = {
    MalformedRequest: 400,
    Unauthorized: 401,
    NotFound: 404,
    Conflict: 409,
    ActionRefused: 409,
    InvalidInput: 422,
}


async def refused(request: Request, exc: Exception) -> Response:
    """A refusal the client can fix: its status from STATUSES (nearest class first)."""
    status = next(STATUSES[cls] for cls in type(exc).__mro__ if cls in STATUSES)
    return error(status, str(exc))


async def http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own refusals (no route, wrong method) and those of the console and web chat
    routes, in the one shape."""
    assert isinstance(exc, HTTPException)
    if exc.status_code in (204, 304):
        return Response(status_code=exc.status_code, headers=exc.headers)
    return error(exc.status_code, exc.detail, dict(exc.headers or {}))


async def server_error(request: Request, exc: Exception) -> Response:
    """A bug. Starlette re-raises it after this answer, so uvicorn logs it with its traceback."""
    return error(500, "internal server error")


def exception_handlers() -> dict[type[Exception] | int, Handler]:
    """The app's ``exception_handlers``."""
    handlers: dict[type[Exception] | int, Handler] = dict.fromkeys(STATUSES, refused)
    handlers[HTTPException] = http_error
    handlers[Exception] = server_error
    return handlers
