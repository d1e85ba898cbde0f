"""The console's HTTP routes: login, conversations, transcripts, replies, and the static app.

Agents authenticate with a session cookie (signed, expiring, SameSite=Strict); every write also
checks the Origin header, so another site cannot act with an agent's cookie.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar, cast
from urllib.parse import quote

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from web_console.hub import ConsoleHub
from web_console.port import Agent, AgentDirectory, BadValue, ConsoleBackend, Unknown, UploadedFile
from web_console.throttle import LoginThrottle

STATIC = Path(__file__).parent / "static"
M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")
OPEN_STATUSES = ["bot", "queued", "assigned"]
ALL_STATUSES = {"bot", "queued", "assigned", "resolved"}


BIGINT_MAX = 2**63 - 1  # messages.id is a bigint
POSITION_MAX = 2**31 - 1  # attachments.position is an integer


def _download(content: bytes, filename: str, content_type: str) -> Response:
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


class Reply(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=10_000)
    client_id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")


class FormReply(Reply):
    # With files attached, a reply may be only the files.
    text: str = Field(default="", max_length=10_000)


# What an agent may attach to one reply. Telegram bots may upload up to 50 MB and mail relays
# commonly take 25 MB in all, so one reply fits every channel.
MAX_FILES = 10
MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_UPLOAD_BYTES = 25 * 1024 * 1024


async def _form_parts(
    items: list[tuple[str, UploadFile | str]],
) -> tuple[dict[str, str], list[UploadedFile]]:
    """A form's text fields, and its files within the limits."""
    fields: dict[str, str] = {}
    files: list[UploadedFile] = []
    total = 0
    for name, value in items:
        if isinstance(value, str):
            fields[name] = value
            continue
        if name != "files":
            raise HTTPException(422, f"{name}: files go in parts named 'files'")
        content = await value.read(MAX_FILE_BYTES + 1)
        filename = value.filename or "file"
        if len(content) > MAX_FILE_BYTES:
            raise HTTPException(413, f"{filename}: over {MAX_FILE_BYTES // 2**20} MiB")
        if not content:
            raise HTTPException(422, f"{filename}: the file is empty")
        total += len(content)
        if total > MAX_UPLOAD_BYTES:
            raise HTTPException(413, f"the upload is over {MAX_UPLOAD_BYTES // 2**20} MiB")
        files.append(
            UploadedFile(filename, value.content_type or "application/octet-stream", content)
        )
    return fields, files


async def _reply_form(request: Request) -> tuple[Reply, list[UploadedFile]]:
    """A reply sent as multipart/form-data: its fields, checked as the JSON body is, and its
    files, each within the limits."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_UPLOAD_BYTES + 64 * 1024:
        raise HTTPException(413, f"the upload is over {MAX_UPLOAD_BYTES // 2**20} MiB")
    try:
        form = await request.form(max_files=MAX_FILES, max_fields=10)
    except HTTPException as exc:
        raise HTTPException(400, f"malformed form: {exc.detail}") from None
    try:
        fields, files = await _form_parts(form.multi_items())
    finally:
        await form.close()  # uploads past 1 MB were spooled to temporary files
    model: type[Reply] = FormReply if files else Reply
    return _validated(model, fields), files


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


SUPERVISORS = {"supervisor", "admin"}


# Refusals are Starlette's HTTPException with the message as its detail: the app that mounts
# these routes renders them (the server's exception map: {"error": detail}), as it renders the
# port's ActionRefused as a 409.


def _body(model: type[M], raw: bytes) -> M:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise HTTPException(400, "body is not valid JSON") from None
    return _validated(model, data)


def _validated(model: type[M], data: Any) -> M:
    if _holds_nul(data):
        # Postgres cannot store U+0000 in text: refused here, not failed at the database.
        raise HTTPException(422, "text may not contain the NUL character (U+0000)")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first["loc"]) or "body"
        raise HTTPException(422, f"{where}: {first['msg']}") from None


async def _ask(call: Awaitable[T]) -> T:
    """A call to the backend port: its own refusals (web_console/port.py) are the client's
    404 and 422; ActionRefused goes on to be a 409. Anything else (a LookupError, a
    ValueError) is a bug and a logged 500, never a quiet 404."""
    try:
        return await call
    except Unknown as exc:
        raise HTTPException(404, str(exc) or "not found") from exc
    except BadValue as exc:
        raise HTTPException(422, str(exc)) from exc


def _holds_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(v) for v in value)
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
    origins: frozenset[str]
    throttle: LoginThrottle = field(default_factory=LoginThrottle)


class _ConsoleScope:
    """ASGI middleware on the console's mount: hands the handlers their ``Console``, and refuses
    a write (any method but GET and HEAD) whose Origin is not one of ours, so another site
    cannot act with an agent's cookie."""

    def __init__(self, app: ASGIApp, console: Console) -> None:
        self.app = app
        self.console = console

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope.setdefault("state", {})["console"] = self.console
        if scope["type"] == "http" and scope["method"] not in ("GET", "HEAD"):
            origin = HTTPConnection(scope).headers.get("origin")
            if origin is not None and origin.rstrip("/") not in self.console.origins:
                raise HTTPException(403, "origin not allowed")
        await self.app(scope, receive, send)


