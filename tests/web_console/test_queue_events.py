"""queue.changed on the console socket: each conversation that enters, moves in or leaves the
ranked queue comes with its rank, score and band (or None), so a console keeps its queue
without reading it again; and only to the consoles whose agent may see the conversation."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import orjson
from websockets.asyncio.client import ClientConnection

from server.services import demo
from tests.harness import RunningServer, customer
from tests.web_console.brands import conversation_in, message_from, person, signed_in
from tests.web_console.console_client import console_socket

LEA = "lea@demo.switchboard.test"
SAM = "sam@demo.switchboard.test"
NOOR = "noor@outdoor.switchboard.test"
ENTRY_KEYS = {"id", "score", "band", "rank", "explanation", "contributions"}

Frame = dict[str, Any]


async def demo_agent(server: RunningServer, email: str) -> httpx.AsyncClient:
    http = httpx.AsyncClient(base_url=server.base_url)
    response = await http.post(
        "/console/api/login", json={"email": email, "password": demo.AGENT_PASSWORD}
    )
    assert response.status_code == 200, response.text
    return http


async def connected(server: RunningServer, http: httpx.AsyncClient) -> ClientConnection:
    """A console socket from now on (no replay of what happened before)."""
    last = (await http.get("/console/api/conversations")).json()["last_event_id"]
    ws, _ = await console_socket(server, http, last)
    return ws


async def events_until(ws: ClientConnection, done: Callable[[Frame], bool]) -> list[Frame]:
    """Every event frame up to and including the first for which ``done`` holds."""
    seen: list[Frame] = []
    async with asyncio.timeout(30):
        while True:
            frame = orjson.loads(await ws.recv())
            if frame["type"] != "event":
                continue
            seen.append(frame)
            if done(frame):
                return seen


def queue_change(conversation_id: str, *, queued: bool) -> Callable[[Frame], bool]:
    def matches(frame: Frame) -> bool:
        return (
            frame["name"] == "queue.changed"
            and frame["conversation_id"] == conversation_id
            and (frame["data"]["queue"] is not None) == queued
        )

    return matches


def apply(queue: list[Frame], frames: list[Frame]) -> list[Frame]:
    """What console.js does with queue.changed frames: drop the conversation, then put its
    new entry where its rank sorts."""
    for frame in frames:
        if frame["name"] != "queue.changed":
            continue
        queue = [q for q in queue if q["id"] != frame["conversation_id"]]
        if frame["data"]["queue"] is not None:
            queue = sorted([*queue, frame["data"]["queue"]], key=lambda q: str(q["rank"]))
    return queue


async def ranked(http: httpx.AsyncClient) -> list[str]:
    response = await http.get("/console/api/queue")
    assert response.status_code == 200
    return [q["id"] for q in response.json()["queue"]]


async def test_a_router_pass_tells_each_console_what_moved_and_nothing_of_another_brand(
    server: RunningServer,
) -> None:
    await demo.seed_other_brand(server.services.pool)
    lea, noor = await demo_agent(server, LEA), await demo_agent(server, NOOR)
    lea_ws, noor_ws = await connected(server, lea), await connected(server, noor)

    shop = [await customer(server, f"anyone there? ({n})") for n in range(3)]
    outdoor = await conversation_in(server, demo.OTHER_WEBCHAT_INBOX, "anyone there?")
    assert (await noor.get(f"/console/api/conversations/{outdoor.conversation_id}")).json()[
        "status"
    ] == "queued"

    # Each placement: the conversation.updated, then its entry, which the queue read agrees on.
    frames = await events_until(lea_ws, queue_change(shop[-1], queued=True))
    placed = [f for f in frames if f["name"] == "queue.changed"]
    assert [f["conversation_id"] for f in placed] == shop
    for frame in placed:
        entry = frame["data"]["queue"]
        assert set(entry) == ENTRY_KEYS
        assert entry["id"] == frame["conversation_id"]
        assert entry["band"] in {"urgent", "high", "normal", "low"}
        assert "live channel webchat" in entry["explanation"]
        before = [
            f["name"] for f in frames[: frames.index(frame)] if f["conversation_id"] == entry["id"]
        ]
        assert before[-1] == "conversation.updated"
    lea_queue = apply([], frames)
    assert [q["id"] for q in lea_queue] == await ranked(lea)
    shown = {q["id"]: q for q in (await lea.get("/console/api/queue")).json()["queue"]}
    for q in lea_queue:
        assert (q["rank"], q["band"]) == (shown[q["id"]]["rank"], shown[q["id"]]["band"])

    # Léa goes online: a pass (the one her status wakes, or this one) assigns the three;
    # each leaves her queue by an event.
    await lea.post("/console/api/me/status", json={"status": "online"})
    await server.services.router.assign_pass()
    frames = await events_until(lea_ws, queue_change(shop[-1], queued=False))
    left = [f["conversation_id"] for f in frames if f["name"] == "queue.changed"]
    assert set(left) == set(shop)
    assert apply(lea_queue, frames) == []
    assert await ranked(lea) == []

    # Noor saw the outdoor conversation placed, and nothing of the shop's, live or ranked:
    # the outdoor customer writes after the pass, so everything before was considered.
    mark = await message_from(server, demo.OTHER_WEBCHAT_INBOX, outdoor, "hello again")
    frames = await events_until(
        noor_ws,
        lambda f: f["name"] == "message.created" and f["data"]["message"]["id"] == mark,
    )
    assert {f["conversation_id"] for f in frames} == {outdoor.conversation_id}
    assert apply([], frames)[0]["id"] == outdoor.conversation_id
    assert await ranked(noor) == [outdoor.conversation_id]
    for ws in (lea_ws, noor_ws):
        await ws.close()
    for http in (lea, noor):
        await http.aclose()


async def test_a_conversation_transferred_out_of_reach_leaves_that_agents_queue(
    server: RunningServer,
) -> None:
    """Léa (support, billing) sees a support conversation queued; Sam moves it to the
    technical team: it is still queued, but for Léa it has left her queue, and Sam's team
    mates (the technical team) receive its entry."""
    lea, sam = await demo_agent(server, LEA), await demo_agent(server, SAM)
    tech = await signed_in(server, await person(server, demo.BRAND_SLUG, "agent", ["technical"]))
    lea_ws, tech_ws = await connected(server, lea), await connected(server, tech)
    conversation_id = await customer(server, "anyone there?")
    await events_until(lea_ws, queue_change(conversation_id, queued=True))

    technical = next(
        t["id"]
        for t in (await sam.get("/console/api/directory")).json()["teams"]
        if t["name"] == "Technical"
    )
    response = await sam.post(
        f"/console/api/conversations/{conversation_id}/transfer", json={"team_id": technical}
    )
    assert response.status_code == 200, response.text
    frames = await events_until(lea_ws, lambda f: f["name"] == "queue.changed")
    assert frames[-1]["data"]["queue"] is None
    assert conversation_id not in await ranked(lea)
    frames = await events_until(tech_ws, queue_change(conversation_id, queued=True))
    assert frames[-1]["data"]["queue"]["id"] == conversation_id
    assert await ranked(tech) == [conversation_id]
    for ws in (lea_ws, tech_ws):
        await ws.close()
    for http in (lea, sam, tech):
        await http.aclose()


async def test_a_reply_that_takes_a_queued_conversation_says_it_left_the_queue(
    server: RunningServer,
) -> None:
    lea = await demo_agent(server, LEA)
    ws = await connected(server, lea)
    conversation_id = await customer(server, "anyone there?")
    await events_until(ws, queue_change(conversation_id, queued=True))
    response = await lea.post(
        f"/console/api/conversations/{conversation_id}/messages",
        json={"text": "Hello, I am here", "client_id": "r1"},
    )
    assert response.status_code in (200, 201), response.text
    await events_until(ws, queue_change(conversation_id, queued=False))
    assert await ranked(lea) == []
    await ws.close()
    await lea.aclose()
