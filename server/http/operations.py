"""Operator endpoints: liveness, readiness, Prometheus metrics and the OpenAPI document."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from server.http.inputs import services
from server.http.openapi import document
from server.http.responses import JSON
from server.metrics import CONTENT_TYPE
from server.store import database, deliveries


def _nlu_state(services: Any) -> dict[str, Any]:
    """The NLU never makes a node unready: when it is unwell, conversations go to humans, so
    a load balancer must keep sending traffic. ``degraded`` says it is unwell."""
    interpreter = services.interpreter
    if interpreter is None:
        return {"ok": True, "kind": "none", "detail": "bot disabled; every conversation to humans"}
    state = dict(interpreter.state())
    state["degraded"] = bool(state.get("error")) or state.get("circuit", "closed") != "closed"
    return {"ok": True, **state}


async def _email_state(services: Any) -> dict[str, Any]:
    """Mail never makes a node unready either: mail that cannot go out waits in the outbox
    (counted here), and senders retry what the listener could not take."""
    smtp = services.smtp
    async with asyncio.timeout(2):
        async with services.pool.acquire() as conn:
            counts = await deliveries.backlog(conn)
    return {
        "ok": True,
        "smtp_port": smtp.port if smtp is not None else None,
        "relay": services.settings.smtp_relay_url is not None,
        "outbox_pending": counts["outbox"],
        "receipts_unparsed": counts["unparsed"],
        "quarantined": counts["quarantined"],
    }


async def healthz(request: Request) -> Response:
    """
    summary: Liveness
    responses:
      200: {description: the process is up}
    """
    return PlainTextResponse("ok")


async def readyz(request: Request) -> Response:
    """
    summary: Readiness of the database, bus and NLU, and the email channel's state
    responses:
      200: {description: every part is ready}
      503: {description: a part is not ready; the body says which}
    """
    running = services(request)
    try:
        async with asyncio.timeout(2):
            version = await database.schema_version(running.pool)
        db: dict[str, Any] = {
            "ok": True,
            "schema_version": version,
            "embedded": running.embedded is not None,
        }
    except Exception as exc:
        db = {"ok": False, "error": type(exc).__name__}
    checks = {
        "database": db,
        "bus": running.bus.state(),
        "nlu": _nlu_state(running),
    }
    if running.telegram is not None:
        # A channel that cannot reach its API is "retrying", never unready: the others
        # keep working.
        checks["telegram"] = running.telegram.state()
    if running.slack is not None:
        checks["slack"] = running.slack.state()
    if db["ok"]:
        try:
            checks["email"] = await _email_state(running)
        except Exception as exc:
            checks["email"] = {"ok": True, "degraded": True, "error": type(exc).__name__}
    ready = all(part["ok"] for part in checks.values())
    return JSON({"ready": ready, **checks}, status_code=200 if ready else 503)


async def metrics(request: Request) -> Response:
    """
    summary: Prometheus metrics
    responses:
      200: {description: Prometheus text exposition format}
    """
    return Response(services(request).metrics.render(), media_type=CONTENT_TYPE)


async def openapi(request: Request) -> Response:
    """
    summary: This document
    responses:
      200: {description: the OpenAPI 3.1 description of the REST API}
    """
    return JSON(document(request.app.routes))


routes = [
    Route("/healthz", healthz, methods=["GET"]),
    Route("/readyz", readyz, methods=["GET"]),
    Route("/metrics", metrics, methods=["GET"]),
    Route("/openapi.json", openapi, methods=["GET"]),
]
