"""The console's admin area: who holds which roles and teams in each brand, and the audit
log. Admins only."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from web_console.port import Agent
from web_console.requests import ask, console_of, current_agent, parse_body

Role = Literal["supervisor", "agent", "analyst", "designer", "editor"]


class Access(BaseModel):
    model_config = ConfigDict(extra="forbid")
    brand_id: str = Field(max_length=64)
    roles: list[Role] = Field(max_length=5)
    team_ids: list[str] = Field(default=[], max_length=200)
    admin: bool = False


class Invite(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    name: str = Field(min_length=1, max_length=200)
    brand_id: str = Field(max_length=64)
    roles: list[Role] = Field(min_length=1, max_length=5)
    team_ids: list[str] = Field(default=[], max_length=200)


async def _admin(request: Request) -> Agent:
    # By token, the admin area wants the admin scope: a token made to read or work
    # conversations must not change who may do what, nor read the audit log.
    agent = await current_agent(request, token_scope="admin")
    if not agent.admin:
        raise HTTPException(403, "admins only")
    return agent


async def list_people(request: Request) -> Response:
    """
    summary: Every agent with their roles and teams per brand, and every brand's teams
    responses:
      200: {description: brands (with teams) and people}
      401: {description: not logged in}
      403: {description: admins only}
    """
    await _admin(request)
    return JSONResponse(await console_of(request).backend.people())


async def invite(request: Request) -> Response:
    """
    summary: Invite a colleague
    description: >
      Adds them with these roles and teams in the brand, without a password, and mails them
      a link to set one (72 hours, once). When no mail can go, the answer carries the link
      to hand over.
    body: Invite
    responses:
      201: {description: "person, mailed (and link when not mailed)"}
      400: {description: body is not JSON}
      401: {description: not logged in}
      403: {description: admins only, or Origin not allowed}
      404: {description: no such brand}
      409: {description: the email is taken}
      422: {description: invalid field, or a team of another brand}
    """
    agent = await _admin(request)
    body = parse_body(Invite, await request.body())
    backend = console_of(request).backend
    made = await ask(
        backend.invite(agent, body.email, body.name, body.brand_id, body.roles, body.team_ids)
    )
    return JSONResponse(made, status_code=201)


async def set_access(request: Request) -> Response:
    """
    summary: Set an agent's roles and teams in one brand
    description: >
      Replaces the roles and team memberships the agent holds in the brand (and whether
      they are an admin). New roles end the agent's sessions: they sign in again under
      them. The last admin cannot stop being one.
    body: Access
    responses:
      200: {description: the agent now}
      400: {description: body is not JSON}
      401: {description: not logged in}
      403: {description: admins only, or Origin not allowed}
      404: {description: no such agent or brand}
      409: {description: that would leave no admin}
      422: {description: unknown role, or a team of another brand}
    """
    agent = await _admin(request)
    body = parse_body(Access, await request.body())
    console = console_of(request)
    target = request.path_params["id"]
    person, changed = await ask(
        console.backend.set_access(
            agent, target, body.brand_id, body.roles, body.team_ids, body.admin
        )
    )
    if changed:
        await console.hub.disconnect_agent(target)
    return JSONResponse({"person": person})


async def audit_log(request: Request) -> Response:
    """
    summary: The audit log, newest first, 50 a page
    description: >
      Who did what and when: logins, role and team changes, claims, transfers, merges,
      exports, erasures, settings. Filter by action or family (`contact.`), by actor (an
      agent's id or email, "admin token", "system") and by time.
    parameters:
      - {name: action, in: query, required: false, schema: {type: string, maxLength: 100}}
      - {name: actor, in: query, required: false, schema: {type: string, maxLength: 320}}
      - {name: since, in: query, required: false, schema: {type: string, maxLength: 40}}
      - {name: until, in: query, required: false, schema: {type: string, maxLength: 40}}
      - {name: before, in: query, required: false, schema: {type: integer, minimum: 1}}
    responses:
      200: {description: "entries and next (the before of the following page, or null)"}
      401: {description: not logged in}
      403: {description: admins only}
      422: {description: a malformed filter}
    """
    await _admin(request)
    q = request.query_params
    for name, most in (("action", 100), ("actor", 320), ("since", 40), ("until", 40)):
        if len(q.get(name, "")) > most:
            raise HTTPException(422, f"{name}: at most {most} characters")
    raw = q.get("before")
    if raw is not None and (not raw.isdigit() or len(raw) > 18 or int(raw) < 1):
        raise HTTPException(422, "before: must be a positive integer")
    page = await ask(
        console_of(request).backend.audit_log(
            q.get("action") or None,
            q.get("actor") or None,
            q.get("since") or None,
            q.get("until") or None,
            int(raw) if raw else None,
        )
    )
    return JSONResponse(page)
