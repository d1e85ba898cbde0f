"""HTTP and WebSocket routes of the web chat channel: sessions, the socket, the widget files."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote

import orjson
import structlog
from pydantic import BaseModel, ConfigDict, EmailStr, Field, ValidationError, model_validator
from pydantic_core import PydanticCustomError
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from channels.base import NUL_REFUSED, Attachment, holds_nul, safe_filename
from channels.webchat import protocol as p
from channels.webchat.hub import WebchatHub
from channels.webchat.identity import HASH
from channels.webchat.port import (
    IdentityRefused,
    UnknownFile,
    UnknownInbox,
    UnknownVisitor,
    Visitor,
    VisitorDetails,
    WebchatBackend,
)
from channels.webchat.token import TokenError, VisitorClaims, VisitorTokens

log = structlog.get_logger(__name__)

STATIC = Path(__file__).parent / "static"
WEBSOCKET_PATH = "/ws/webchat"
BIGINT_MAX = 2**63 - 1  # messages.id is a bigint
POSITION_MAX = 2**31 - 1  # attachments.position is an integer


class SessionRequest(BaseModel):
    """Body of ``POST /api/webchat/sessions``."""

    model_config = ConfigDict(extra="forbid")
    inbox: str = Field(min_length=1, max_length=200, description="the web chat inbox address")
    # A token from an earlier session: the visitor keeps their identity and history.
    token: str | None = Field(default=None, max_length=2048)
    # What the visitor typed: kept on their own contact, unverified; never joins another.
    name: str | None = Field(default=None, max_length=200)
    email: EmailStr | None = None
    # The embedding site's signed-in user, vouched for by the hex HMAC-SHA256 of the
    # identifier with the inbox's identity secret (docs/webchat-identity.md).
    identifier: str | None = Field(default=None, min_length=1, max_length=320)
    identifier_hash: str | None = Field(default=None, pattern=HASH.pattern)

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        if holds_nul(data):
            raise ValueError(NUL_REFUSED)
        return data

    @model_validator(mode="after")
    def _identifier_with_its_hash(self) -> SessionRequest:
        if (self.identifier is None) != (self.identifier_hash is None):
            raise PydanticCustomError("identity", "identifier and identifier_hash go together")
        if self.identifier is not None and not self.identifier.strip():
            raise PydanticCustomError("identity", "identifier is blank")
        return self


# Refusals are Starlette's HTTPException with the message as its detail: the app that mounts
# these routes renders them in its one error shape ({"error": detail}).


def _session_request(raw: bytes) -> SessionRequest:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise HTTPException(400, "body is not valid JSON") from None
    try:
        return SessionRequest.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first["loc"]) or "body"
        raise HTTPException(422, f"{where}: {first['msg']}") from None


def _check_origin(hub: WebchatHub, request: Request) -> None:
    if not hub.origin_allowed(request.headers.get("origin")):
        raise HTTPException(403, "origin not allowed")


async def create_session(request: Request) -> Response:
    """
    summary: Start or resume a web chat visitor session
    description: >
      Returns a signed, expiring token the widget sends in its WebSocket `hello` frame.
      Passing a still-valid earlier token keeps the same visitor (and history). A typed
      `name`/`email` stays on the visitor's own, unverified contact; with `identifier` and a
      matching `identifier_hash` (hex HMAC-SHA256 of the identifier with the inbox's identity
      secret) the visitor joins the contact of that verified user, and its history.
    body: SessionRequest
    responses:
      201:
        description: a session
        content:
          application/json:
            schema:
              type: object
              properties:
                token: {type: string}
                visitor_id: {type: string}
                expires_in: {type: integer}
                websocket_path: {type: string}
                verified: {type: boolean}
      400: {description: body is not JSON}
      401: {description: "identifier_hash does not match identifier, or the inbox has no
        identity secret"}
      403: {description: Origin not allowed}
      404: {description: no such inbox}
      422: {description: invalid field}
      429: {description: too many new visitors from this address (Retry-After)}
    """
    webchat = _webchat(request)
    _check_origin(webchat.hub, request)
    body = _session_request(await request.body())
    visitor_id: str | None = None
    if body.token:
        try:
            claims = webchat.tokens.verify(body.token)
            # The same visitor only for the same verified user (or none on both sides): after
            # a sign-out, or another user's sign-in, on a shared browser, a new visitor starts.
            if claims.inbox_address == body.inbox and claims.identifier == body.identifier:
                visitor_id = claims.visitor_id
        except TokenError:
            pass  # an expired or foreign token simply starts a new visitor
    if visitor_id is None:
        # Each new visitor becomes a contact row: a script must not mint them unbounded.
        address = request.client.host if request.client else "unknown"
        if not await webchat.hub.take_session(address):
            raise HTTPException(
                429,
                f"more than {webchat.hub.sessions_per_minute} new visitors a minute",
                {"Retry-After": str(max(1, round(60 / webchat.hub.sessions_per_minute)))},
            )
        visitor_id = str(uuid.uuid4())
    details = VisitorDetails(
        name=body.name,
        email=body.email and str(body.email),
        identifier=body.identifier,
        identifier_hash=body.identifier_hash,
    )
    try:
        visitor = await webchat.backend.open_visitor(body.inbox, visitor_id, details)
    except UnknownInbox:
        raise HTTPException(404, f"no web chat inbox {body.inbox!r}") from None
    except IdentityRefused as exc:
        raise HTTPException(401, str(exc)) from None
    token = webchat.tokens.issue(
        VisitorClaims(visitor.visitor_id, visitor.inbox_address, visitor.identifier)
    )
    return JSONResponse(
        {
            "token": token,
            "visitor_id": visitor.visitor_id,
            "expires_in": webchat.tokens.ttl_seconds,
            "websocket_path": WEBSOCKET_PATH,
            "verified": visitor.identifier is not None,
        },
        status_code=201,
    )


async def _visitor(request: Request) -> Visitor:
    """The visitor whose token the request carries (`Authorization: Bearer`), or a 401."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise HTTPException(401, "send the visitor token as 'Authorization: Bearer <token>'")
    try:
        webchat = _webchat(request)
        claims = webchat.tokens.verify(token.strip())
        backend = webchat.backend
        return await backend.find_visitor(claims.inbox_address, claims.visitor_id)
    except TokenError as exc:
        raise HTTPException(401, str(exc)) from None
    except (UnknownInbox, UnknownVisitor):
        raise HTTPException(401, "unknown visitor") from None


async def post_file(request: Request) -> Response:
    """
    summary: Send a file from the widget
    description: >
      The body is the file's bytes, its Content-Type the file's type; `client_id` (yours,
      as for a text message: sending it again stores nothing twice) and `filename` go in
      the query; the visitor token as `Authorization: Bearer <token>`. The file becomes a
      message of its own in the visitor's conversation, echoed on the socket like any.
    parameters:
      - name: client_id
        in: query
        required: true
        schema: {type: string, pattern: "^[A-Za-z0-9_-]{1,64}$"}
      - {name: filename, in: query, required: true, schema: {type: string, maxLength: 255}}
    requestBody:
      required: true
      content:
        "*/*": {schema: {type: string, format: binary}}
    responses:
      201: {description: stored; the same fields as the socket's ack}
      200: {description: that client_id was stored before}
      401: {description: no token, or an invalid or expired one}
      403: {description: Origin not allowed}
      413: {description: over 10 MiB}
      429: {description: more than 10 files a minute (Retry-After says when to try again)}
      422: {description: a missing or invalid client_id or filename, or an empty file}
      503: {description: not stored (the database is down); send it again}
    """
    webchat = _webchat(request)
    _check_origin(webchat.hub, request)
    visitor = await _visitor(request)
    if not await webchat.hub.take_upload(visitor.visitor_id):
        retry = max(1, round(60 / p.UPLOADS_PER_MINUTE))
        raise HTTPException(
            429,
            f"more than {p.UPLOADS_PER_MINUTE} files a minute; slow down",
            {"Retry-After": str(retry)},
        )
    client_id = request.query_params.get("client_id", "")
    name = request.query_params.get("filename", "")
    if not p.CLIENT_ID.match(client_id):
        raise HTTPException(422, "client_id: 1-64 of A-Z a-z 0-9 _ -")
    if not name.strip() or len(name) > 255:
        raise HTTPException(422, "filename: 1-255 characters")
    too_large = f"the file is over {p.MAX_FILE_BYTES // 2**20} MiB"
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > p.MAX_FILE_BYTES:
        raise HTTPException(413, too_large)
    content = bytearray()
    async for chunk in request.stream():
        content += chunk
        if len(content) > p.MAX_FILE_BYTES:
            raise HTTPException(413, too_large)
    if not content:
        raise HTTPException(422, "the file is empty")
    content_type = request.headers.get("content-type") or "application/octet-stream"
    file = Attachment(safe_filename(name, content_type, 1), content_type, bytes(content))
    inbound = p.file_inbound(
        file,
        client_id=client_id,
        inbox_address=visitor.inbox_address,
        visitor_id=visitor.visitor_id,
    )
    try:
        message, duplicate = await webchat.backend.receive(inbound)
    except Exception:
        # Not stored, so not acknowledged: the widget may send it again.
        log.exception("webchat file not stored", visitor_id=visitor.visitor_id)
        raise HTTPException(503, "file not stored; send it again") from None
    return JSONResponse(
        {
            "client_id": client_id,
            "message_id": message["id"],
            "conversation_id": message["conversation_id"],
            "seq": message["seq"],
            "duplicate": duplicate,
        },
        status_code=200 if duplicate else 201,
    )


async def get_attachment(request: Request) -> Response:
    """
    summary: Download a file of the visitor's conversation
    description: >
      The widget sends its visitor token as `Authorization: Bearer <token>` (never in the
      URL, where logs and the Referer would keep it). Served as a download (attachment,
      nosniff, sandboxed), never rendered.
    responses:
      200: {description: the file}
      401: {description: no token, or an invalid or expired one}
      404: {description: no such file in this visitor's conversations}
    """
    visitor = await _visitor(request)
    message_id, position = request.path_params["message_id"], request.path_params["n"]
    if message_id > BIGINT_MAX or position > POSITION_MAX:
        raise HTTPException(404, "no such file")
    try:
        filename, _type, content = await _webchat(request).backend.attachment(
            visitor, message_id, position
        )
    except UnknownFile:
        raise HTTPException(404, "no such file") from None
    return Response(
        content,
        media_type="application/octet-stream",
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename, safe='')}",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox",
        },
    )


