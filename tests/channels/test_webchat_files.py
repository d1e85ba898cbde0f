"""Files both ways in the widget, over HTTP beside the socket, against a real server."""

from __future__ import annotations

import httpx
import pytest

from server.services import demo
from tests.channels.webchat_client import hello, new_session, next_of, open_socket
from tests.harness import RunningServer

FILES = "/api/webchat/files"


async def test_a_visitor_sends_a_file_that_the_agent_downloads(server: RunningServer) -> None:
    session = await new_session(server.base_url)
    auth = {"authorization": f"Bearer {session['token']}"}
    screenshot = b"\x89PNG the error dialog"
    async with (
        await open_socket(server.ws_url) as ws,
        httpx.AsyncClient(base_url=server.base_url) as http,
    ):
        await hello(ws, session["token"])
        params = {"client_id": "file-1", "filename": "../error dialog.png"}
        headers = {**auth, "content-type": "image/png"}
        sent = await http.post(FILES, params=params, content=screenshot, headers=headers)
        assert sent.status_code == 201, sent.text
        assert sent.json()["duplicate"] is False
        again = await http.post(FILES, params=params, content=screenshot, headers=headers)
        assert again.status_code == 200  # a resend is stored once
        assert again.json()["message_id"] == sent.json()["message_id"]
        echo = (await next_of(ws, "message"))["message"]
        assert echo["client_id"] == "file-1"
        assert echo["attachments"] == [
            {"n": 0, "filename": "error dialog.png", "content_type": "image/png", "size": 21}
        ]
        # The visitor can fetch their own file back.
        own = await http.get(f"/api/webchat/messages/{echo['id']}/attachments/0", headers=auth)
        assert own.content == screenshot
    await server.services.pipeline.settled()
    async with httpx.AsyncClient(base_url=server.base_url) as agent:
        login = {"email": demo.AGENT_EMAIL, "password": demo.AGENT_PASSWORD}
        assert (await agent.post("/console/api/login", json=login)).status_code == 200
        got = await agent.get(f"/console/api/messages/{echo['id']}/attachments/0")
        assert got.status_code == 200
        assert got.content == screenshot


@pytest.mark.parametrize(
    ("params", "body", "auth", "status", "error"),
    [
        ({"client_id": "f1", "filename": "a.txt"}, b"x", False, 401, "Bearer"),
        ({"client_id": "bad id", "filename": "a.txt"}, b"x", True, 422, "client_id"),
        ({"client_id": "f2"}, b"x", True, 422, "filename"),
        ({"client_id": "f3", "filename": "a.txt"}, b"", True, 422, "empty"),
        ({"client_id": "f4", "filename": "big.bin"}, b"x" * (10 * 2**20 + 1), True, 413, "MiB"),
    ],
)
async def test_bad_uploads_get_precise_statuses(
    server: RunningServer,
    params: dict[str, str],
    body: bytes,
    auth: bool,
    status: int,
    error: str,
) -> None:
    session = await new_session(server.base_url)
    headers = {"authorization": f"Bearer {session['token']}"} if auth else {}
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        response = await http.post(FILES, params=params, content=body, headers=headers)
    assert response.status_code == status, response.text
    assert error in response.json()["error"]


async def test_an_upload_from_a_foreign_origin_is_refused(server: RunningServer) -> None:
    session = await new_session(server.base_url)
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        response = await http.post(
            FILES,
            params={"client_id": "f1", "filename": "a.txt"},
            content=b"x",
            headers={
                "authorization": f"Bearer {session['token']}",
                "origin": "https://evil.example",
            },
        )
    assert response.status_code == 403


async def test_more_than_ten_files_a_minute_are_refused_429(server: RunningServer) -> None:
    session = await new_session(server.base_url)
    headers = {"authorization": f"Bearer {session['token']}", "content-type": "text/plain"}
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        statuses = []
        for n in range(11):
            params = {"client_id": f"burst-{n}", "filename": f"{n}.txt"}
            response = await http.post(FILES, params=params, content=b"x", headers=headers)
            statuses.append(response.status_code)
    assert statuses == [201] * 10 + [429]
    assert response.headers["retry-after"] == "6"
    assert "slow down" in response.json()["error"]
