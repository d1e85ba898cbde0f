"""The one bearer-token check, for the admin API and the bot API."""

from __future__ import annotations

import hmac

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from server.errors import Unauthorized


def require_bearer(connection: HTTPConnection, expected: str, what: str) -> None:
    """Raise Unauthorized unless the request says ``Authorization: Bearer <expected>``.

    The comparison takes the same time however much of the token is right.
    """
    scheme, _, supplied = connection.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        supplied.strip().encode(), expected.encode()
    ):
        raise Unauthorized(f"missing or wrong {what}")


class BearerToken:
    """ASGI middleware for a Mount: every request under it must carry the token, so no route
    can forget to check it."""

    def __init__(self, app: ASGIApp, token: str, what: str) -> None:
        self.app = app
        self.token = token
        self.what = what

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            require_bearer(HTTPConnection(scope), self.token, self.what)
        await self.app(scope, receive, send)
