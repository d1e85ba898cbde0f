"""Helpers for the account tests: a clock the test moves, a server that runs on it, and
signing in as a browser would."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from server.services import demo
from tests import harness
from tests.harness import RunningServer


class DateClock:
    """What the server calls "now"; the test moves it."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@contextlib.asynccontextmanager
async def clocked_server(
    dsn: str, tmp: Path, clock: DateClock, **settings: Any
) -> AsyncIterator[RunningServer]:
    async with harness.run_server(harness.settings_for(dsn, tmp, **settings), clock) as running:
        yield running


async def browser(
    server: RunningServer,
    email: str = demo.AGENT_EMAIL,
    password: str = demo.AGENT_PASSWORD,
    *,
    user_agent: str = "Mozilla/5.0 (test browser)",
    code: str | None = None,
) -> httpx.AsyncClient:
    """A signed-in browser (its cookie jar holds the session)."""
    http = httpx.AsyncClient(base_url=server.base_url, headers={"user-agent": user_agent})
    body: dict[str, str] = {"email": email, "password": password}
    if code is not None:
        body["code"] = code
    response = await http.post("/console/api/login", json=body)
    assert response.status_code == 200, response.text
    return http


def cookie_of(http: httpx.AsyncClient) -> str:
    return "; ".join(f"{k}={v}" for k, v in http.cookies.items())


async def audit_actions(server: RunningServer, prefix: str = "agent.") -> list[dict[str, Any]]:
    """The audit log's entries whose action starts with ``prefix``, oldest first."""
    async with server.services.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT action, actor_id, actor_label, target_id, detail, address FROM audit_log"
            " WHERE starts_with(action, $1) ORDER BY id",
            prefix,
        )
    return [dict(r) for r in rows]
