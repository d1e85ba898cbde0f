"""Console sessions live on the server: listed with their device and address, revoked one by
one or all but this one, ended by logout, a password change and deactivation, and by the idle
and absolute timeouts (on a clock the test moves); the console socket follows them."""

from __future__ import annotations

from pathlib import Path

import httpx
import orjson
from websockets.asyncio.client import ClientConnection, connect

from server.services import demo
from tests.channels.webchat_client import close_code
from tests.harness import RunningServer
from tests.web_console.account_client import (
    DateClock,
    audit_actions,
    browser,
    clocked_server,
    cookie_of,
)

NEW_PASSWORD = "a-brand-new-passphrase"


async def console(server: RunningServer, http: httpx.AsyncClient) -> ClientConnection:
    ws = await connect(
        f"{server.ws_url}/console/ws", additional_headers={"cookie": cookie_of(http)}
    )
    await ws.send(orjson.dumps({"type": "hello", "last_event_id": 0}).decode())
    while orjson.loads(await ws.recv())["type"] != "welcome":
        pass
    return ws


async def test_sessions_are_listed_with_device_address_and_which_is_this_one(
    server: RunningServer,
) -> None:
    laptop = await browser(server, user_agent="Laptop Firefox")
    phone = await browser(server, user_agent="Phone Safari")
    listed = (await laptop.get("/console/api/me/sessions")).json()["sessions"]
    assert {s["user_agent"] for s in listed} == {"Laptop Firefox", "Phone Safari"}
    assert [s["current"] for s in listed if s["user_agent"] == "Laptop Firefox"] == [True]
    assert all(
        s["address"] == "127.0.0.1" and s["created_at"] and s["last_seen_at"] for s in listed
    )
    # The cookie carries the session's secret, not its listed id.
    assert not any(s["id"] in cookie_of(laptop) for s in listed)
    await laptop.aclose()
    await phone.aclose()


async def test_one_session_is_revoked_and_its_open_console_closes(server: RunningServer) -> None:
    laptop = await browser(server, user_agent="Laptop")
    phone = await browser(server, user_agent="Phone")
    phone_socket = await console(server, phone)
    listed = (await laptop.get("/console/api/me/sessions")).json()["sessions"]
    phone_id = next(s["id"] for s in listed if s["user_agent"] == "Phone")
    assert (await laptop.delete(f"/console/api/me/sessions/{phone_id}")).status_code == 204
    assert (await close_code(phone_socket))[0] == 4401
    assert (await phone.get("/console/api/me")).status_code == 401
    assert (await laptop.get("/console/api/me")).status_code == 200
    again = await laptop.delete(f"/console/api/me/sessions/{phone_id}")
    assert again.status_code == 404
    entry = (await audit_actions(server, "agent.session_revoked"))[-1]
    assert entry["detail"]["session_id"] == phone_id
    await laptop.aclose()
    await phone.aclose()


async def test_another_agents_session_cannot_be_revoked(server: RunningServer) -> None:
    dana = await browser(server)
    lea = await browser(server, "lea@demo.switchboard.test")
    leas = (await lea.get("/console/api/me/sessions")).json()["sessions"][0]["id"]
    assert (await dana.delete(f"/console/api/me/sessions/{leas}")).status_code == 404
    assert (await lea.get("/console/api/me")).status_code == 200
    await dana.aclose()
    await lea.aclose()


async def test_sign_out_everywhere_else_keeps_only_this_session(server: RunningServer) -> None:
    here = await browser(server)
    others = [await browser(server) for _ in range(3)]
    socket = await console(server, others[0])
    answer = await here.post("/console/api/me/sessions/sign-out-others")
    assert answer.json() == {"ended": 3}
    assert (await close_code(socket))[0] == 4401
    for other in others:
        assert (await other.get("/console/api/me")).status_code == 401
        await other.aclose()
    assert len((await here.get("/console/api/me/sessions")).json()["sessions"]) == 1
    await here.aclose()


async def test_logout_ends_this_session_only_and_a_copied_cookie_with_it(
    server: RunningServer,
) -> None:
    laptop = await browser(server)
    phone = await browser(server)
    copied = cookie_of(laptop)
    assert (await laptop.post("/console/api/logout")).status_code == 204
    async with httpx.AsyncClient(base_url=server.base_url) as thief:
        assert (await thief.get("/console/api/me", headers={"cookie": copied})).status_code == 401
    assert (await phone.get("/console/api/me")).status_code == 200
    actions = [e["action"] for e in await audit_actions(server)]
    assert actions[-1] == "agent.logout"
    await laptop.aclose()
    await phone.aclose()


