"""Console sessions end when they should, the console answers only its own origins, and its
page and answers carry the browser-hardening headers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import orjson
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from server.services import demo
from server.settings import Settings
from tests import harness
from tests.channels.webchat_client import close_code, hello, new_session, open_socket
from tests.harness import RunningServer

SHOP = "https://shop.example"


async def login(server: RunningServer) -> httpx.AsyncClient:
    http = httpx.AsyncClient(base_url=server.base_url)
    response = await http.post(
        "/console/api/login", json={"email": demo.AGENT_EMAIL, "password": demo.AGENT_PASSWORD}
    )
    assert response.status_code == 200, response.text
    return http


def cookie_of(http: httpx.AsyncClient) -> str:
    return "; ".join(f"{k}={v}" for k, v in http.cookies.items())


async def test_a_cookie_copied_before_logout_dies_with_it_and_its_open_console_closes(
    server: RunningServer,
) -> None:
    http = await login(server)
    copied = cookie_of(http)
    async with connect(
        f"{server.ws_url}/console/ws", additional_headers={"cookie": copied}
    ) as console:
        await console.send(orjson.dumps({"type": "hello", "last_event_id": 0}).decode())
        assert orjson.loads(await console.recv())["type"] == "welcome"
        assert (await http.post("/console/api/logout")).status_code == 204
        assert (await close_code(console))[0] == 4401
    await http.aclose()
    async with httpx.AsyncClient(base_url=server.base_url) as thief:
        response = await thief.get("/console/api/me", headers={"cookie": copied})
        assert response.status_code == 401
    async with connect(
        f"{server.ws_url}/console/ws", additional_headers={"cookie": copied}
    ) as console:
        assert (await close_code(console))[0] == 4401
    again = await login(server)  # a new login works as before
    assert (await again.get("/console/api/me")).status_code == 200
    await again.aclose()


async def test_a_role_change_ends_the_agents_sessions(server: RunningServer) -> None:
    http = await login(server)
    token = server.services.settings.admin_api_token()
    async with httpx.AsyncClient(
        base_url=server.base_url, headers={"authorization": f"Bearer {token}"}
    ) as admin:
        same = await admin.patch(f"/api/admin/agents/{demo.AGENT_EMAIL}", json={"capacity": 3})
        assert same.status_code == 200
        assert (await http.get("/console/api/me")).status_code == 200  # capacity: no change
        changed = await admin.patch(
            f"/api/admin/agents/{demo.AGENT_EMAIL}", json={"role": "supervisor"}
        )
        assert changed.status_code == 200
    assert (await http.get("/console/api/me")).status_code == 401
    await http.aclose()


async def test_the_console_page_and_answers_carry_the_hardening_headers(
    server: RunningServer,
) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        page = await http.get("/console")
        policy = page.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy
        assert "script-src 'self'" in policy
        assert "unsafe-inline" not in policy
        assert page.headers["x-frame-options"] == "DENY"
        for response in (page, await http.get("/console/api/me"), await http.get("/healthz")):
            assert response.headers["x-content-type-options"] == "nosniff"
            assert response.headers["referrer-policy"] == "same-origin"


async def test_a_cross_site_write_without_an_origin_header_is_refused(
    server: RunningServer,
) -> None:
    http = await login(server)
    response = await http.post(
        "/console/api/me/status",
        json={"status": "online"},
        headers={"sec-fetch-site": "cross-site"},
    )
    assert response.status_code == 403
    assert (await http.get("/console/api/me")).json()["agent"]["status"] != "online"
    await http.aclose()


@pytest.fixture
async def shop_server(dsn: str, tmp_path: Path) -> AsyncIterator[RunningServer]:
    """A server whose widget is embedded on a shop's site."""
    # A fixed port, so the server knows its own origin (port 0 would be picked at start).
    settings: Settings = harness.settings_for(
        dsn, tmp_path, allowed_origins=[SHOP], port=harness.free_port()
    )
    async with harness.run_server(settings) as running:
        yield running


async def test_the_widgets_embedding_sites_never_drive_the_console(
    shop_server: RunningServer,
) -> None:
    server = shop_server
    own = server.base_url
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        # The console's own page logs in although the widget's list names only the shop.
        response = await http.post(
            "/console/api/login",
            json={"email": demo.AGENT_EMAIL, "password": demo.AGENT_PASSWORD},
            headers={"origin": own},
        )
        assert response.status_code == 200
        refused = await http.post(
            "/console/api/me/status", json={"status": "away"}, headers={"origin": SHOP}
        )
        assert refused.status_code == 403
        cookie = cookie_of(http)
    with pytest.raises(InvalidStatus) as denied:
        async with connect(
            f"{server.ws_url}/console/ws", additional_headers={"cookie": cookie, "origin": SHOP}
        ):
            pass
    assert denied.value.response.status_code == 403
    # The shop may still open the widget.
    session = await new_session(server.base_url)
    async with await open_socket(server.ws_url, origin=SHOP) as ws:
        welcome = await hello(ws, session["token"])
        assert welcome["type"] == "welcome"
