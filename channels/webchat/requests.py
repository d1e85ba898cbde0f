"""What the web chat's HTTP handlers share: the ``Webchat`` each request carries, the Origin
and visitor-token checks, and JSON bodies read with a precise 4xx.

Refusals are Starlette's HTTPException with the message as its detail: the app that mounts
these routes renders them in its one error shape ({"error": detail}).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar, cast

import orjson
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from channels.webchat.hub import WebchatHub
from channels.webchat.port import UnknownInbox, UnknownVisitor, Visitor, WebchatBackend
from channels.webchat.token import TokenError, VisitorTokens


@dataclass(frozen=True, slots=True)
class Webchat:
    """What the web chat's handlers work with, put on each request's state by its mount."""

    hub: WebchatHub
    backend: WebchatBackend
    tokens: VisitorTokens


class WebchatScope:
    """ASGI middleware on the API's mount: hands the handlers their ``Webchat``."""

    def __init__(self, app: ASGIApp, webchat: Webchat) -> None:
        self.app = app
        self.webchat = webchat

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope.setdefault("state", {})["webchat"] = self.webchat
        await self.app(scope, receive, send)


def webchat_of(request: Request) -> Webchat:
    """The ``Webchat`` the mount put on the request."""
    return cast(Webchat, request.state.webchat)


M = TypeVar("M", bound=BaseModel)


def parse(raw: bytes, model: type[M]) -> M:
    """A JSON body as ``model``: 400 when it is not JSON, 422 naming the first bad field."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise HTTPException(400, "body is not valid JSON") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first["loc"]) or "body"
        raise HTTPException(422, f"{where}: {first['msg']}") from None


def check_origin(hub: WebchatHub, request: Request) -> None:
    """403 for a browser on a site that may not embed the widget."""
    if not hub.origin_allowed(request.headers.get("origin")):
        raise HTTPException(403, "origin not allowed")


async def visitor_of(request: Request) -> Visitor:
    """The visitor whose token the request carries (`Authorization: Bearer`), or a 401."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise HTTPException(401, "send the visitor token as 'Authorization: Bearer <token>'")
    try:
        webchat = webchat_of(request)
        claims = webchat.tokens.verify(token.strip())
        backend = webchat.backend
        return await backend.find_visitor(claims.inbox_address, claims.visitor_id)
    except TokenError as exc:
        raise HTTPException(401, str(exc)) from None
    except (UnknownInbox, UnknownVisitor):
        raise HTTPException(401, "unknown visitor") from None