# The demo shop's page runs only our files (the widget included): no inline script or style,
# not framed; what a shop's own page would send to keep the widget's host safe.
DEMO_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


async def demo_page(request: Request) -> Response:
    return FileResponse(
        STATIC / "demo.html",
        headers={"content-security-policy": DEMO_POLICY, "x-frame-options": "DENY"},
    )


@dataclass(frozen=True, slots=True)
class Webchat:
    """What the web chat's handlers work with, put on each request's state by its mount."""

    hub: WebchatHub
    backend: WebchatBackend
    tokens: VisitorTokens


class _WebchatScope:
    """ASGI middleware on the API's mount: hands the handlers their ``Webchat``."""

    def __init__(self, app: ASGIApp, webchat: Webchat) -> None:
        self.app = app
        self.webchat = webchat

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope.setdefault("state", {})["webchat"] = self.webchat
        await self.app(scope, receive, send)


def _webchat(request: Request) -> Webchat:
    return cast(Webchat, request.state.webchat)


def routes(
    hub: WebchatHub, backend: WebchatBackend, tokens: VisitorTokens, origins: frozenset[str]
) -> list[BaseRoute]:
    """The demo page, the widget's files, its REST API (CORS for the brand's sites) and its
    WebSocket."""
    # The widget is embedded on the brand's own sites: let those origins call the API.
    cors = Middleware(
        CORSMiddleware,
        allow_origins=sorted(origins),
        allow_methods=["GET", "POST"],
        allow_headers=["authorization", "content-type"],
        expose_headers=["content-disposition"],
    )
    scope = Middleware(_WebchatScope, webchat=Webchat(hub, backend, tokens))
    return [
        Route("/", demo_page, include_in_schema=False),
        Mount(
            "/api/webchat",
            routes=[
                Route("/sessions", create_session, methods=["POST"]),
                Route("/files", post_file, methods=["POST"]),
                Route(
                    "/messages/{message_id:int}/attachments/{n:int}",
                    get_attachment,
                    methods=["GET"],
                ),
            ],
            middleware=[cors, scope],
        ),
        WebSocketRoute(WEBSOCKET_PATH, hub.endpoint),
        Mount("/widget", StaticFiles(directory=STATIC), name="widget"),
    ]
