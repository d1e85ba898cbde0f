"""The console's agent endpoints: log in and out, who am I, my status, and what a supervisor
sees (the queue, the overview, the directory)."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from web_console import access
from web_console.requests import (
    Login,
    StatusChange,
    agent_json,
    console_of,
    current_agent,
    parse_body,
    worker,
)


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
    body = parse_body(Login, await request.body())
    throttle, agents = console_of(request).throttle, console_of(request).agents
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
    request.session["version"] = agent.session_version
    return JSONResponse({"agent": agent_json(agent)})


async def logout(request: Request) -> Response:
    """
    summary: Log out
    responses:
      204: {description: the session cookie is cleared}
    """
    agent_id = request.session.get("agent_id")
    request.session.clear()
    if isinstance(agent_id, str):
        console = console_of(request)
        # Every session of the agent ends, on every device, and so does a copied cookie;
        # their open consoles are closed too.
        await console.agents.end_sessions(agent_id)
        await console.hub.disconnect_agent(agent_id)
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
      included) and the explanation: "+40 VIP, +25 negative sentiment, +12 waited 8 min".
    responses:
      200: {description: the ranked conversations}
      401: {description: not logged in}
      403: {description: your roles do not include taking conversations}
    """
    agent = await worker(request)
    return JSONResponse({"queue": await console_of(request).backend.queue(agent)})


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
