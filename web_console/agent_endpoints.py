"""The console's agent endpoints: log in and out, who am I, my status, and what a supervisor
sees (the queue, the overview, the directory)."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from web_console import access, sessions
from web_console.requests import (
    Login,
    StatusChange,
    agent_json,
    client_of,
    console_of,
    current_agent,
    parse_body,
    worker,
)

# The largest top-of-queue page: a console asks for one screen's worth or two.
QUEUE_PAGE_MAX = 1000


async def login(request: Request) -> Response:
    """
    summary: Log an agent in
    description: >
      An account with two-factor sign-in also needs `code` (the authenticator app's 6 digits,
      or a recovery code): without it, or with a wrong one, the answer is 401 with
      `"second_factor": "totp"`, so the page asks for it.
    body: Login
    responses:
      200: {description: the agent; a session cookie is set}
      400: {description: body is not JSON}
      401: {description: "wrong email or password; or the second factor is wanted
        (`second_factor` says which)"}
      422: {description: invalid field}
      429: {description: too many failed logins; see Retry-After}
    """
    body = parse_body(Login, await request.body())
    throttle, agents = console_of(request).throttle, console_of(request).agents
    client = client_of(request)
    address = client.address or "unknown"
    wait = throttle.retry_after(body.email, address)
    if wait is not None:
        raise HTTPException(
            429, "too many failed logins; try again later", {"retry-after": str(wait)}
        )
    signed_in = await agents.log_in(body.email, body.password, body.code, client)
    if signed_in.agent is None:
        # A right password without its code yet is no failure; a wrong code is one.
        if signed_in.second_factor is None or signed_in.wrong_code:
            throttle.failed(body.email, address)
        if signed_in.second_factor is not None:
            error = "wrong code" if signed_in.wrong_code else "enter the code from your app"
            return JSONResponse(
                {"error": error, "second_factor": signed_in.second_factor}, status_code=401
            )
        raise HTTPException(401, "wrong email or password")
    throttle.succeeded(body.email)
    sessions.begin(request.session, signed_in)
    return JSONResponse({"agent": agent_json(signed_in.agent)})


async def logout(request: Request) -> Response:
    """
    summary: Log out
    description: This session ends (a copy of its cookie too) and its open console closes.
    responses:
      204: {description: the session cookie is cleared}
    """
    secret = request.session.get(sessions.SECRET)
    request.session.clear()
    if isinstance(secret, str):
        console = console_of(request)
        ended = await console.agents.log_out(secret, client_of(request))
        if ended is not None:
            await console.hub.disconnect_session(ended.id)
    return Response(status_code=204)


async def me(request: Request) -> Response:
    """
    summary: The logged-in agent
    responses:
      200: {description: the agent}
      401: {description: not logged in}
    """
    agent = await current_agent(request)
    view = await console_of(request).backend.agent_view(agent)
    return JSONResponse({"agent": {**view, **agent_json(agent)}})


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
    agent = await current_agent(request)
    body = parse_body(StatusChange, await request.body())
    return JSONResponse({"agent": await console_of(request).backend.set_status(agent, body.status)})


async def get_queue(request: Request) -> Response:
    """
    summary: The queue, highest priority first
    description: >
      Every queued conversation with its priority score now (aging and the SLA clock
      included) and the explanation: "+40 VIP, +25 negative sentiment, +12 waited 8 min",
      its band and its rank (a string that sorts in queue order). The console reads it once,
      then keeps it from the socket's queue.changed events (the entry of one conversation,
      or null when it left the queue); last_event_id is the event log's last id before the
      queue was read. With `limit`, only the top of the queue comes (the console's first paint),
      and `total` always says how many the agent may see.
    parameters:
      - {name: limit, in: query, required: false,
         description: "at most this many entries, from the top (1 to 1000); default: all",
         schema: {type: integer, minimum: 1, maximum: 1000}}
    responses:
      200: {description: "the ranked conversations (`queue`), how many there are (`total`)"}
      401: {description: not logged in}
      403: {description: your roles do not include taking conversations}
      422: {description: limit is not an integer from 1 to 1000}
    """
    agent = await worker(request)
    raw = request.query_params.get("limit")
    if raw is not None and not (raw.isdigit() and len(raw) <= 4 and 0 < int(raw) <= QUEUE_PAGE_MAX):
        raise HTTPException(422, f"limit: an integer from 1 to {QUEUE_PAGE_MAX}")
    backend = console_of(request).backend
    # Read first: a console re-applies the queue.changed events after this id that reached
    # it while this answer was on its way.
    last_event_id = await backend.last_event_id()
    entries, total = await backend.queue(agent, int(raw) if raw is not None else None)
    return JSONResponse({"queue": entries, "total": total, "last_event_id": last_event_id})


async def overview(request: Request) -> Response:
    """
    summary: The supervisor view
    description: Queue depth, oldest wait and SLA state per team; agents' status and load.
    responses:
      200: {description: teams and agents}
      401: {description: not logged in}
      403: {description: supervisors, analysts and admins only}
    """
    agent = await current_agent(request)
    if not access.may_report(agent):
        raise HTTPException(403, "supervisors, analysts and admins only")
    return JSONResponse(await console_of(request).backend.overview(agent))


async def directory(request: Request) -> Response:
    """
    summary: Teams and agents to transfer to
    responses:
      200: {description: "teams (id, name) and agents (id, name, status, load, capacity)"}
      401: {description: not logged in}
      403: {description: your roles do not include taking conversations}
    """
    agent = await worker(request)
    return JSONResponse(await console_of(request).backend.directory(agent))
