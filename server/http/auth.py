"""Bearer-token checks: the bot API's one token, and the admin API's two kinds.

The admin API takes a personal API token with the ``admin`` scope held by an active admin
(``server/services/api_tokens.py``; its changes are recorded as that agent's), or the
bootstrap token (SWITCHBOARD_ADMIN_TOKEN, or the one generated under the data folder) for
first set-up. The bootstrap token is refused once an active admin agent exists, unless
SWITCHBOARD_ADMIN_TOKEN_ALWAYS is set: a shared secret on a server with people on it
would otherwise act for nobody in particular.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from server.errors import Unauthorized
from server.services.api_tokens import looks_like_token
from server.store import agents as accounts
from server.store import audit

if TYPE_CHECKING:
    from server.bootstrap import Services


def require_bearer(connection: HTTPConnection, expected: str, what: str) -> None:
    """Raise Unauthorized unless the request says ``Authorization: Bearer <expected>``.

    The comparison takes the same time however much of the token is right.
    """
    if not hmac.compare_digest(_bearer(connection).encode(), expected.encode()):
        raise Unauthorized(f"missing or wrong {what}")


def _bearer(connection: HTTPConnection) -> str:
    scheme, _, supplied = connection.headers.get("authorization", "").partition(" ")
    return supplied.strip() if scheme.lower() == "bearer" else ""


@dataclass(frozen=True, slots=True)
class Actor:
    """Who calls the admin API, for the audit log: an admin agent (id and email) or the
    bootstrap token."""

    label: str
    id: str | None = None


ACTOR = "admin_actor"


def actor_of(connection: HTTPConnection) -> Actor:
    """Who the admin API request is from (set by ``AdminToken``)."""
    found = connection.scope.get("state", {}).get(ACTOR)
    return found if isinstance(found, Actor) else Actor(audit.ADMIN_TOKEN)


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


class AdminToken:
    """ASGI middleware for the admin API's Mount: a personal admin token, or the bootstrap
    token while it is allowed; who it is goes on the request's state (``actor_of``)."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            connection = HTTPConnection(scope)
            scope.setdefault("state", {})[ACTOR] = await self._actor(connection)
        await self.app(scope, receive, send)

    async def _actor(self, connection: HTTPConnection) -> Actor:
        services = cast("Services", connection.app.state.services)
        supplied = _bearer(connection)
        if looks_like_token(supplied):
            agent = await services.api_tokens.token_agent(supplied, "admin")
            if agent is None:
                raise Unauthorized(
                    "wrong, expired or revoked API token, or it lacks the admin scope, or its"
                    " holder is no admin"
                )
            return Actor(agent.email, agent.id)
        if not hmac.compare_digest(supplied.encode(), self.token.encode()):
            raise Unauthorized("missing or wrong admin token")
        if not services.settings.admin_token_always:
            async with services.pool.acquire() as conn:
                if await accounts.admin_exists(conn):
                    raise Unauthorized(
                        "the bootstrap admin token is for first set-up and is refused once an"
                        " admin agent exists: use an admin's personal API token (Account,"
                        " API tokens in the console; docs/accounts.md), or set"
                        " SWITCHBOARD_ADMIN_TOKEN_ALWAYS=1"
                    )
        return Actor(audit.ADMIN_TOKEN)
