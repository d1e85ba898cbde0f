"""The transcript's activities: each change to a conversation (handed off, claimed,
transferred, put back, resolved) is recorded with who did it, read back in order, pushed live
in the change's event, and shown only to those who may see the conversation."""

from __future__ import annotations

import orjson

from server.services import demo
from tests.harness import RunningServer
from tests.web_console.brands import person, signed_in, two_brands
from tests.web_console.console_client import console_socket


async def test_every_change_is_recorded_with_who_did_it_and_pushed_live(
    server: RunningServer,
) -> None:
    shop, outdoor = await two_brands(server)
    lea = await signed_in(server, await person(server, demo.BRAND_SLUG, "agent", ["support"]))
    sam = await signed_in(server, await person(server, demo.BRAND_SLUG, "supervisor"))
    noor = await signed_in(server, await person(server, demo.OTHER_BRAND_SLUG, "agent"))
    lea_id = (await lea.get("/console/api/me")).json()["agent"]["id"]
    sam_id = (await sam.get("/console/api/me")).json()["agent"]["id"]
    directory = (await sam.get("/console/api/directory")).json()
    support = next(t["id"] for t in directory["teams"] if t["name"].lower().startswith("support"))
    start = (await sam.get("/console/api/conversations")).json()["last_event_id"]
    ws, _ = await console_socket(server, sam, start)
    path = f"/console/api/conversations/{shop.conversation_id}"

    # Lea takes it while offline (a claim needs no status), so the router offers nothing.
    assert (await lea.post(f"{path}/claim", json={})).is_success
    assert (await sam.post("/console/api/me/status", json={"status": "online"})).is_success
    assert (await lea.post(f"{path}/transfer", json={"agent_id": sam_id})).is_success
    # Sam goes offline with it unanswered: back in the queue (and no one online to offer it to).
    assert (await sam.post("/console/api/me/status", json={"status": "offline"})).is_success
    assert (await sam.post(f"{path}/transfer", json={"team_id": support})).is_success
    assert (await lea.post(f"{path}/claim", json={})).is_success
    assert (await lea.post(f"{path}/resolve", json={})).is_success

    listed = (await sam.get(f"{path}/activities")).json()["activities"]
    seen = [
        (
            a["kind"],
            a["detail"],
            a["actor"]["id"] if a["actor"] else None,
            a["agent"]["id"] if a["agent"] else None,
        )
        for a in listed
    ]
    assert seen == [
        ("handed_off", "no_bot", None, None),
        ("assigned", "claim", lea_id, lea_id),
        ("assigned", "transfer", lea_id, sam_id),
        ("requeued", "unanswered", None, sam_id),
        ("transferred", None, sam_id, None),
        ("assigned", "claim", lea_id, lea_id),
        ("resolved", None, lea_id, None),
    ]
    assert listed[4]["team"]["id"] == support
    assert listed[1]["actor"]["name"] == f"agent of {demo.BRAND_SLUG}"

    # Each one reached the console in the event of its change (handed_off came before `start`).
    pushed: list[dict[str, object]] = []
    while len(pushed) < len(listed) - 1:
        frame = orjson.loads(await ws.recv())
        activity = frame.get("data", {}).get("activity")
        if frame.get("name") == "conversation.updated" and activity:
            pushed.append(activity)
    await ws.close()
    assert pushed == listed[1:]

    # Another brand's agent learns nothing, not even that the conversation exists.
    assert (await noor.get(f"{path}/activities")).status_code == 404
    unknown = "/console/api/conversations/00000000-0000-0000-0000-000000000000/activities"
    assert (await sam.get(unknown)).status_code == 404
    _ = outdoor
    for http in (lea, sam, noor):
        await http.aclose()
