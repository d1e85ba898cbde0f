"""What every console handler works with: the request bodies and how they are checked, the
logged-in agent, the console's dependencies on the request, and how a refusal is raised.

Agents authenticate with a session cookie (signed, expiring, SameSite=Strict); every write also
checks the Origin header (``ConsoleScope``), so another site cannot act with an agent's cookie.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar, cast
from urllib.parse import quote

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from web_console import access
from web_console.account_port import Accounts
from web_console.hub import ConsoleHub
from web_console.port import (
    Agent,
    AgentDirectory,
    BadValue,
    Client,
    ConsoleBackend,
    Forbidden,
    LiveSession,
    Unknown,
)
from web_console.sessions import session_of
from web_console.throttle import LoginThrottle

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")
OPEN_STATUSES = ["bot", "queued", "assigned"]
ALL_STATUSES = {"bot", "queued", "assigned", "resolved"}


BIGINT_MAX = 2**63 - 1  # messages.id is a bigint
POSITION_MAX = 2**31 - 1  # attachments.position is an integer


def download(content: bytes, filename: str, content_type: str) -> Response:
    """A file for the browser to save, never to render: a customer's HTML or SVG opened in the
    console's origin could run script with the agent's session."""
    quoted = quote(filename, safe="")
    return Response(
        content,
        media_type=content_type if content_type == "message/rfc822" else "application/octet-stream",
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quoted}",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox",
        },
    )


class Login(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=1024)
    # The TOTP code (or a recovery code), when the account has a second factor.
    code: str | None = Field(default=None, max_length=64)


class Reply(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=10_000)
    client_id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")


class FormReply(Reply):
    # With files attached, a reply may be only the files.
    text: str = Field(default="", max_length=10_000)


# What an agent may attach to one reply. Telegram bots may upload up to 50 MB and mail relays
# commonly take 25 MB in all, so one reply fits every channel.
class StatusChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal["online", "away", "offline"]


class Merge(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # The other contact: its id, its email, or a channel identity such as "telegram:777".
    contact: str = Field(min_length=1, max_length=320)


class Transfer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    agent_id: str | None = Field(default=None, max_length=64)
    team_id: str | None = Field(default=None, max_length=64)


# Refusals are Starlette's HTTPException with the message as its detail: the app that mounts
# these routes renders them (the server's exception map: {"error": detail}), as it renders the
# port's ActionRefused as a 409.


def parse_body(model: type[M], raw: bytes) -> M:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise HTTPException(400, "body is not valid JSON") from None
    return validated(model, data)


def validated(model: type[M], data: Any) -> M:
    if holds_nul(data):
        # Postgres cannot store U+0000 in text: refused here, not failed at the database.
        raise HTTPException(422, "text may not contain the NUL character (U+0000)")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first["loc"]) or "body"
        raise HTTPException(422, f"{where}: {first['msg']}") from None


async def ask(call: Awaitable[T]) -> T:
    """A call to the backend port: its own refusals (web_console/port.py) are the client's
    404 and 422; ActionRefused goes on to be a 409. Anything else (a LookupError, a
    ValueError) is a bug and a logged 500, never a quiet 404."""
    try:
        return await call
    except Unknown as exc:
        raise HTTPException(404, str(exc) or "not found") from exc
    except BadValue as exc:
        raise HTTPException(422, str(exc)) from exc
    except Forbidden as exc:
        raise HTTPException(403, str(exc)) from exc


def holds_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(holds_nul(k) or holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(holds_nul(v) for v in value)
    return False


@dataclass(frozen=True, slots=True)
class SessionCookie:
    """How agents' login sessions are kept: a signed (itsdangerous), expiring cookie."""

    secret: str
    max_age: int
    https_only: bool


@dataclass(frozen=True, slots=True)
class Console:
    """What the console's handlers work with, put on each request's state by the console's
    mount (``request.state.console``)."""

    hub: ConsoleHub
    backend: ConsoleBackend
    agents: AgentDirectory
    accounts: Accounts
    origins: frozenset[str]
    throttle: LoginThrottle = field(default_factory=LoginThrottle)


class ConsoleScope:
    """ASGI middleware on the console's mount: hands the handlers their ``Console``, and refuses
    a write (any method but GET and HEAD) whose Origin is not one of ours, so another site
    cannot act with an agent's cookie."""

    def __init__(self, app: ASGIApp, console: Console) -> None:
        self.app = app
        self.console = console

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope.setdefault("state", {})["console"] = self.console
        if scope["type"] == "http" and scope["method"] not in ("GET", "HEAD"):
            headers = HTTPConnection(scope).headers
            origin = headers.get("origin")
            if origin is not None and origin.rstrip("/") not in self.console.origins:
                raise HTTPException(403, "origin not allowed")
            # A browser that sends no Origin still says where the request came from.
            if headers.get("sec-fetch-site") == "cross-site":
                raise HTTPException(403, "cross-site request refused")
        await self.app(scope, receive, send)


def console_of(request: Request) -> Console:
    return cast(Console, request.state.console)


async def current_agent(request: Request, token_scope: str | None = None) -> Agent:
    """The logged-in agent, or the agent whose personal API token the request carries (with
    ``conversations:read`` to read, ``conversations:write`` to change, or ``token_scope``
    where a route wants another: the admin area wants ``admin``); or a 401."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        scope = token_scope or (
            "conversations:read" if request.method in ("GET", "HEAD") else "conversations:write"
        )
        agent = await console_of(request).accounts.tokens.token_agent(token.strip(), scope)
        if agent is None:
            raise HTTPException(401, f"missing or wrong API token, or it lacks {scope}")
        return agent
    return (await current_session(request)).agent


async def current_session(request: Request) -> LiveSession:
    """The signed-in browser's session (a cookie, never an API token), or a 401."""
    live = await session_of(request.session, console_of(request).agents)
    if live is None:
        raise HTTPException(401, "log in first")
    return live


def client_of(request: Request) -> Client:
    """Where the request came from, for the session list and the audit log."""
    return Client(
        address=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent", ""),
    )


async def reader(request: Request) -> Agent:
    """The logged-in agent, who must hold a role that reads conversations (401, 403)."""
    agent = await current_agent(request)
    if not access.may_read_conversations(agent):
        raise HTTPException(403, "your roles do not include conversations")
    return agent


async def worker(request: Request) -> Agent:
    """The logged-in agent, who must hold a role that takes conversations (401, 403)."""
    agent = await current_agent(request)
    if not access.may_work(agent):
        raise HTTPException(403, "your roles do not include taking conversations")
    return agent


def agent_json(agent: Agent) -> dict[str, Any]:
    return {
        "id": agent.id,
        "email": agent.email,
        "name": agent.name,
        # the strongest role held, for a label; ``roles`` says where each is held
        "role": agent.role,
        "admin": agent.admin,
        "roles": {brand: sorted(roles) for brand, roles in agent.roles.items()},
    }