async def test_a_password_change_ends_every_other_session_within_the_request(
    server: RunningServer,
) -> None:
    here = await browser(server)
    there = await browser(server)
    socket = await console(server, there)
    changed = await here.post(
        "/console/api/me/password",
        json={"current_password": demo.AGENT_PASSWORD, "new_password": NEW_PASSWORD},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json() == {"sessions_ended": 1}
    assert (await there.get("/console/api/me")).status_code == 401
    assert (await close_code(socket))[0] == 4401
    assert (await here.get("/console/api/me")).status_code == 200
    async with httpx.AsyncClient(base_url=server.base_url) as fresh:
        old = {"email": demo.AGENT_EMAIL, "password": demo.AGENT_PASSWORD}
        assert (await fresh.post("/console/api/login", json=old)).status_code == 401
    await (await browser(server, password=NEW_PASSWORD)).aclose()
    entry = next(e for e in await audit_actions(server) if e["action"] == "agent.password_changed")
    assert entry["detail"] == {"sessions_ended": 1}
    assert NEW_PASSWORD not in str(await audit_actions(server))
    await here.aclose()
    await there.aclose()


async def test_a_wrong_current_password_is_refused_and_counted(server: RunningServer) -> None:
    http = await browser(server)
    for _ in range(10):
        wrong = await http.post(
            "/console/api/me/password",
            json={"current_password": "not-it", "new_password": NEW_PASSWORD},
        )
        assert wrong.status_code == 403
        assert wrong.json()["error"] == "current_password: wrong password"
    held = await http.post(
        "/console/api/me/password",
        json={"current_password": demo.AGENT_PASSWORD, "new_password": NEW_PASSWORD},
    )
    assert held.status_code == 429
    await http.aclose()


async def test_deactivation_ends_the_agents_sessions_and_logins(server: RunningServer) -> None:
    lea = await browser(server, "lea@demo.switchboard.test")
    socket = await console(server, lea)
    token = server.services.settings.admin_api_token()
    async with httpx.AsyncClient(
        base_url=server.base_url, headers={"authorization": f"Bearer {token}"}
    ) as admin:
        off = await admin.post("/api/admin/agents/lea@demo.switchboard.test/deactivate")
        assert off.status_code == 200, off.text
        assert (await close_code(socket))[0] == 4401
        assert (await lea.get("/console/api/me")).status_code == 401
        login = {"email": "lea@demo.switchboard.test", "password": demo.AGENT_PASSWORD}
        assert (await lea.post("/console/api/login", json=login)).status_code == 401
        on = await admin.post("/api/admin/agents/lea@demo.switchboard.test/reactivate")
        assert on.status_code == 200
        assert (await lea.post("/console/api/login", json=login)).status_code == 200
    actions = [e["action"] for e in await audit_actions(server)]
    assert "agent.deactivated" in actions
    assert "agent.reactivated" in actions
    await lea.aclose()


async def test_an_idle_session_ends_and_its_socket_is_refused(dsn: str, tmp_path: Path) -> None:
    clock = DateClock()
    async with clocked_server(dsn, tmp_path, clock, console_idle_seconds=600) as server:
        busy = await browser(server)
        idle = await browser(server)
        for _ in range(4):  # 4 x 4 minutes: busy keeps being seen, idle is not
            clock.advance(minutes=4)
            assert (await busy.get("/console/api/me")).status_code == 200
        assert (await idle.get("/console/api/me")).status_code == 401
        async with connect(
            f"{server.ws_url}/console/ws", additional_headers={"cookie": cookie_of(idle)}
        ) as ws:
            assert (await close_code(ws))[0] == 4401
        listed = (await busy.get("/console/api/me/sessions")).json()["sessions"]
        assert len(listed) == 1
        assert listed[0]["current"]
        await busy.aclose()
        await idle.aclose()


async def test_a_session_ends_at_the_absolute_timeout_however_busy(
    dsn: str, tmp_path: Path
) -> None:
    clock = DateClock()
    async with clocked_server(
        dsn, tmp_path, clock, console_idle_seconds=3600, console_session_ttl=3 * 3600
    ) as server:
        http = await browser(server)
        for _ in range(5):  # seen every 30 minutes for 2.5 hours
            clock.advance(minutes=30)
            assert (await http.get("/console/api/me")).status_code == 200
        clock.advance(minutes=31)
        assert (await http.get("/console/api/me")).status_code == 401
        await http.aclose()


async def test_last_seen_is_written_at_most_once_a_minute(dsn: str, tmp_path: Path) -> None:
    clock = DateClock()
    async with clocked_server(dsn, tmp_path, clock) as server:
        http = await browser(server)

        async def seen() -> object:
            async with server.services.pool.acquire() as conn:
                return await conn.fetchval("SELECT last_seen_at FROM console_sessions")

        first = await seen()
        clock.advance(seconds=30)
        await http.get("/console/api/me")
        assert await seen() == first
        clock.advance(seconds=31)
        await http.get("/console/api/me")
        assert await seen() == clock.now
        await http.aclose()
