"""Teamwork without collisions: colleagues see who has a conversation open and who is typing
in it; a colleague's typing never reaches the customer, the assignee's does; a closed tab
stops viewing at once."""

from __future__ import annotations

from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection

from server.services import demo
from tests.channels.webchat_client import hello, new_session, next_of, open_socket, text
from tests.harness import RunningServer
from tests.web_console.brands import person, signed_in
from tests.web_console.console_client import console_socket


async def next_named(ws: ClientConnection, name: str) -> dict[str, Any]:
    while True:
        frame = orjson.loads(await ws.recv())
        if frame.get("type") == "event" and frame.get("name") == name:
            return dict(frame)


async def test_colleagues_see_who_views_and_types_and_only_the_assignee_types_to_the_customer(
    server: RunningServer,
) -> None:
    session = await new_session(server.base_url)
    widget = await open_socket(server.ws_url)
    await hello(widget, session["token"])
    await widget.send(text({"type": "message", "client_id": "c1", "text": "are you there?"}))
    conversation_id = (await next_of(widget, "ack"))["conversation_id"]
    await server.services.pipeline.settled()

    lea_http = await signed_in(server, await person(server, demo.BRAND_SLUG, "agent", ["support"]))
    sam_http = await signed_in(server, await person(server, demo.BRAND_SLUG, "supervisor"))
    lea, _ = await console_socket(server, lea_http, 0)
    sam, _ = await console_socket(server, sam_http, 0)
    assert (
        await lea_http.post(f"/console/api/conversations/{conversation_id}/claim")
    ).status_code == 200

    # Sam opens the conversation: Léa is told who looks at it.
    await sam.send(text({"type": "viewing", "conversation_id": conversation_id}))
    seen = await next_named(lea, "viewing")
    assert seen["conversation_id"] == conversation_id
    assert seen["data"]["author"]["name"] == "supervisor of demo"
    assert seen["data"]["active"] is True

    # Sam types (he does not hold it): Léa sees it, the customer does not. Then Léa stops
    # typing (she holds it): the customer's first typing frame is hers, inactive.
    await sam.send(text({"type": "typing", "conversation_id": conversation_id, "active": True}))
    typed = await next_named(lea, "typing")
    assert typed["data"]["author"]["name"] == "supervisor of demo"
    assert typed["data"]["to_customer"] is False
    await lea.send(text({"type": "typing", "conversation_id": conversation_id, "active": False}))
    assert (await next_of(widget, "typing"))["active"] is False

    # Sam closes his tab: Léa is told at once.
    await sam.close()
    gone = await next_named(lea, "viewing")
    assert gone["data"]["active"] is False
    for ws in (lea, widget):
        await ws.close()
    await lea_http.aclose()
    await sam_http.aclose()
