"""Operator endpoints: liveness, readiness, Prometheus metrics and the OpenAPI document."""

from __future__ import annotations

import asyncio
from typing import Any

import structlog
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from server.http.inputs import services
from server.http.openapi import document
from server.http.responses import JSON
from server.metrics import CONTENT_TYPE
from server.store import database, deliveries

log = structlog.get_logger(__name__)


def _nlu_state(services: Any) -> dict[str, Any]:
    """The NLU never makes a node unready: when it is unwell, conversations go to humans, so
    a load balancer must keep sending traffic. ``degraded`` says it is unwell."""
    interpreter = services.interpreter
    if interpreter is None:
        return {"ok": True, "kind": "none", "detail": "bot disabled; every conversation to humans"}
    state = dict(interpreter.state())
    state["degraded"] = bool(state.get("error")) or state.get("circuit", "closed") != "closed"
    return {"ok": True, **state}


# How long /readyz waits for the database: a connection of the node's pool, then its read.
DATABASE_WAIT = 2.0
# How long it waits for the mail counts, which never make a node unready: with the database's
# 2 s, an answer within HAProxy's 5 s (timeout check) even on a node whose loop runs late.
EMAIL_WAIT = 1.0


async def _database_state(services: Any) -> dict[str, Any]:
    """The database's part. Its read waits for a connection of the node's pool, behind the
    node's own work: under the chaos harness's traffic and a reconnect storm that wait passed
    2 s, and busy, healthy nodes answered 503 and were taken out by the proxy (2026-12-06
    14:53 UTC), sending their share to the others. A pool that has opened every connection
    it may is busy when the wait is over, not broken: ready, said ``busy``. Whether one of
    them is idle at that instant says nothing (it was just released, and goes to the next in
    the pool's queue): asked so, /readyz still answered 503 after 2.1-4.6 s and HAProxy took
    nodes out 24 times in one run (2026-12-06 17:44-17:59 UTC, "Layer7 wrong status"). A
    pool that cannot open its connections, or a read that fails, is not ready."""
    pool = services.pool
    try:
        async with asyncio.timeout(DATABASE_WAIT):
            version = await database.schema_version(pool)
    except TimeoutError:
        if pool.get_size() >= pool.get_max_size():
            return {"ok": True, "busy": True, "embedded": services.embedded is not None}
        return {"ok": False, "error": "TimeoutError"}
    except Exception as exc:
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True, "schema_version": version, "embedded": services.embedded is not None}


async def _email_state(services: Any) -> dict[str, Any]:
    """Mail never makes a node unready either: mail that cannot go out waits in the outbox
    (counted here), and senders retry what the listener could not take."""
    smtp = services.smtp
    async with asyncio.timeout(EMAIL_WAIT):
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
    db = await _database_state(running)
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
    if db.get("busy"):
        # Its counts would wait for the pool again; mail never makes a node unready.
        checks["email"] = {"ok": True, "degraded": True, "error": "busy"}
    elif db["ok"]:
        try:
            checks["email"] = await _email_state(running)
        except Exception as exc:
            checks["email"] = {"ok": True, "degraded": True, "error": type(exc).__name__}
    ready = all(part["ok"] for part in checks.values())
    _note(ready, checks)
    return JSON({"ready": ready, **checks}, status_code=200 if ready else 503)


# The parts that made the node unready at its last answer ("" when ready): each change is
# logged once, so the proxy's removals can be told apart in the node's log.
_last_unready = ""


def _note(ready: bool, checks: dict[str, dict[str, Any]]) -> None:
    global _last_unready
    failing = {
        name: part.get("error") or part.get("state") or "not ok"
        for name, part in checks.items()
        if not part["ok"]
    }
    unready = ",".join(f"{name}:{why}" for name, why in sorted(failing.items()))
    if unready != _last_unready:
        if ready:
            log.info("ready again")
        else:
            log.warning("not ready", parts=failing)
        _last_unready = unready


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
