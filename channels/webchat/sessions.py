"""Visitor sessions and who the visitor is: starting or resuming a session (anonymous, or a
user the embedding site vouches for), and proving an email address by a one-time code.
See docs/webchat-protocol.md and docs/webchat-identity.md."""

from __future__ import annotations

import uuid
from typing import Any

import structlog
from pydantic import BaseModel, ConfigDict, EmailStr, Field, model_validator
from pydantic_core import PydanticCustomError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from channels.base import NUL_REFUSED, holds_nul
from channels.webchat import protocol as p
from channels.webchat.identity import CODE, HASH
from channels.webchat.port import (
    EmailCodeRefused,
    IdentityRefused,
    SessionKeyUsed,
    UnknownInbox,
    VisitorDetails,
)
from channels.webchat.requests import check_origin, parse, visitor_of, webchat_of
from channels.webchat.token import TokenError, VisitorClaims

log = structlog.get_logger(__name__)

# A session key is random and the client's own (a UUID, or 16+ random bytes in base64url): a
# retried POST with it answers the same visitor instead of making a second one. At least 22
# characters: 128 bits the way the widget makes them, too many to guess.
SESSION_KEY = r"^[A-Za-z0-9_-]{22,64}$"
# A key answers its visitor again for this long after the visitor was made: far longer than
# any client's retries (the widget's back-off stops growing at 15 s), short enough that a key
# is no lasting credential (the token is, and it expires).
SESSION_KEY_SECONDS = 3600.0
# Visitor ids made from session keys (uuid5 of the inbox, the identifier and the key): the
# same key for the same inbox and user is the same visitor on every node, with nothing to
# look up; another inbox or user with the same key is another visitor.
_KEYED_VISITORS = uuid.UUID("7f0c7b1e-3a55-4a3c-9a8e-5e55b0a4c021")


def keyed_visitor_id(inbox: str, identifier: str | None, key: str) -> str:
    """The visitor id a session ``key`` stands for in ``inbox`` (for that ``identifier``)."""
    return str(uuid.uuid5(_KEYED_VISITORS, f"{inbox}\n{identifier or ''}\n{key}"))


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
    # The visitor's language (the widget's, from the browser or the page): the greeting's.
    language: str | None = Field(default=None, pattern=r"^[a-z]{2}$")
    # The client's random key for this session's creation: a retry of the same POST (its
    # answer was lost: the proxy retried it on another node, or the page did) answers the
    # same visitor instead of making another.
    key: str | None = Field(default=None, pattern=SESSION_KEY)

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


class EmailCodeRequest(BaseModel):
    """Body of ``POST /api/webchat/email-code``: the address to prove."""

    model_config = ConfigDict(extra="forbid")
    email: EmailStr


class EmailCodeConfirmation(BaseModel):
    """Body of ``POST /api/webchat/email-code/confirm``: the code the mail carried."""

    model_config = ConfigDict(extra="forbid")
    code: str = Field(pattern=CODE.pattern, description="the six digits of the mail")


def session_request(raw: bytes) -> SessionRequest:
    return parse(raw, SessionRequest)