def _console(request: Request) -> Console:
    return cast(Console, request.state.console)


async def _agent(request: Request) -> Agent:
    """The logged-in agent, or a 401."""
    agent_id = request.session.get("agent_id")
    agents = _console(request).agents
    agent = await agents.agent(agent_id) if isinstance(agent_id, str) else None
    if agent is None:
        raise HTTPException(401, "log in first")
    return agent


async def login(request: Request) -> Response:
    """
    summary: Log an agent in
    body: Login
    responses:
      200: {description: the agent; a session cookie is set}
      400: {description: body is not JSON}
      401: {description: wrong email or password}
      422: {description: invalid field}
      429: {description: too many failed logins; see Retry-After}
    """
    body = _body(Login, await request.body())
    throttle, agents = _console(request).throttle, _console(request).agents
    address = request.client.host if request.client else "unknown"
    wait = throttle.retry_after(body.email, address)
    if wait is not None:
        raise HTTPException(
            429, "too many failed logins; try again later", {"retry-after": str(wait)}
        )
    agent = await agents.authenticate(body.email, body.password)
    if agent is None:
        throttle.failed(body.email, address)
        raise HTTPException(401, "wrong email or password")
    throttle.succeeded(body.email)
    request.session.clear()
    request.session["agent_id"] = agent.id
    return JSONResponse({"agent": _agent_json(agent)})


async def logout(request: Request) -> Response:
    """
    summary: Log out
    responses:
      204: {description: the session cookie is cleared}
    """
    request.session.clear()
    return Response(status_code=204)


async def me(request: Request) -> Response:
    """
    summary: The logged-in agent
    responses:
      200: {description: the agent}
      401: {description: not logged in}
    """
    agent = await _agent(request)
    view = await _console(request).backend.agent_view(agent)
    return JSONResponse({"agent": {**_agent_json(agent), **view}})


async def set_status(request: Request) -> Response:
    """
    summary: Set your status
    description: >
      online: the router offers you conversations; away: it does not (a break); offline:
      it does not, and your unanswered conversations go back to the queue.
    body: StatusChange
    responses:
      200: {description: you, with your status, load and capacity}
      401: {description: not logged in}
      422: {description: unknown status}
    """
    agent = await _agent(request)
    body = _body(StatusChange, await request.body())
    return JSONResponse({"agent": await _console(request).backend.set_status(agent, body.status)})


async def get_queue(request: Request) -> Response:
    """
    summary: The queue, highest priority first
    description: >
      Every queued conversation with its priority score now (aging and the SLA clock
      included) and the explanation: "+40 VIP, +25 negative sentiment, +12 waited 8 min".
    responses:
      200: {description: the ranked conversations}
      401: {description: not logged in}
    """
    await _agent(request)
    return JSONResponse({"queue": await _console(request).backend.queue()})


async def overview(request: Request) -> Response:
    """
    summary: The supervisor view
    description: Queue depth, oldest wait and SLA state per team; agents' status and load.
    responses:
      200: {description: teams and agents}
      401: {description: not logged in}
      403: {description: supervisors and admins only}
    """
    agent = await _agent(request)
    if agent.role not in SUPERVISORS:
        raise HTTPException(403, "supervisors and admins only")
    return JSONResponse(await _console(request).backend.overview())


async def directory(request: Request) -> Response:
    """
    summary: Teams and agents to transfer to
    responses:
      200: {description: "teams (id, name) and agents (id, name, status, load, capacity)"}
      401: {description: not logged in}
    """
    await _agent(request)
    return JSONResponse(await _console(request).backend.directory())


async def claim(request: Request) -> Response:
    """
    summary: Take a conversation from the queue (or from the bot)
    responses:
      200: {description: the conversation, now yours}
      401: {description: not logged in}
      403: {description: Origin not allowed}
      404: {description: no such conversation}
      409: {description: resolved, someone else's, or you are at capacity}
    """
    agent = await _agent(request)
    backend = _console(request).backend
    return JSONResponse(await _ask(backend.claim(agent, request.path_params["id"])))


