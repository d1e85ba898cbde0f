"""Optional TOTP sign-in: enrolment (secret, otpauth URI, QR code), confirmation with a code,
login asking for the code, no replay of a code, single-use recovery codes, and turning it off
(on a clock the test moves, so codes are computed for the server's "now")."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pyotp
import pytest

from server.services import demo
from tests.harness import RunningServer
from tests.web_console.account_client import DateClock, audit_actions, browser, clocked_server

LOGIN = {"email": demo.AGENT_EMAIL, "password": demo.AGENT_PASSWORD}


@pytest.fixture
def clock() -> DateClock:
    return DateClock()


@pytest.fixture
async def server(dsn: str, tmp_path: Path, clock: DateClock) -> AsyncIterator[RunningServer]:
    async with clocked_server(dsn, tmp_path, clock) as running:
        yield running


async def enrol(http: httpx.AsyncClient, clock: DateClock) -> tuple[pyotp.TOTP, list[str]]:
    begun = await http.post("/console/api/me/totp")
    assert begun.status_code == 201, begun.text
    enrolment = begun.json()
    assert enrolment["uri"].startswith("otpauth://totp/Switchboard:")
    assert enrolment["qr_svg"].startswith("<svg")
    totp = pyotp.TOTP(enrolment["secret"])
    wrong = await http.post("/console/api/me/totp/confirm", json={"code": "000000"})
    assert wrong.status_code == 422
    confirmed = await http.post("/console/api/me/totp/confirm", json={"code": totp.at(clock.now)})
    assert confirmed.status_code == 200, confirmed.text
    codes: list[str] = confirmed.json()["recovery_codes"]
    assert len(codes) == len(set(codes)) == 10
    return totp, codes


async def test_login_asks_for_the_code_once_enrolled_and_takes_it(
    server: RunningServer, clock: DateClock
) -> None:
    http = await browser(server)
    assert (await http.get("/console/api/me/totp")).json() == {
        "enabled": False,
        "recovery_codes_left": 0,
    }
    totp, _ = await enrol(http, clock)
    assert (await http.get("/console/api/me/totp")).json()["enabled"] is True
    # Turning it on again needs turning it off first.
    assert (await http.post("/console/api/me/totp")).status_code == 409
    async with httpx.AsyncClient(base_url=server.base_url) as other:
        asked = await other.post("/console/api/login", json=LOGIN)
        assert asked.status_code == 401
        assert asked.json()["second_factor"] == "totp"
        assert "switchboard_console" not in other.cookies
        wrong_password = await other.post(
            "/console/api/login", json={**LOGIN, "password": "not-the-password", "code": "1"}
        )
        assert wrong_password.json() == {"error": "wrong email or password"}
        clock.advance(seconds=30)
        ok = await other.post("/console/api/login", json={**LOGIN, "code": totp.at(clock.now)})
        assert ok.status_code == 200, ok.text
        assert (await other.get("/console/api/me")).status_code == 200
    entries = [e for e in await audit_actions(server) if e["action"] == "agent.login"]
    assert entries[-1]["detail"] == {"second_factor": "totp"}
    await http.aclose()


async def test_a_code_is_not_accepted_twice(server: RunningServer, clock: DateClock) -> None:
    http = await browser(server)
    totp, _ = await enrol(http, clock)
    clock.advance(seconds=30)
    code = totp.at(clock.now)
    async with httpx.AsyncClient(base_url=server.base_url) as first:
        assert (
            await first.post("/console/api/login", json={**LOGIN, "code": code})
        ).status_code == 200
    async with httpx.AsyncClient(base_url=server.base_url) as replay:
        again = await replay.post("/console/api/login", json={**LOGIN, "code": code})
        assert again.status_code == 401
        assert again.json() == {"error": "wrong code", "second_factor": "totp"}
        # Nor the code of the step before, still inside the drift window.
        older = totp.at(clock.now, counter_offset=-1)
        again = await replay.post("/console/api/login", json={**LOGIN, "code": older})
        assert again.status_code == 401
    failed = [e for e in await audit_actions(server) if e["action"] == "agent.login_failed"]
    assert [e["detail"]["reason"] for e in failed[-2:]] == ["wrong code", "wrong code"]
    assert code not in str(failed)
    await http.aclose()


async def test_a_recovery_code_works_once(server: RunningServer, clock: DateClock) -> None:
    http = await browser(server)
    _, codes = await enrol(http, clock)
    async with httpx.AsyncClient(base_url=server.base_url) as other:
        used = await other.post(
            "/console/api/login", json={**LOGIN, "code": codes[0].upper().replace("-", " ")}
        )
        assert used.status_code == 200, used.text
    async with httpx.AsyncClient(base_url=server.base_url) as other:
        again = await other.post("/console/api/login", json={**LOGIN, "code": codes[0]})
        assert again.status_code == 401
    assert (await http.get("/console/api/me/totp")).json()["recovery_codes_left"] == 9
    await http.aclose()


async def test_it_is_turned_off_with_a_code_only(server: RunningServer, clock: DateClock) -> None:
    http = await browser(server)
    totp, codes = await enrol(http, clock)
    wrong = await http.post("/console/api/me/totp/disable", json={"code": "123456"})
    assert wrong.status_code == 403
    clock.advance(seconds=30)
    off = await http.post("/console/api/me/totp/disable", json={"code": totp.at(clock.now)})
    assert off.status_code == 204
    assert (await http.get("/console/api/me/totp")).json()["enabled"] is False
    assert (
        await http.post("/console/api/me/totp/disable", json={"code": codes[1]})
    ).status_code == 409
    async with httpx.AsyncClient(base_url=server.base_url) as other:
        assert (await other.post("/console/api/login", json=LOGIN)).status_code == 200
    actions = [e["action"] for e in await audit_actions(server, "agent.totp")]
    assert actions == ["agent.totp_enabled", "agent.totp_disabled"]
    await http.aclose()


async def test_wrong_codes_count_as_failed_logins(server: RunningServer, clock: DateClock) -> None:
    http = await browser(server)
    await enrol(http, clock)
    async with httpx.AsyncClient(base_url=server.base_url) as other:
        for _ in range(10):
            await other.post("/console/api/login", json={**LOGIN, "code": "000000"})
        held = await other.post("/console/api/login", json={**LOGIN, "code": "000000"})
        assert held.status_code == 429
    await http.aclose()
