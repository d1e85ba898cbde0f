"""The console's session cookie: never readable by script (HttpOnly), never sent by another
site's request (SameSite=Strict), and only over HTTPS (Secure) when the console is served
over HTTPS, so a copy cannot leak over plain HTTP."""

from __future__ import annotations

from pathlib import Path

import httpx

from server.services import demo
from tests import harness
from tests.harness import RunningServer

LOGIN = {"email": demo.AGENT_EMAIL, "password": demo.AGENT_PASSWORD}


def _attributes(response: httpx.Response) -> set[str]:
    """The session cookie's attributes, lower-cased ("httponly", "samesite=strict", ...)."""
    [cookie] = [
        c for c in response.headers.get_list("set-cookie") if c.startswith("switchboard_console=")
    ]
    return {part.strip().lower() for part in cookie.split(";")[1:]}


async def test_over_http_the_cookie_is_httponly_and_strict(server: RunningServer) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        login = await http.post("/console/api/login", json=LOGIN)
    assert login.status_code == 200, login.text
    attributes = _attributes(login)
    assert {"httponly", "samesite=strict"} <= attributes
    assert "secure" not in attributes  # a browser would drop it over plain HTTP


async def test_over_https_the_cookie_is_also_secure(dsn: str, tmp_path: Path) -> None:
    settings = harness.settings_for(dsn, tmp_path, public_url="https://support.example.test")
    async with (
        harness.run_server(settings) as running,
        httpx.AsyncClient(base_url=running.base_url) as http,
    ):
        login = await http.post("/console/api/login", json=LOGIN)
    assert login.status_code == 200, login.text
    assert {"httponly", "samesite=strict", "secure"} <= _attributes(login)
