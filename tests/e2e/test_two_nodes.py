"""Two server processes on one Postgres and one Redis: each sees the other's events."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from websockets.asyncio.client import connect

from server.services import demo
from tests.channels.webchat_client import hello, new_session, next_of, open_socket, text
from tests.harness import two_nodes


@pytest.fixture
def nodes(dsn: str, redis_url: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    with two_nodes(dsn, redis_url, tmp_path) as urls:
        yield urls


async def test_a_customer_on_one_node_and_an_agent_on_the_other_see_each_other(
    nodes: tuple[str, str],
) -> None:
    node_a, node_b = nodes
    ws_a = node_a.replace("http://", "ws://")
    ws_b = node_b.replace("http://", "ws://")
    async with httpx.AsyncClient(base_url=node_b) as agent_http:
        login = await agent_http.post(
            "/console/api/login", json={"email": demo.AGENT_EMAIL, "password": demo.AGENT_PASSWORD}
        )
        assert login.status_code == 200, "demo data is seeded in the test template"
        readyz = (await agent_http.get("/readyz")).json()
        assert readyz["bus"] == {"kind": "redis", "ok": True}
        last = (await agent_http.get("/console/api/conversations")).json()["last_event_id"]
        cookie = "; ".join(f"{k}={v}" for k, v in agent_http.cookies.items())
        async with connect(f"{ws_b}/console/ws", additional_headers={"cookie": cookie}) as agent:
            await agent.send(text({"type": "hello", "last_event_id": last}))
            assert orjson.loads(await agent.recv())["type"] == "welcome"

            session = await new_session(node_a)
            async with await open_socket(ws_a) as customer:
                await hello(customer, session["token"])
                await customer.send(
                    text({"type": "message", "client_id": "c1", "text": "hello from node A"})
                )
                conversation_id = (await next_of(customer, "ack"))["conversation_id"]

                # The agent on node B sees the customer's message live.
                while True:
                    frame = orjson.loads(await agent.recv())
                    if frame.get("name") == "message.created":
                        break
                assert frame["data"]["message"]["text"] == "hello from node A"
                # Routing follows the ack (here: the bot is off, so a handoff notice).
                notice = (await next_of(customer, "message"))["message"]
                if notice["author_kind"] == "customer":  # its own message, echoed after the ack
                    notice = (await next_of(customer, "message"))["message"]
                assert (notice["author_kind"], notice["seq"]) == ("system", 2)

                # The agent replies through node B; the customer on node A gets it at once.
                reply = await agent_http.post(
                    f"/console/api/conversations/{conversation_id}/messages",
                    json={"text": "hello from node B", "client_id": "r1"},
                )
                assert reply.status_code == 201
                while True:
                    message = (await next_of(customer, "message"))["message"]
                    if message["author_kind"] == "agent":
                        break
                assert message["text"] == "hello from node B"
                assert message["seq"] == 3