async def create_session(request: Request) -> Response:
    """
    summary: Start or resume a web chat visitor session
    description: >
      Returns a signed, expiring token the widget sends in its WebSocket `hello` frame.
      Passing a still-valid earlier token keeps the same visitor (and history). A typed
      `name`/`email` stays on the visitor's own, unverified contact; with `identifier` and a
      matching `identifier_hash` (hex HMAC-SHA256 of the identifier with the inbox's identity
      secret) the visitor joins the contact of that verified user, and its history.
      A `key` (the client's own random string, 22 to 64 of `A-Z a-z 0-9 _ -`) makes the
      request safe to repeat: the same key answers the same visitor, on any node, for an
      hour after it was made (then 409: make a new key). Without a token or a key, each
      request makes a new visitor.
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
                greeting: {type: string, description: "the brand's greeting in `language`"}
      400: {description: body is not JSON}
      401: {description: "identifier_hash does not match identifier, or the inbox has no
        identity secret"}
      403: {description: Origin not allowed}
      404: {description: no such inbox}
      409: {description: "the key made its visitor over an hour ago: make a new key"}
      422: {description: invalid field}
      429: {description: too many new visitors from this address (Retry-After)}
      503: {description: the database is unavailable; try again (Retry-After)}
    """
    webchat = webchat_of(request)
    check_origin(webchat.hub, request)
    body = session_request(await request.body())
    visitor_id: str | None = None
    keyed = False
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
        if body.key is not None:
            visitor_id, keyed = keyed_visitor_id(body.inbox, body.identifier, body.key), True
        else:
            visitor_id = str(uuid.uuid4())
    details = VisitorDetails(
        name=body.name,
        email=body.email and str(body.email),
        identifier=body.identifier,
        identifier_hash=body.identifier_hash,
    )
    try:
        visitor = await webchat.backend.open_visitor(
            body.inbox, visitor_id, details, keyed_within=SESSION_KEY_SECONDS if keyed else None
        )
        # The greeting is a read of its own: a database restarting between the two is the
        # same "try again" (asked again with its key, the widget gets the same visitor).
        greeting = await webchat.backend.greeting(visitor, body.language)
    except UnknownInbox:
        raise HTTPException(404, f"no web chat inbox {body.inbox!r}") from None
    except IdentityRefused as exc:
        raise HTTPException(401, str(exc)) from None
    except SessionKeyUsed:
        raise HTTPException(
            409, "this key made its visitor over an hour ago; make a new key"
        ) from None
    except Exception as exc:
        # The database is restarting or unreachable: not the page's fault, and soon over
        # (the widget asks again); a 503 the proxy and the page understand, not a 500.
        log.warning("web chat session not opened", error=type(exc).__name__)
        raise HTTPException(503, "unavailable; try again", {"Retry-After": "2"}) from None
    token = webchat.tokens.issue(
        VisitorClaims(visitor.visitor_id, visitor.inbox_address, visitor.identifier)
    )
    return JSONResponse(
        {
            "token": token,
            "visitor_id": visitor.visitor_id,
            "expires_in": webchat.tokens.ttl_seconds,
            "websocket_path": p.WEBSOCKET_PATH,
            "verified": visitor.verified,
            "greeting": greeting,
        },
        status_code=201,
    )


async def post_email_code(request: Request) -> Response:
    """
    summary: Mail the visitor a one-time code that proves an email address
    description: >
      For an unverified visitor (the visitor token as `Authorization: Bearer <token>`). The
      six-digit code is good for ten minutes and five tries; confirming it with
      `POST /api/webchat/email-code/confirm` joins the visitor to the customer with that
      address. Asking again replaces the code.
    body: EmailCodeRequest
    responses:
      202: {description: "the code is on its way (expires_in: seconds)"}
      400: {description: body is not JSON}
      401: {description: no token, or an invalid or expired one}
      403: {description: Origin not allowed}
      409: {description: the visitor is verified already}
      422: {description: not an email address}
      429: {description: too many codes asked for (Retry-After)}
      503: {description: this server sends no mail, or cannot now}
    """
    webchat = webchat_of(request)
    check_origin(webchat.hub, request)
    visitor = await visitor_of(request)
    fields = parse(await request.body(), EmailCodeRequest)
    email = str(fields.email)
    client = request.client.host if request.client else "unknown"
    if not await webchat.hub.take_email_code(visitor.visitor_id, client, email):
        # The tightest window is ten minutes: a retry sooner may be refused again.
        retry = {"Retry-After": str(60 * p.EMAIL_CODES_PER_VISITOR[1])}
        raise HTTPException(429, "too many codes asked for; try again later", retry)
    try:
        ttl = await webchat.backend.send_email_code(visitor, email)
    except EmailCodeRefused as exc:
        raise HTTPException(exc.status, str(exc)) from None
    return JSONResponse({"sent_to": email, "expires_in": ttl}, status_code=202)


async def confirm_email_code(request: Request) -> Response:
    """
    summary: Confirm the one-time code mailed to the visitor
    description: >
      With the right code the visitor is that address's customer: its socket, reconnected,
      shows the customer's conversation in this inbox (as a returning visitor's). A wrong
      code says how many tries are left; after five, or ten minutes, ask for a new one.
    body: EmailCodeConfirmation
    responses:
      200: {description: "verified; reconnect the socket"}
      400: {description: body is not JSON}
      401: {description: no token, or an invalid or expired one}
      403: {description: Origin not allowed}
      410: {description: no code waiting, or it expired or used up its tries}
      422: {description: a wrong code (the tries left), or not six digits}
    """
    webchat = webchat_of(request)
    check_origin(webchat.hub, request)
    visitor = await visitor_of(request)
    fields = parse(await request.body(), EmailCodeConfirmation)
    try:
        await webchat.backend.confirm_email_code(visitor, fields.code)
    except EmailCodeRefused as exc:
        raise HTTPException(exc.status, str(exc)) from None
    return JSONResponse({"verified": True, "reconnect": True})