async def transfer(request: Request) -> Response:
    """
    summary: Transfer a conversation to an agent or a team
    body: Transfer
    responses:
      200: {description: the conversation after the transfer}
      400: {description: body is not JSON}
      401: {description: not logged in}
      403: {description: Origin not allowed}
      404: {description: no such conversation, agent or team}
      409: {description: "resolved, someone else's, or the agent is offline or full"}
      422: {description: not exactly one of agent_id and team_id}
    """
    agent = await _agent(request)
    body = _body(Transfer, await request.body())
    backend = _console(request).backend
    view = await _ask(
        backend.transfer(agent, request.path_params["id"], body.agent_id, body.team_id)
    )
    return JSONResponse(view)


async def resolve(request: Request) -> Response:
    """
    summary: Resolve a conversation
    description: The customer's next message opens a new conversation, offered first to you.
    responses:
      200: {description: the resolved conversation}
      401: {description: not logged in}
      403: {description: Origin not allowed}
      404: {description: no such conversation}
      409: {description: already resolved, or someone else's}
    """
    agent = await _agent(request)
    backend = _console(request).backend
    return JSONResponse(await _ask(backend.resolve(agent, request.path_params["id"])))


async def list_conversations(request: Request) -> Response:
    """
    summary: Conversations, newest activity first
    parameters:
      - {name: status, in: query, required: false,
         description: "comma-separated statuses (bot, queued, assigned, resolved);
                       default: the open ones",
         schema: {type: string}}
    responses:
      200:
        description: >
          the conversations and the newest event id: open the console WebSocket with
          it in `hello` to receive everything that happens after this list
      401: {description: not logged in}
      422: {description: unknown status}
    """
    await _agent(request)
    raw = request.query_params.get("status")
    statuses = raw.split(",") if raw else OPEN_STATUSES
    if not set(statuses) <= ALL_STATUSES:
        raise HTTPException(422, f"status: must be among {sorted(ALL_STATUSES)}")
    backend = _console(request).backend
    last_event_id = await backend.last_event_id()  # first, so nothing falls between
    items = await backend.conversations(statuses)
    return JSONResponse({"conversations": items, "last_event_id": last_event_id})


async def get_conversation(request: Request) -> Response:
    """
    summary: One conversation
    responses:
      200: {description: the conversation}
      401: {description: not logged in}
      404: {description: no such conversation}
    """
    await _agent(request)
    backend = _console(request).backend
    return JSONResponse(await _ask(backend.conversation(request.path_params["id"])))


async def list_messages(request: Request) -> Response:
    """
    summary: A conversation's messages in seq order
    parameters:
      - {name: after_seq, in: query, required: false, schema: {type: integer, minimum: 0}}
    responses:
      200: {description: up to 500 messages with seq > after_seq}
      401: {description: not logged in}
      404: {description: no such conversation}
      422: {description: after_seq is not a non-negative integer}
    """
    await _agent(request)
    raw = request.query_params.get("after_seq", "0")
    if not raw.isdigit() or len(raw) > 9:
        raise HTTPException(422, "after_seq: must be a non-negative integer")
    conversation_id = request.path_params["id"]
    backend = _console(request).backend
    await _ask(backend.conversation(conversation_id))  # 404 for an unknown id
    messages = await _ask(backend.messages_after(conversation_id, int(raw)))
    return JSONResponse({"messages": messages})


def _message_id(request: Request) -> int:
    value: int = request.path_params["message_id"]
    if value > BIGINT_MAX:
        raise HTTPException(404, f"no message {value}")
    return value


async def merge_contact(request: Request) -> Response:
    """
    summary: Merge another contact into this conversation's (one person, one history)
    body: Merge
    responses:
      200: {description: the conversation, its contact now holding both identities}
      400: {description: body is not JSON}
      401: {description: not logged in}
      404: {description: no such conversation or contact}
      409: {description: both have an open conversation in one inbox}
      422: {description: invalid body, the same contact, or another brand's}
    """
    agent = await _agent(request)
    body = _body(Merge, await request.body())
    backend = _console(request).backend
    view = await _ask(backend.merge_contact(agent, request.path_params["id"], body.contact))
    return JSONResponse(view)


async def get_attachment(request: Request) -> Response:
    """
    summary: Download one of a message's attachments
    description: Always served as a download (Content-Disposition attachment, nosniff), so
      a customer's file is never rendered inside the console's origin.
    responses:
      200: {description: the file}
      401: {description: not logged in}
      404: {description: no such attachment}
    """
    await _agent(request)
    position: int = request.path_params["n"]
    if position > POSITION_MAX:
        raise HTTPException(404, "no such attachment")
    backend = _console(request).backend
    filename, content_type, content = await _ask(backend.attachment(_message_id(request), position))
    return _download(content, filename, content_type)


async def get_original(request: Request) -> Response:
    """
    summary: Download the raw mail a customer's message came from (.eml)
    responses:
      200: {description: the message as received, message/rfc822}
      401: {description: not logged in}
      404: {description: the message did not come by mail}
    """
    await _agent(request)
    message_id = _message_id(request)
    raw = await _ask(_console(request).backend.original(message_id))
    return _download(raw, f"message-{message_id}.eml", "message/rfc822")


