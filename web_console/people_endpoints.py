"""The console's admin area: who holds which roles and teams in each brand. Admins only."""

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


async def _admin(request: Request) -> Agent:
    agent = await current_agent(request)
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
