"""Labels: free words on conversations, normalised, seen live by colleagues, offered from
what the brand's conversations carry, and a filter of the console's lists (with channel,
brand, team and language), all within what the caller may see."""

from __future__ import annotations

import orjson
import pytest

from server.services import demo
from tests.harness import RunningServer
from tests.web_console.brands import person, signed_in, two_brands
from tests.web_console.console_client import console_socket
from web_console import labels as rules


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("Refund", "refund"),
        ("  late  parcel ", "late-parcel"),
        ("bug:42", "bug:42"),
        ("Café", "café"),
        ("v1.2_beta", "v1.2_beta"),
    ],
)
def test_a_label_is_trimmed_lowercased_and_spaced_with_dashes(raw: str, stored: str) -> None:
    assert rules.label(raw) == stored


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("x" * 41, "at most 40"),
        ("-refund", "letters"),
        ("<script>", "letters"),
        ("a/b", "letters"),
        ("refund!", "letters"),
    ],
)
def test_what_cannot_be_a_label_is_refused_with_the_reason(raw: str, why: str) -> None:
    with pytest.raises(rules.NotALabel, match=why):
        rules.label(raw)


def test_duplicates_are_dropped_and_a_conversation_holds_at_most_twenty() -> None:
    assert rules.labels(["VIP", "vip", "late"]) == ["vip", "late"]
    with pytest.raises(rules.NotALabel, match="at most 20"):
        rules.labels([f"l{n}" for n in range(21)])


async def test_labels_are_set_seen_live_listed_and_filter_the_lists(
    server: RunningServer,
) -> None:
    shop, outdoor = await two_brands(server)
    lea = await signed_in(server, await person(server, demo.BRAND_SLUG, "agent", ["support"]))
    ana = await signed_in(server, await person(server, demo.BRAND_SLUG, "analyst"))
    noor = await signed_in(
        server, await person(server, demo.OTHER_BRAND_SLUG, "agent", ["support"])
    )
    start = (await ana.get("/console/api/conversations")).json()["last_event_id"]
    ws, _ = await console_socket(server, ana, start)
    path = f"/console/api/conversations/{shop.conversation_id}/labels"

    answer = await lea.put(path, json={"labels": ["Refund", "late parcel", "refund"]})
    assert answer.status_code == 200, answer.text
    assert answer.json()["labels"] == ["refund", "late-parcel"]
    while True:
        frame = orjson.loads(await ws.recv())
        if frame.get("name") == "conversation.updated":
            assert frame["data"]["change"] == "labelled"
            assert frame["data"]["conversation"]["labels"] == ["refund", "late-parcel"]
            break
    await ws.close()

    # Refused, and nothing changed: a bad label, a reading role, another brand's agent.
    bad = await lea.put(path, json={"labels": ["ok", "<b>"]})
    assert bad.status_code == 422
    assert "'<b>'" in bad.json()["error"]
    assert (await lea.put(path, content=b"{")).status_code == 400
    assert (await ana.put(path, json={"labels": ["x"]})).status_code == 403
    assert (await noor.put(path, json={"labels": ["x"]})).status_code == 404
    view = (await ana.get(f"/console/api/conversations/{shop.conversation_id}")).json()
    assert view["labels"] == ["refund", "late-parcel"]

    # Offered from what the caller's conversations carry, most used first.
    outdoor_labels = f"/console/api/conversations/{outdoor.conversation_id}/labels"
    assert (await noor.put(outdoor_labels, json={"labels": ["torn", "refund"]})).is_success
    # (No NLU in this server: the language its detector would have stored.)
    async with server.services.pool.acquire() as conn:
        await conn.execute(
            "UPDATE conversations SET language = 'fr' WHERE id = $1::uuid", shop.conversation_id
        )
    offered = (await lea.get("/console/api/filters")).json()
    assert offered["labels"] == [
        {"label": "late-parcel", "conversations": 1},
        {"label": "refund", "conversations": 1},
    ]
    assert [b["name"] for b in offered["brands"]] == ["Demo Shop"]
    assert offered["languages"] == ["fr"]
    assert {x["label"] for x in (await noor.get("/console/api/filters")).json()["labels"]} == {
        "torn",
        "refund",
    }

    # The lists, filtered: only what matches, only within reach.
    async def listed(http_query: str) -> list[str]:
        page = await ana.get(f"/console/api/conversations?{http_query}")
        assert page.status_code == 200, page.text
        return [c["id"] for c in page.json()["conversations"]]

    assert await listed("label=Refund") == [shop.conversation_id]
    assert await listed("label=torn") == []
    assert await listed("channel=webchat") == [shop.conversation_id]
    assert await listed("channel=email") == []
    assert await listed("language=fr") == [shop.conversation_id]
    assert await listed("language=en") == []
    brand = view["brand_id"]
    assert await listed(f"brand={brand}&label=late-parcel") == [shop.conversation_id]
    team = view["team"]["id"] if view["team"] else None
    if team:
        assert await listed(f"team={team}") == [shop.conversation_id]
    for query, name in [
        ("channel=fax", "channel"),
        ("brand=nope", "brand"),
        ("team=1", "team"),
        ("language=english!", "language"),
        ("label=%3Cb%3E", "label"),
    ]:
        refused = await ana.get(f"/console/api/conversations?{query}")
        assert refused.status_code == 422, query
        assert refused.json()["error"].startswith(name)
    for http in (lea, ana, noor):
        await http.aclose()