async def post_message(request: Request) -> Response:
    """
    summary: Reply to the customer
    description: >
      Stored once per client_id (a retried request returns the stored message with 200).
      Replying to an unassigned conversation assigns it to you.
      With files, send multipart/form-data: the same fields, and each file as a part
      named `files` (up to 10 files, 10 MiB each, 25 MiB in all); the text may then be
      empty. Files are stored with the message and go out with it on its channel.
    body: Reply
    requestBody:
      content:
        multipart/form-data:
          schema:
            type: object
            required: [client_id]
            properties:
              text: {type: string, maxLength: 10000}
              client_id: {type: string, pattern: "^[A-Za-z0-9_-]{1,64}$"}
              files: {type: array, items: {type: string, format: binary}, maxItems: 10}
    responses:
      201: {description: the stored message}
      200: {description: the message was already stored for this client_id}
      400: {description: body is not JSON, or a malformed form}
      401: {description: not logged in}
      403: {description: Origin not allowed}
      404: {description: no such conversation}
      409: {description: the conversation is resolved or held by another agent}
      413: {description: a file or the whole upload is too large}
      422: {description: invalid field, an empty file, or neither text nor files}
    """
    agent = await _agent(request)
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        body, files = await _reply_form(request)
    else:
        body, files = _body(Reply, await request.body()), []
    backend = _console(request).backend
    message, duplicate = await _ask(
        backend.reply(agent, request.path_params["id"], body.text, body.client_id, files)
    )
    return JSONResponse({"message": message}, status_code=200 if duplicate else 201)


async def return_to_bot(request: Request) -> Response:
    """
    summary: Hand the conversation back to the bot
    description: The bot answers the customer's next message; the handoff reason is cleared.
    responses:
      200: {description: the conversation, now with the bot}
      401: {description: not logged in}
      403: {description: Origin not allowed}
      404: {description: no such conversation}
      409: {description: the conversation is resolved or held by another agent}
    """
    agent = await _agent(request)
    backend = _console(request).backend
    return JSONResponse(await _ask(backend.return_to_bot(agent, request.path_params["id"])))


async def index(request: Request) -> Response:
    return FileResponse(STATIC / "index.html")


API = [
    Route("/api/login", login, methods=["POST"]),
    Route("/api/logout", logout, methods=["POST"]),
    Route("/api/me", me, methods=["GET"]),
    Route("/api/me/status", set_status, methods=["POST"]),
    Route("/api/queue", get_queue, methods=["GET"]),
    Route("/api/overview", overview, methods=["GET"]),
    Route("/api/directory", directory, methods=["GET"]),
    Route("/api/conversations/{id}/claim", claim, methods=["POST"]),
    Route("/api/conversations/{id}/transfer", transfer, methods=["POST"]),
    Route("/api/conversations/{id}/resolve", resolve, methods=["POST"]),
    Route("/api/conversations/{id}/merge-contact", merge_contact, methods=["POST"]),
    Route("/api/conversations", list_conversations, methods=["GET"]),
    Route("/api/conversations/{id}", get_conversation, methods=["GET"]),
    Route("/api/conversations/{id}/messages", list_messages, methods=["GET"]),
    Route(
        "/api/messages/{message_id:int}/attachments/{n:int}",
        get_attachment,
        methods=["GET"],
    ),
    Route("/api/messages/{message_id:int}/original", get_original, methods=["GET"]),
    Route("/api/conversations/{id}/messages", post_message, methods=["POST"]),
    Route("/api/conversations/{id}/return-to-bot", return_to_bot, methods=["POST"]),
]


def routes(
    hub: ConsoleHub,
    backend: ConsoleBackend,
    agents: AgentDirectory,
    origins: frozenset[str],
    cookie: SessionCookie,
    throttle: LoginThrottle | None = None,
) -> list[BaseRoute]:
    """The console's page, files, REST API and WebSocket; only the API and the socket carry
    the session cookie."""
    console = Console(hub, backend, agents, origins, throttle or LoginThrottle())
    session = Middleware(
        SessionMiddleware,
        secret_key=cookie.secret,
        session_cookie="switchboard_console",
        max_age=cookie.max_age,
        same_site="strict",
        https_only=cookie.https_only,
    )
    return [
        Route("/console", index, include_in_schema=False),
        Mount("/console/static", StaticFiles(directory=STATIC), name="console-static"),
        Mount(
            "/console",
            routes=[*API, WebSocketRoute("/ws", hub.endpoint)],
            middleware=[session, Middleware(_ConsoleScope, console=console)],
        ),
    ]


def _agent_json(agent: Agent) -> dict[str, Any]:
    return {"id": agent.id, "email": agent.email, "name": agent.name, "role": agent.role}
