"""Schemathesis drives every operation /openapi.json describes against a real server: no answer
is a 5xx, and every answer matches the schema the document declares for its status.

The calls are authenticated as the routes expect (the admin token, the bot API token, a
visitor's token, an agent's session cookie), and operations on a conversation are tried on a
real one as well as on generated ids. Nothing is excluded: the console's multipart replies and
the widget's raw file uploads are driven too (schemathesis encodes both), and the WebSocket
endpoints are not in the document.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from server.services import demo
from tests.harness import RunningServer, customer, run_server, settings_for

BOT_TOKEN = "bot-token-for-the-fuzz-test"
EXAMPLES = 20  # per operation: about 45 operations in under two minutes on two cores


async def test_every_operation_answers_without_5xx_and_as_documented(
    dsn: str, tmp_path: Path
) -> None:
    async with run_server(settings_for(dsn, tmp_path, bot_api_token=BOT_TOKEN)) as server:
        credentials = await _credentials(server)
        conversation_id = await customer(server, "Where is my order?")
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            document = (await http.get("/openapi.json")).json()
        schema = schemathesis.openapi.from_dict(document)
        failures = await asyncio.to_thread(
            _fuzz, schema, server.base_url, credentials, conversation_id
        )
    assert not failures, "\n\n".join(failures)


async def _credentials(server: RunningServer) -> dict[str, dict[str, str]]:
    """The Authorization header or cookie each security scheme of the document asks for."""
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        login = await http.post(
            "/console/api/login", json={"email": demo.AGENT_EMAIL, "password": demo.AGENT_PASSWORD}
        )
        assert login.status_code == 200
        session = await http.post("/api/webchat/sessions", json={"inbox": demo.WEBCHAT_INBOX})
        assert session.status_code == 201
    admin = server.services.settings.admin_api_token()
    return {
        "adminToken": {"authorization": f"Bearer {admin}"},
        "botToken": {"authorization": f"Bearer {BOT_TOKEN}"},
        "visitorToken": {"authorization": f"Bearer {session.json()['token']}"},
        "consoleSession": {"cookie": f"switchboard_console={login.cookies['switchboard_console']}"},
    }


def _fuzz(
    schema: Any, base_url: str, credentials: dict[str, dict[str, str]], conversation_id: str
) -> list[str]:
    """Run each operation's examples (in a thread: the server answers on the test's loop)."""
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        security = operation.definition.raw.get("security") or [{}]
        headers = next((credentials[name] for name in security[0]), {})
        strategy = operation.as_strategy()
        if any(p.name == "id" for p in operation.path_parameters):
            real = operation.as_strategy(path_parameters={"id": conversation_id})
            strategy = st.one_of(strategy, real)
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
