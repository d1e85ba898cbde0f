"""Operator endpoints on a real server."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator

import httpx
import pytest
from starlette.routing import BaseRoute, Mount, Route

from server.http import operations
from server.http.admin.bodies import BrandBody
from server.http.app import create_app
from server.store import database
from tests.channels.webchat_client import hello, new_session, next_of, open_socket, text
from tests.harness import RunningServer


async def test_healthz_and_readyz_report_each_part(server: RunningServer) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        assert (await http.get("/healthz")).text == "ok"
        ready = (await http.get("/readyz")).json()
    assert ready["ready"] is True
    assert ready["database"]["ok"]
    assert ready["database"]["schema_version"] >= 1
    assert ready["bus"] == {"kind": "in-process", "ok": True}
    assert ready["nlu"]["kind"] == "none"
    email = ready["email"]
    assert email["smtp_port"] == server.services.smtp.port  # type: ignore[union-attr]
    assert (email["relay"], email["outbox_pending"], email["quarantined"]) == (False, 0, 0)


async def test_readyz_is_503_when_the_database_is_gone(server: RunningServer) -> None:
    await server.services.pool.close()
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        response = await http.get("/readyz")
    assert response.status_code == 503
    assert response.json()["database"]["ok"] is False


async def test_readyz_is_200_and_busy_while_every_connection_of_the_pool_is_at_work(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A node whose pool is all in use (a routing backlog, a reconnect storm) is busy, not
    unready: the proxy must not take it out and send its share to the others."""
    monkeypatch.setattr(operations, "DATABASE_WAIT", 0.2)
    pool = server.services.pool
    held = [await pool.acquire() for _ in range(pool.get_max_size())]
    try:
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            response = await http.get("/readyz")
    finally:
        for conn in held:
            await pool.release(conn)
    assert response.status_code == 200
    assert response.json()["database"]["ok"] is True
    assert response.json()["database"]["busy"] is True
    assert response.json()["email"]["degraded"] is True


async def test_readyz_is_busy_when_its_read_waits_in_a_pool_that_has_opened_every_connection(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whether a connection is idle at the instant the wait ends says nothing: it was just
    released and goes to the next waiter. Asked so, busy nodes answered 503 during a storm."""
    monkeypatch.setattr(operations, "DATABASE_WAIT", 0.2)

    async def slow(pool: object) -> int:
        await asyncio.sleep(5)
        return 0

    monkeypatch.setattr(database, "schema_version", slow)
    pool = server.services.pool
    held = [await pool.acquire() for _ in range(pool.get_max_size())]
    await pool.release(held.pop())  # every connection open, one idle
    try:
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            response = await http.get("/readyz")
    finally:
        for conn in held:
            await pool.release(conn)
    assert response.status_code == 200
    assert response.json()["database"]["busy"] is True


async def test_readyz_is_503_when_its_read_times_out_in_a_pool_that_cannot_fill(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(operations, "DATABASE_WAIT", 0.2)

    async def slow(pool: object) -> int:
        await asyncio.sleep(5)
        return 0

    monkeypatch.setattr(database, "schema_version", slow)
    assert server.services.pool.get_size() < server.services.pool.get_max_size()
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        response = await http.get("/readyz")
    assert response.status_code == 503
    assert response.json()["database"] == {"ok": False, "error": "TimeoutError"}


async def test_metrics_count_connections_and_messages(server: RunningServer) -> None:
    session = await new_session(server.base_url)
    async with await open_socket(server.ws_url) as ws:
        await hello(ws, session["token"])
        await ws.send(text({"type": "message", "client_id": "m", "text": "hi"}))
        await next_of(ws, "ack")
        await server.services.pipeline.settled()
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            response = await http.get("/metrics")
    body = response.text
    assert response.headers["content-type"].startswith("text/plain")
    assert 'switchboard_websocket_connections{kind="webchat"} 1.0' in body
    assert 'switchboard_messages_in_total{channel="webchat"} 1.0' in body
    assert 'switchboard_messages_out_total{author="system",channel="webchat"} 1.0' in body
    assert "switchboard_ingest_seconds_count 1.0" in body


async def test_openapi_describes_exactly_the_rest_routes(server: RunningServer) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        spec = (await http.get("/openapi.json")).json()
    app = create_app(server.services)
    documented = {(path, method) for path, ops in spec["paths"].items() for method in ops}
    routed = set(_http_routes(app.routes))
    assert documented == routed
    assert spec["openapi"].startswith("3.")
    for ops in spec["paths"].values():
        for op in ops.values():
            assert op["responses"], op


async def test_openapi_declares_path_parameters_and_bodies_from_the_models(
    server: RunningServer,
) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        spec = (await http.get("/openapi.json")).json()
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert declared == set(re.findall(r"{(\w+)}", path)), (method, path)
    reply = spec["paths"]["/console/api/conversations/{id}/messages"]["post"]
    assert reply["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Reply"
    }
    assert "multipart/form-data" in reply["requestBody"]["content"]
    attachment = spec["paths"]["/console/api/messages/{message_id}/attachments/{n}"]["get"]
    assert {p["name"]: p["schema"]["type"] for p in attachment["parameters"]} == {
        "message_id": "integer",
        "n": "integer",
    }
    schemas = spec["components"]["schemas"]
    assert schemas["BrandBody"] == BrandBody.model_json_schema()
    assert schemas["Login"]["required"] == ["email", "password"]
    assert spec["paths"]["/api/admin/brands/{slug}"]["put"]["security"] == [{"adminToken": []}]
    # A reset link's page calls these before anyone is signed in.
    assert "security" not in spec["paths"]["/console/api/password-reset"]["post"]
    assert spec["paths"]["/console/api/me"]["get"]["security"] == [{"consoleSession": []}]
    refused = spec["paths"]["/api/admin/teams/{slug}"]["put"]["responses"]["404"]
    assert refused["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"
    }


def _http_routes(routes: list[BaseRoute], prefix: str = "") -> Iterator[tuple[str, str]]:
    """Every (path, method) the app answers with an endpoint meant for the schema."""
    for r in routes:
        if isinstance(r, Route) and r.include_in_schema:
            for method in r.methods or ():
                if method != "HEAD":
                    # OpenAPI paths name parameters without Starlette's converters (":int").
                    yield re.sub(r"{(\w+):\w+}", r"{\1}", prefix + r.path), method.lower()
        elif isinstance(r, Mount) and r.routes:
            yield from _http_routes(r.routes, prefix + r.path)
