"""Schemathesis drives every operation /openapi.json describes against a real server: no answer
is a 5xx, and every answer matches the schema the document declares for its status.

The calls are authenticated as the routes expect (the admin token, the bot API token, a
visitor's token, an agent's session cookie), and operations on a conversation are tried on a
real one as well as on generated ids. Nothing is excluded: the console's multipart replies and
the widget's raw file uploads are driven too (schemathesis encodes both), and the WebSocket
endpoints are not in the document. The server sends mail through a local relay, so what mails
(a visitor's email code, invites, password resets) is driven as it runs, not refused as off.

The console's operations run twice: with the demo admin's session, and with a plain agent's
(the `agent` role in the demo brand and its support team), for whom a conversation of the
other brand must be as absent as a made-up id. The agent's run drives only the console's
operations: the others take tokens, not a session, and the admin's run already covers them.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from server.services import demo
from server.services.agents import create_agent
from server.store import organisation as org
from tests import mail
from tests.channels.webchat_client import hello, new_session, next_of, open_socket, text
from tests.harness import RunningServer, customer, run_server, settings_for

BOT_TOKEN = "bot-token-for-the-fuzz-test"
# Per operation. The admin's run (every operation) and the agent's (the console's) took 27 s
# together on two cores at a load of 2, 160 s under a load of 12; more examples found nothing
# more (120 each, random, in 7.5 minutes), so 20 keeps this file well under 4 minutes.
EXAMPLES = 20
AGENT_EMAIL = "fuzz-agent@demo.switchboard.test"
AGENT_PASSWORD = "a fuzzing agent's passphrase 7431"
CONSOLE_SCHEME = "consoleSession"


@pytest.mark.parametrize("who", ["admin", "agent"])
async def test_every_operation_answers_without_5xx_and_as_documented(
    dsn: str, tmp_path: Path, who: str
) -> None:
    async with (
        mail.relay() as relay,
        run_server(
            settings_for(dsn, tmp_path, bot_api_token=BOT_TOKEN, smtp_relay_url=relay.url)
        ) as server,
    ):
        await demo.seed_other_brand(server.services.pool)
        if who == "agent":
            await _plain_agent(server)
        email, password = (
            (demo.AGENT_EMAIL, demo.AGENT_PASSWORD)
            if who == "admin"
            else (AGENT_EMAIL, AGENT_PASSWORD)
        )
        credentials = await _credentials(server, email, password)
        conversations = [
            await customer(server, "Where is my order?"),
            await _other_brand_customer(server, "My tent has a hole"),
        ]
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            document = (await http.get("/openapi.json")).json()
        schema = schemathesis.openapi.from_dict(document)
        only = CONSOLE_SCHEME if who == "agent" else None
        failures = await asyncio.to_thread(
            _fuzz, schema, server.base_url, credentials, conversations, only
        )
        cookie = credentials[CONSOLE_SCHEME]
        async with httpx.AsyncClient(base_url=server.base_url, headers=cookie) as http:
            # Still signed in: the run was not mostly 401s after a call that ended the session.
            me = await http.get("/console/api/me")
            other = await http.get(f"/console/api/conversations/{conversations[1]}")
    assert not failures, "\n\n".join(failures)
    assert me.status_code == 200, me.text
    assert me.json()["agent"]["email"] == email
    # The other brand's conversation: the admin sees it, the demo brand's agent does not.
    assert other.status_code == (200 if who == "admin" else 404), other.text


async def _plain_agent(server: RunningServer) -> None:
    """An agent of the demo brand and its support team, nothing more."""
    pool = server.services.pool
    await create_agent(
        pool,
        email=AGENT_EMAIL,
        name="Fuzz Agent",
        password=AGENT_PASSWORD,
        role="agent",
        brand=demo.BRAND_SLUG,
    )
    async with pool.acquire() as conn:
        await org.update_agent(conn, AGENT_EMAIL, teams=["support"], brand=demo.BRAND_SLUG)


async def _other_brand_customer(server: RunningServer, message: str) -> str:
    """A conversation in the outdoor brand, which the plain agent may not see."""
    session = await new_session(server.base_url, inbox=demo.OTHER_WEBCHAT_INBOX)
    async with await open_socket(server.ws_url) as ws:
        await hello(ws, session["token"])
        await ws.send(text({"type": "message", "client_id": "c1", "text": message}))
        conversation_id: str = (await next_of(ws, "ack"))["conversation_id"]
    await server.services.pipeline.settled()
    return conversation_id


async def _credentials(
    server: RunningServer, email: str, password: str
) -> dict[str, dict[str, str]]:
    """The Authorization header or cookie each security scheme of the document asks for."""
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        login = await http.post("/console/api/login", json={"email": email, "password": password})
        assert login.status_code == 200, login.text
        session = await http.post("/api/webchat/sessions", json={"inbox": demo.WEBCHAT_INBOX})
        assert session.status_code == 201
    admin = server.services.settings.admin_api_token()
    return {
        "adminToken": {"authorization": f"Bearer {admin}"},
        "botToken": {"authorization": f"Bearer {BOT_TOKEN}"},
        "visitorToken": {"authorization": f"Bearer {session.json()['token']}"},
        CONSOLE_SCHEME: {"cookie": f"switchboard_console={login.cookies['switchboard_console']}"},
    }


def _fuzz(
    schema: Any,
    base_url: str,
    credentials: dict[str, dict[str, str]],
    conversations: list[str],
    only: str | None,
) -> list[str]:
    """Run each operation's examples (in a thread: the server answers on the test's loop);
    with ``only``, just the operations of that security scheme."""
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        security = operation.definition.raw.get("security") or [{}]
        if only is not None and only not in security[0]:
            continue
        headers = next((credentials[name] for name in security[0]), {})
        strategy = operation.as_strategy()
        if any(p.name == "id" for p in operation.path_parameters):
            real = [operation.as_strategy(path_parameters={"id": c}) for c in conversations]
            strategy = st.one_of(strategy, *real)
        try:
            _examples(strategy, base_url, headers)
        except (Exception, BaseExceptionGroup) as exc:  # schemathesis raises a FailureGroup
            failures.append(f"{operation.label}: {str(exc)[:2000]}")
    return failures


def _examples(strategy: Any, base_url: str, headers: dict[str, str]) -> None:
    @given(case=strategy)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,  # the same examples on every run: make test must not flicker
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        response = case.call(base_url=base_url, headers=headers, timeout=30)
        case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])

    run()
