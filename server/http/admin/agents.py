"""The admin API's agents: who they are, their capacity, skills, teams, role and status."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.http.admin.audit import note
from server.http.admin.bodies import AgentBody, NewAgentBody
from server.http.auth import actor_of
from server.http.inputs import body, path_value, services
from server.http.responses import JSON
from server.services.agents import create_agent, set_active
from server.store import organisation as org
from server.store.roster import agent_views
from server.store.views import Conn


async def list_agents(request: Request) -> Response:
    """
    summary: Agents with status, capacity, load, teams and skills (admin token)
    responses: {200: {description: the agents}, 401: {description: no admin token}}
    """
    async with services(request).pool.acquire() as conn:
        return JSON({"agents": await agent_views(conn)})


async def create(request: Request) -> Response:
    """
    summary: Create an agent with capacity, skills and teams (admin token)
    description: >
      With a password (the policy applies: 12 characters or more, not the email, not a
      common password), or without one and `"invite": true`: the agent is mailed a link to
      set their own (the answer's `invite`).
    body: NewAgentBody
    responses:
      201: {description: the agent}
      400: {description: body is not JSON}
      401: {description: no admin token}
      404: {description: unknown skill, team or brand}
      409: {description: the email is taken}
      422: {description: invalid field (e.g. negative capacity, a password the policy refuses)}
    """
    fields = await body(request, NewAgentBody)
    pool = services(request).pool
    async with pool.acquire() as conn:
        async with conn.transaction():
            # Validate skills and teams before creating anyone.
            await org.check_references(conn, fields.skills, fields.teams, fields.brand)
        agent = await create_agent(
            pool,
            email=fields.email,
            name=fields.name,
            password=fields.password,
            role=fields.role or "agent",
            brand=fields.brand,
            roles=fields.roles or (),
        )
        view = await _apply(request, conn, agent.id, fields)
        detail = fields.model_dump(exclude_unset=True, exclude={"password"})
        await note(
            request,
            conn,
            "agent.created",
            brand_id=await _brand(conn, fields),
            target_kind="agent",
            target_id=agent.id,
            detail=detail,
        )
    if fields.invite:
        view = {**view, "invite": await _invite(request, agent.id)}
    return JSON(view, status_code=201)


async def invite(request: Request) -> Response:
    """
    summary: Mail an agent a link to set their password (admin token)
    description: >
      The link works once, for 72 hours; an earlier link of theirs stops working. The mail
      goes through SWITCHBOARD_SMTP_RELAY_URL; without a relay nothing is mailed and the
      answer carries the link, to hand over another way.
    responses:
      201: {description: "the invite: email, mailed, expires_at (and link when not mailed)"}
      401: {description: no admin token}
      404: {description: unknown agent}
    """
    agent_id = str(await _agent_id(request))
    return JSON(await _invite(request, agent_id), status_code=201)


async def _invite(request: Request, key: str) -> dict[str, Any]:
    actor = actor_of(request)
    made = await services(request).passwords.invite(
        key, actor=actor.label, actor_id=actor.id, address=_address(request)
    )
    answer: dict[str, Any] = {
        "email": made.email,
        "mailed": made.mailed,
        "expires_at": made.expires_at,
    }
    if not made.mailed:
        answer["link"] = made.link
    return answer


async def deactivate(request: Request) -> Response:
    """
    summary: Deactivate an agent (admin token)
    description: They cannot log in; their sessions end and their consoles close, their API
      tokens stop working, and their unanswered conversations go back to the queue.
    responses:
      200: {description: the agent}
      401: {description: no admin token}
      404: {description: unknown agent}
    """
    return await _set_active(request, False)


async def reactivate(request: Request) -> Response:
    """
    summary: Reactivate a deactivated agent (admin token)
    responses:
      200: {description: the agent}
      401: {description: no admin token}
      404: {description: unknown agent}
    """
    return await _set_active(request, True)


async def _set_active(request: Request, active: bool) -> Response:
    running = services(request)
    actor = actor_of(request)
    key = path_value(request, "agent")
    if not active:
        # Their conversations go back to the queue while they can still be named.
        await running.router.set_status(str(await _agent_id(request)), "offline")
    agent = await set_active(
        running.pool, key, active, actor=actor.label, actor_id=actor.id, address=_address(request)
    )
    if not active:
        await running.console_hub.disconnect_agent(agent.id)
    return JSON({"id": agent.id, "email": agent.email, "active": active})


async def _agent_id(request: Request) -> UUID:
    async with services(request).pool.acquire() as conn:
        return await org.agent_id(conn, path_value(request, "agent"))


def _address(request: Request) -> str | None:
    return request.client.host if request.client else None


async def patch_agent(request: Request) -> Response:
    """
    summary: Change an agent's capacity, skills, teams, roles or status (admin token)
    description: >
      The agent is named by id or email. `role` or `roles` set the roles held in `brand`
      (the only brand when there is one); "admin" holds every power in every brand. New
      roles end the agent's console sessions.
    body: AgentBody
    responses:
      200: {description: the agent}
      400: {description: body is not JSON}
      401: {description: no admin token}
      404: {description: unknown agent, skill, team or brand}
      422: {description: invalid field (e.g. negative capacity)}
    """
    fields = await body(request, AgentBody)
    key = path_value(request, "agent")
    async with services(request).pool.acquire() as conn:
        view = await _apply(request, conn, key, fields)
        detail = fields.model_dump(exclude_unset=True)
        # Role and team changes have actions of their own, so the log can be filtered by them.
        actions = [a for a, keys in _ACTIONS if keys & detail.keys()]
        for action in actions or ["agent.changed"]:
            await note(
                request,
                conn,
                action,
                brand_id=await _brand(conn, fields),
                target_kind="agent",
                target_id=view["id"],
                detail=detail,
            )
        return JSON(view)


_ACTIONS = (
    ("agent.role_changed", {"role", "roles"}),
    ("agent.teams_changed", {"teams"}),
    ("agent.changed", {"capacity", "skills", "status"}),
)


async def _brand(conn: Conn, fields: AgentBody) -> UUID | None:
    """The brand the body names, if it names one."""
    return await org.brand_id(conn, fields.brand) if fields.brand is not None else None


async def _apply(request: Request, conn: Conn, key: str, fields: AgentBody) -> Any:
    """Set what the body names on the agent; returns the agent's view."""
    router = services(request).router
    await org.update_agent(
        conn,
        key,
        capacity=fields.capacity,
        skills=fields.skills,
        teams=fields.teams,
        brand=fields.brand,
        role=fields.role,
        roles=fields.roles,
    )
    agent_id = str(await org.agent_id(conn, key))
    if fields.status is not None:
        await router.set_status(agent_id, fields.status)
    router.wake()  # more capacity or new skills may place waiting conversations
    return (await agent_views(conn, agent_id))[0]


routes = [
    Route("/agents", list_agents, methods=["GET"]),
    Route("/agents", create, methods=["POST"]),
    Route("/agents/{agent}", patch_agent, methods=["PATCH"]),
    Route("/agents/{agent}/invite", invite, methods=["POST"]),
    Route("/agents/{agent}/deactivate", deactivate, methods=["POST"]),
    Route("/agents/{agent}/reactivate", reactivate, methods=["POST"]),
]
