"""The admin REST API (/api/admin/*): brands, teams, skills, agents, SLA policies, intent
routes and inbox teams, for scripts and provisioning tools. Bearer token: SWITCHBOARD_ADMIN_TOKEN
(generated under the data folder and printed by `serve` when unset). The CLI offers the same
operations (server/routing_commands.py); both go through server/store/organisation.py.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Any, Literal, TypeVar

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from channels.base import NUL_REFUSED, holds_nul
from server.dispatch.router import Router
from server.errors import Conflict, InvalidInput, NotFound
from server.services.agents import create_agent
from server.store import Pool, mail
from server.store import organisation as org
from server.store.roster import agent_views
from server.store.views import Conn

M = TypeVar("M", bound=BaseModel)

MAIL_STATES = ("received", "stored", "duplicate", "report", "quarantined")


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        if holds_nul(data):
            raise ValueError(NUL_REFUSED)
        return data


class BrandBody(_Body):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    business_hours: str | None = Field(default=None, max_length=200)
    language: str | None = Field(default=None, max_length=2)
    clear_business_hours: bool = False


class TeamBody(_Body):
    brand: str | None = None
    name: str | None = Field(default=None, min_length=1, max_length=200)
    assignment: Literal["auto", "manual"] | None = None
    requeue_unanswered: bool | None = None
    default: bool | None = None


class SkillBody(_Body):
    description: str = Field(default="", max_length=500)


class AgentBody(_Body):
    capacity: int | None = Field(default=None, ge=0, le=org.MAX_CAPACITY)
    skills: list[str] | None = None
    teams: list[str] | None = None
    brand: str | None = None
    role: Literal["agent", "supervisor", "admin"] | None = None
    status: Literal["online", "away", "offline"] | None = None


class NewAgentBody(AgentBody):
    email: str = Field(min_length=3, max_length=320)
    name: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=8, max_length=1024)


class SlaBody(_Body):
    brand: str | None = None
    first_response_seconds: int = Field(gt=0)
    resolution_seconds: int = Field(gt=0)
    escalation_points: int = Field(default=0, ge=0)
    notify_team: str | None = None


class IntentRouteBody(_Body):
    brand: str | None = None
    skills: list[str] = []
    team: str | None = None


class InboxTeamBody(_Body):
    team: str | None


class InboxBody(_Body):
    brand: str | None = None
    name: str | None = Field(default=None, min_length=1, max_length=200)
    team: str | None = None


class ContactBody(_Body):
    tier: str | None = Field(default=None, max_length=40)
    value: float | None = Field(default=None, ge=0)


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _body(model: type[M], raw: bytes) -> M:
    try:
        return model.model_validate(orjson.loads(raw or b"{}"))
    except orjson.JSONDecodeError:
        raise _Refused(400, "body is not valid JSON") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first["loc"]) or "body"
        raise _Refused(422, f"{where}: {first['msg']}") from None


def routes(
    pool: Pool, router: Router, token: str, retry_mail: Callable[[int], None]
) -> list[Route]:
    Handler = Callable[[Request, Conn], Awaitable[Any]]

    def endpoint(
        handler: Handler, *, created: bool = False
    ) -> Callable[[Request], Awaitable[Response]]:
        async def wrapped(request: Request) -> Response:
            supplied = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
            if not hmac.compare_digest(supplied.encode(), token.encode()):
                return JSONResponse({"error": "missing or wrong admin token"}, 401)
            try:
                async with pool.acquire() as conn:
                    result = await handler(request, conn)
            except _Refused as exc:
                return JSONResponse({"error": str(exc)}, exc.status)
            except NotFound as exc:
                return JSONResponse({"error": str(exc)}, 404)
            except Conflict as exc:
                return JSONResponse({"error": str(exc)}, 409)
            except InvalidInput as exc:
                return JSONResponse({"error": str(exc)}, 422)
            if result is None:
                return Response(status_code=204)
            if isinstance(result, Response):
                return result
            return JSONResponse(
                orjson.loads(orjson.dumps(result, default=str)), 201 if created else 200
            )

        wrapped.__doc__ = handler.__doc__
        wrapped.__name__ = handler.__name__
        return wrapped

    def path(request: Request, name: str) -> str:
        value = str(request.path_params[name])
        if holds_nul(value):
            raise _Refused(422, f"{name}: {NUL_REFUSED}")
        return value

    async def list_brands(request: Request, conn: Conn) -> Any:
        """
        summary: Brands with business hours and language (admin token)
        responses: {200: {description: the brands}, 401: {description: no admin token}}
        """
        return {"brands": await org.brands(conn)}

    async def put_brand(request: Request, conn: Conn) -> Any:
        """
        summary: Create or change a brand (admin token)
        responses:
          200: {description: the brand}
          401: {description: no admin token}
          422: {description: "invalid field (e.g. business hours 'mon-fri 09:00-18:00 Area/City')"}
        """
        body = _body(BrandBody, await request.body())
        return await org.put_brand(
            conn,
            path(request, "slug"),
            name=body.name,
            business_hours=body.business_hours,
            language=body.language,
            clear_hours=body.clear_business_hours,
        )

    async def list_teams(request: Request, conn: Conn) -> Any:
        """
        summary: Teams with their members (admin token)
        responses: {200: {description: the teams}, 401: {description: no admin token}}
        """
        return {"teams": await org.teams(conn)}

    async def put_team(request: Request, conn: Conn) -> Any:
        """
        summary: Create or change a team (admin token)
        responses:
          200: {description: the team}
          401: {description: no admin token}
          404: {description: unknown brand}
          422: {description: invalid field}
        """
        body = _body(TeamBody, await request.body())
        return await org.put_team(
            conn,
            body.brand,
            path(request, "slug"),
            name=body.name,
            assignment=body.assignment,
            requeue_unanswered=body.requeue_unanswered,
            default=body.default,
        )

    async def delete_team(request: Request, conn: Conn) -> Any:
        """
        summary: Delete a team (admin token)
        responses:
          204: {description: deleted}
          401: {description: no admin token}
          404: {description: unknown brand or team}
        """
        await org.delete_team(conn, request.query_params.get("brand"), path(request, "slug"))

    async def list_skills(request: Request, conn: Conn) -> Any:
        """
        summary: Skills (admin token)
        responses: {200: {description: the skills}, 401: {description: no admin token}}
        """
        return {"skills": await org.skills(conn)}

    async def put_skill(request: Request, conn: Conn) -> Any:
        """
        summary: Add or describe a skill (admin token)
        responses:
          200: {description: the skill}
          401: {description: no admin token}
          422: {description: invalid name}
        """
        body = _body(SkillBody, await request.body())
        return await org.put_skill(conn, path(request, "name"), body.description)

    async def delete_skill(request: Request, conn: Conn) -> Any:
        """
        summary: Delete a skill (admin token)
        responses:
          204: {description: deleted}
          401: {description: no admin token}
          404: {description: unknown skill}
        """
        await org.delete_skill(conn, path(request, "name"))

    async def list_agents(request: Request, conn: Conn) -> Any:
        """
        summary: Agents with status, capacity, load, teams and skills (admin token)
        responses: {200: {description: the agents}, 401: {description: no admin token}}
        """
        return {"agents": await agent_views(conn)}

    async def _apply_agent(conn: Conn, key: str, body: AgentBody) -> Any:
        await org.update_agent(
            conn,
            key,
            capacity=body.capacity,
            skills=body.skills,
            teams=body.teams,
            brand=body.brand,
            role=body.role,
        )
        agent_id = str(await org.agent_id(conn, key))
        if body.status is not None:
            await router.set_status(agent_id, body.status)
        router.wake()  # more capacity or new skills may place waiting conversations
        return (await agent_views(conn, agent_id))[0]

    async def create(request: Request, conn: Conn) -> Any:
        """
        summary: Create an agent with capacity, skills and teams (admin token)
        responses:
          201: {description: the agent}
          401: {description: no admin token}
          404: {description: unknown skill, team or brand}
          409: {description: the email is taken}
          422: {description: invalid field (e.g. negative capacity)}
        """
        body = _body(NewAgentBody, await request.body())
        async with conn.transaction():
            # Validate skills and teams before creating anyone.
            await org.check_references(conn, body.skills, body.teams, body.brand)
        agent = await create_agent(
            pool,
            email=body.email,
            name=body.name,
            password=body.password,
            role=body.role or "agent",
        )
        return await _apply_agent(conn, agent.id, body)

    async def patch_agent(request: Request, conn: Conn) -> Any:
        """
        summary: Change an agent's capacity, skills, teams, role or status (admin token)
        responses:
          200: {description: the agent}
          401: {description: no admin token}
          404: {description: unknown agent, skill, team or brand}
          422: {description: invalid field (e.g. negative capacity)}
        """
        body = _body(AgentBody, await request.body())
        return await _apply_agent(conn, path(request, "agent"), body)

    async def list_sla(request: Request, conn: Conn) -> Any:
        """
        summary: SLA policies (admin token)
        responses: {200: {description: the policies}, 401: {description: no admin token}}
        """
        return {"sla_policies": await org.sla_policies(conn)}

    async def put_sla(request: Request, conn: Conn) -> Any:
        """
        summary: Set a priority band's first-response and resolution targets (admin token)
        responses:
          200: {description: the policy}
          401: {description: no admin token}
          404: {description: unknown brand or team}
          422: {description: invalid band or targets}
        """
        body = _body(SlaBody, await request.body())
        return await org.put_sla_policy(
            conn,
            body.brand,
            path(request, "band"),
            first_response_seconds=body.first_response_seconds,
            resolution_seconds=body.resolution_seconds,
            escalation_points=body.escalation_points,
            notify_team=body.notify_team,
        )

    async def list_routes(request: Request, conn: Conn) -> Any:
        """
        summary: Which intents need which skills and team (admin token)
        responses: {200: {description: the routes}, 401: {description: no admin token}}
        """
        return {"intent_routes": await org.intent_routes(conn)}

    async def put_route(request: Request, conn: Conn) -> Any:
        """
        summary: Say which skills (and team) an intent needs (admin token)
        responses:
          200: {description: the route}
          401: {description: no admin token}
          404: {description: unknown skill, team or brand}
          422: {description: invalid field}
        """
        body = _body(IntentRouteBody, await request.body())
        return await org.put_intent_route(
            conn, body.brand, path(request, "intent"), skills=body.skills, team=body.team
        )

    async def delete_route(request: Request, conn: Conn) -> Any:
        """
        summary: Forget an intent's route (admin token)
        responses:
          204: {description: deleted}
          401: {description: no admin token}
          404: {description: no such route}
        """
        await org.delete_intent_route(
            conn, request.query_params.get("brand"), path(request, "intent")
        )

    async def list_inboxes(request: Request, conn: Conn) -> Any:
        """
        summary: Inboxes with their brand and team (admin token)
        responses: {200: {description: the inboxes}, 401: {description: no admin token}}
        """
        return {"inboxes": await org.inboxes(conn)}

    async def put_inbox(request: Request, conn: Conn) -> Any:
        """
        summary: Create an inbox, or rename it / change its team (admin token)
        responses:
          200: {description: the inbox}
          401: {description: no admin token}
          404: {description: unknown brand or team}
          409: {description: the address belongs to another brand}
          422: {description: unknown channel or bad address}
        """
        body = _body(InboxBody, await request.body())
        return await org.put_inbox(
            conn,
            body.brand,
            path(request, "channel"),
            path(request, "address"),
            name=body.name,
            team=body.team,
        )

    async def put_inbox_team(request: Request, conn: Conn) -> Any:
        """
        summary: Send an inbox's conversations to a team (admin token)
        responses:
          204: {description: set}
          401: {description: no admin token}
          404: {description: unknown inbox or team}
        """
        body = _body(InboxTeamBody, await request.body())
        await org.set_inbox_team(
            conn, path(request, "channel"), path(request, "address"), body.team
        )

    async def patch_contact(request: Request, conn: Conn) -> Any:
        """
        summary: Set a contact's tier and lifetime value (admin token)
        responses:
          200: {description: how many contacts have this email}
          401: {description: no admin token}
          404: {description: no contact with this email}
          422: {description: invalid field}
        """
        body = _body(ContactBody, await request.body())
        count = await org.set_contact_profile(
            conn, path(request, "email"), tier=body.tier, value=body.value
        )
        return {"contacts": count}

    def receipt_id(request: Request) -> int:
        value = int(request.path_params["receipt"])
        if value > 2**63 - 1:
            raise NotFound(f"no mail receipt {value}")
        return value

    async def list_mail(request: Request, conn: Conn) -> Any:
        """
        summary: Mail received over SMTP, newest first; ?state=quarantined for what could not
          be parsed, with the reason (admin token)
        parameters:
          - {name: state, in: query, required: false,
             schema: {type: string, enum: [received, stored, duplicate, report, quarantined]}}
          - {name: limit, in: query, required: false,
             schema: {type: integer, minimum: 1, maximum: 1000}}
        responses:
          200: {description: the receipts}
          401: {description: no admin token}
          422: {description: unknown state or bad limit}
        """
        state = request.query_params.get("state")
        if state is not None and state not in MAIL_STATES:
            raise InvalidInput(f"state: one of {', '.join(MAIL_STATES)}")
        raw_limit = request.query_params.get("limit", "100")
        if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 1000:
            raise InvalidInput("limit: an integer from 1 to 1000")
        return {"mail": await mail.receipts(conn, state, int(raw_limit))}

    async def get_mail_raw(request: Request, conn: Conn) -> Any:
        """
        summary: A received mail exactly as it arrived (.eml download) (admin token)
        responses:
          200: {description: the raw message, message/rfc822}
          401: {description: no admin token}
          404: {description: no such receipt}
        """
        number = receipt_id(request)
        raw = await mail.raw_receipt(conn, number)
        if raw is None:
            raise NotFound(f"no mail receipt {number}")
        return Response(
            raw,
            media_type="message/rfc822",
            headers={
                "Content-Disposition": f'attachment; filename="receipt-{number}.eml"',
                "X-Content-Type-Options": "nosniff",
            },
        )

    async def retry_mail_receipt(request: Request, conn: Conn) -> Any:
        """
        summary: Parse a quarantined mail again (after a fix or a raised limit) (admin token)
        responses:
          202: {description: queued for parsing}
          401: {description: no admin token}
          404: {description: no quarantined receipt with this id}
        """
        number = receipt_id(request)
        if not await mail.requeue_receipt(conn, number):
            raise NotFound(f"no quarantined mail receipt {number}")
        retry_mail(number)
        return JSONResponse({"id": number, "state": "received"}, 202)

    base = "/api/admin"
    return [
        Route(f"{base}/brands", endpoint(list_brands), methods=["GET"]),
        Route(f"{base}/brands/{{slug}}", endpoint(put_brand), methods=["PUT"]),
        Route(f"{base}/teams", endpoint(list_teams), methods=["GET"]),
        Route(f"{base}/teams/{{slug}}", endpoint(put_team), methods=["PUT"]),
        Route(f"{base}/teams/{{slug}}", endpoint(delete_team), methods=["DELETE"]),
        Route(f"{base}/skills", endpoint(list_skills), methods=["GET"]),
        Route(f"{base}/skills/{{name}}", endpoint(put_skill), methods=["PUT"]),
        Route(f"{base}/skills/{{name}}", endpoint(delete_skill), methods=["DELETE"]),
        Route(f"{base}/agents", endpoint(list_agents), methods=["GET"]),
        Route(f"{base}/agents", endpoint(create, created=True), methods=["POST"]),
        Route(f"{base}/agents/{{agent}}", endpoint(patch_agent), methods=["PATCH"]),
        Route(f"{base}/sla-policies", endpoint(list_sla), methods=["GET"]),
        Route(f"{base}/sla-policies/{{band}}", endpoint(put_sla), methods=["PUT"]),
        Route(f"{base}/intent-routes", endpoint(list_routes), methods=["GET"]),
        Route(f"{base}/intent-routes/{{intent}}", endpoint(put_route), methods=["PUT"]),
        Route(f"{base}/intent-routes/{{intent}}", endpoint(delete_route), methods=["DELETE"]),
        Route(f"{base}/inboxes", endpoint(list_inboxes), methods=["GET"]),
        Route(f"{base}/inboxes/{{channel}}/{{address}}", endpoint(put_inbox), methods=["PUT"]),
        Route(
            f"{base}/inboxes/{{channel}}/{{address}}/team",
            endpoint(put_inbox_team),
            methods=["PUT"],
        ),
        Route(f"{base}/contacts/{{email}}", endpoint(patch_contact), methods=["PATCH"]),
        Route(f"{base}/mail", endpoint(list_mail), methods=["GET"]),
        Route(f"{base}/mail/{{receipt:int}}/raw", endpoint(get_mail_raw), methods=["GET"]),
        Route(f"{base}/mail/{{receipt:int}}/retry", endpoint(retry_mail_receipt), methods=["POST"]),
    ]
