"""The admin API's routing policies: SLA targets per priority band, and which skills (and team)
each intent needs."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.http.admin.audit import note
from server.http.admin.bodies import IntentRouteBody, SlaBody
from server.http.inputs import body, path_value, query_value, services
from server.http.responses import JSON
from server.store import organisation as org


async def list_sla(request: Request) -> Response:
    """
    summary: SLA policies (admin token)
    responses: {200: {description: the policies}, 401: {description: no admin token}}
    """
    async with services(request).pool.acquire() as conn:
        return JSON({"sla_policies": await org.sla_policies(conn)})


async def put_sla(request: Request) -> Response:
    """
    summary: Set a priority band's first-response and resolution targets (admin token)
    body: SlaBody
    responses:
      200: {description: the policy}
      400: {description: body is not JSON}
      401: {description: no admin token}
      404: {description: unknown brand or team}
      422: {description: invalid band or targets}
    """
    fields = await body(request, SlaBody)
    band = path_value(request, "band")
    async with services(request).pool.acquire() as conn, conn.transaction():
        policy = await org.put_sla_policy(
            conn,
            fields.brand,
            band,
            first_response_seconds=fields.first_response_seconds,
            resolution_seconds=fields.resolution_seconds,
            escalation_points=fields.escalation_points,
            notify_team=fields.notify_team,
        )
        await note(
            request,
            conn,
            "sla.changed",
            brand_id=await org.brand_id(conn, policy["brand"]),
            target_kind="sla_policy",
            target_id=band,
            detail=fields.model_dump(),
        )
    return JSON(policy)


async def list_intent_routes(request: Request) -> Response:
    """
    summary: Which intents need which skills and team (admin token)
    responses: {200: {description: the routes}, 401: {description: no admin token}}
    """
    async with services(request).pool.acquire() as conn:
        return JSON({"intent_routes": await org.intent_routes(conn)})


async def put_intent_route(request: Request) -> Response:
    """
    summary: Say which skills (and team) an intent needs (admin token)
    body: IntentRouteBody
    responses:
      200: {description: the route}
      400: {description: body is not JSON}
      401: {description: no admin token}
      404: {description: unknown skill, team or brand}
      422: {description: invalid field}
    """
    fields = await body(request, IntentRouteBody)
    intent = path_value(request, "intent")
    async with services(request).pool.acquire() as conn, conn.transaction():
        route = await org.put_intent_route(
            conn, fields.brand, intent, skills=fields.skills, team=fields.team
        )
        await note(
            request,
            conn,
            "intent_route.changed",
            brand_id=await org.brand_id(conn, fields.brand),
            target_kind="intent_route",
            target_id=intent,
            detail=fields.model_dump(),
        )
    return JSON(route)


async def delete_intent_route(request: Request) -> Response:
    """
    summary: Forget an intent's route (admin token)
    parameters:
      - {name: brand, in: query, required: false, schema: {type: string},
         description: "the route's brand; default: the default brand"}
    responses:
      204: {description: deleted}
      401: {description: no admin token}
      404: {description: no such route}
      422: {description: invalid intent}
    """
    intent = path_value(request, "intent")
    brand = query_value(request, "brand")
    async with services(request).pool.acquire() as conn, conn.transaction():
        await org.delete_intent_route(conn, brand, intent)
        await note(
            request,
            conn,
            "intent_route.deleted",
            brand_id=await org.brand_id(conn, brand),
            target_kind="intent_route",
            target_id=intent,
        )
    return Response(status_code=204)


routes = [
    Route("/sla-policies", list_sla, methods=["GET"]),
    Route("/sla-policies/{band}", put_sla, methods=["PUT"]),
    Route("/intent-routes", list_intent_routes, methods=["GET"]),
    Route("/intent-routes/{intent}", put_intent_route, methods=["PUT"]),
    Route("/intent-routes/{intent}", delete_intent_route, methods=["DELETE"]),
]
