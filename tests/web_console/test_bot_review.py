"""The trainer review inbox's API (issue 19) on a running server with the embedded engine and
a copy of the shipped project: what a designer lists and reads, labels (examples written into
the files, nothing else changed), ignores and retrains; agents flag; the bot's health; every
refusal precise; each route in /openapi.json."""

from __future__ import annotations

import difflib
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from nlu.project import SHIPPED_PROJECT
from server.services import demo
from tests import harness
from tests.web_console.brands import conversation_in, person, signed_in

API = "/console/api/bot/review"
# Messages the shipped bot does not understand (fallback or low confidence).
ODD = "can I pay with seashells"


@pytest.fixture(scope="module")
def nlu_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("nlu-cache")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    copy = tmp_path / "project"
    shutil.copytree(SHIPPED_PROJECT, copy)
    return copy


@pytest.fixture
async def bot_server(
    dsn: str, tmp_path: Path, nlu_cache: Path, project: Path
) -> AsyncIterator[harness.RunningServer]:
    settings = harness.settings_for(
        dsn, tmp_path, nlu_engine="embedded", nlu_project=project, nlu_cache_dir=nlu_cache
    )
    async with harness.run_server(settings) as running:
        await demo.seed_other_brand(running.services.pool)
        yield running


async def test_a_designer_reviews_labels_and_retrains(
    bot_server: harness.RunningServer, project: Path
) -> None:
    shop = await conversation_in(bot_server, demo.WEBCHAT_INBOX, ODD)
    outdoor = await conversation_in(bot_server, demo.OTHER_WEBCHAT_INBOX, ODD + " or shells")
    designer = await signed_in(bot_server, await person(bot_server, demo.BRAND_SLUG, "designer"))
    other = await signed_in(bot_server, await person(bot_server, demo.OTHER_BRAND_SLUG, "designer"))
    page = (await designer.get(f"{API}/items")).json()
    listed = {i["item"]["message_id"]: i["item"] for i in page["items"]}
    assert shop.message_id in listed
    assert outdoor.message_id not in listed  # another brand's customer
    item = listed[shop.message_id]
    assert item["reasons"]
    assert item["ranking"]
    assert "order_status" in page["intents"]
    theirs = (await other.get(f"{API}/items")).json()
    assert [i["item"]["message_id"] for i in theirs["items"]] == [outdoor.message_id]
    detail = (await designer.get(f"{API}/items/{shop.message_id}")).json()
    assert detail["conversation"][0]["text"] == ODD
    assert detail["brand"] == demo.BRAND_SLUG
    assert (await other.get(f"{API}/items/{shop.message_id}")).status_code == 404

    nlu = (project / "data" / "nlu.yml").read_text()
    labelled = await designer.post(
        f"{API}/labels", json={"messages": [shop.message_id], "intent": "pay_with_shells"}
    )
    assert labelled.status_code == 200, labelled.text
    assert labelled.json()["new_intent"] is True
    version = labelled.json()["version"]
    async with bot_server.services.pool.acquire() as conn:
        author = await conn.fetchval("SELECT author_name FROM bot_versions WHERE id = $1", version)
    assert author == f"designer of {demo.BRAND_SLUG}"  # a version, with the trainer as author
    after = (project / "data" / "nlu.yml").read_text()
    # Only lines added: the rest of the file is as the team wrote it.
    changed = [
        x for x in difflib.ndiff(nlu.splitlines(), after.splitlines()) if x.startswith(("- ", "+ "))
    ]
    assert [x for x in changed if x.startswith("- ")] == []
    assert "+ - intent: pay_with_shells" in changed
    assert f"+     - {ODD}" in changed
    assert "- pay_with_shells\n" in (project / "domain.yml").read_text()
    assert (await designer.get(f"{API}/items")).json()["items"] == [] or shop.message_id not in {
        i["item"]["message_id"] for i in (await designer.get(f"{API}/items")).json()["items"]
    }
    reviewed = (await designer.get(f"{API}/items", params={"status": "reviewed"})).json()
    assert reviewed["items"][0]["item"]["verdict"]["status"] == "relabelled"

    trained = await designer.post(f"{API}/retrain", timeout=600)
    assert trained.status_code == 200, trained.text
    outcome = trained.json()
    assert outcome["reviewed"] == 1
    assert outcome["fingerprint_before"] != outcome["fingerprint_after"]
    assert outcome["right_after"] >= outcome["right_before"]
    assert outcome["error"] is None
    health = (await designer.get(f"{API}/health", params={"brand": demo.BRAND_SLUG})).json()
    assert health["trainings"][-1]["fingerprint_after"] == outcome["fingerprint_after"]
    assert health["weeks"]
    async with bot_server.services.pool.acquire() as conn:
        actions = await conn.fetch(
            "SELECT action FROM audit_log WHERE action LIKE 'bot.%' ORDER BY id"
        )
    assert [a["action"] for a in actions] == ["bot.review_labelled", "bot.retrained"]
    for http in (designer, other):
        await http.aclose()


async def test_not_for_the_bot_and_the_refusals(
    bot_server: harness.RunningServer, project: Path
) -> None:
    shop = await conversation_in(bot_server, demo.WEBCHAT_INBOX, ODD)
    outdoor = await conversation_in(bot_server, demo.OTHER_WEBCHAT_INBOX, ODD)
    hello = await conversation_in(bot_server, demo.WEBCHAT_INBOX, "hello")
    designer = await signed_in(bot_server, await person(bot_server, demo.BRAND_SLUG, "designer"))
    agent = await signed_in(bot_server, await person(bot_server, demo.BRAND_SLUG, "agent"))
    refusals = [
        (designer.get(f"{API}/items", params={"band": "tepid"}), 422),
        (designer.get(f"{API}/items", params={"from": "yesterday"}), 422),
        (designer.get(f"{API}/items", params={"limit": "0"}), 422),
        (designer.get(f"{API}/items", params={"to": "9999-12-31"}), 422),
        (designer.post(f"{API}/labels", json={"messages": [2**63], "intent": "greet"}), 422),
        (designer.get(f"{API}/items", params={"brand": "nope"}), 404),
        (designer.get(f"{API}/items/99999999"), 404),
        (designer.get(f"{API}/items/{outdoor.message_id}"), 404),
        (
            designer.post(f"{API}/labels", json={"messages": [shop.message_id], "intent": "a b"}),
            422,
        ),
        (designer.post(f"{API}/labels", json={"messages": [], "intent": "greet"}), 422),
        (designer.post(f"{API}/labels", content=b"{not json"), 400),
        (
            designer.post(
                f"{API}/labels",
                json={"messages": [shop.message_id, outdoor.message_id], "intent": "greet"},
            ),
            404,
        ),
        (
            designer.post(
                f"{API}/labels",
                json={
                    "messages": [shop.message_id],
                    "intent": "greet",
                    "entities": [{"start": 0, "end": 500, "entity": "x"}],
                },
            ),
            422,
        ),
        # A text that is already an example of another intent cannot be taught as this one.
        (
            designer.post(
                f"{API}/labels", json={"messages": [hello.message_id], "intent": "goodbye"}
            ),
            409,
        ),
        (designer.get(f"{API}/health"), 422),
        (designer.get(f"{API}/health", params={"brand": demo.BRAND_SLUG, "tz": "Mars/Base"}), 422),
        (designer.get(f"{API}/health", params={"brand": demo.OTHER_BRAND_SLUG}), 404),
        (agent.get(f"{API}/items"), 403),
        (agent.post(f"{API}/retrain"), 403),
    ]
    for call, status in refusals:
        response = await call
        assert response.status_code == status, response.text
    # An entity marked over the text is written in Rasa's markup.
    order = await conversation_in(bot_server, demo.WEBCHAT_INBOX, "my order 10234 never came")
    marked = await designer.post(
        f"{API}/labels",
        json={
            "messages": [order.message_id],
            "intent": "order_status",
            "entities": [{"start": 9, "end": 14, "entity": "order_number"}],
        },
    )
    assert marked.status_code == 200, marked.text
    assert (
        "    - my order [10234](order_number) never came\n"
        in (project / "data" / "nlu.yml").read_text()
    )
    ignored = await designer.post(f"{API}/ignored", json={"messages": [shop.message_id]})
    assert ignored.status_code == 200, ignored.text
    page = (await designer.get(f"{API}/items", params={"status": "ignored"})).json()
    assert [i["item"]["message_id"] for i in page["items"]] == [shop.message_id]
    for http in (designer, agent):
        await http.aclose()


async def test_agents_flag_what_the_bot_got_wrong(bot_server: harness.RunningServer) -> None:
    shop = await conversation_in(bot_server, demo.WEBCHAT_INBOX, "where is my parcel")
    agent = await signed_in(
        bot_server, await person(bot_server, demo.BRAND_SLUG, "agent", ["support"])
    )
    stranger = await signed_in(
        bot_server, await person(bot_server, demo.OTHER_BRAND_SLUG, "agent", ["support"])
    )
    designer = await signed_in(bot_server, await person(bot_server, demo.BRAND_SLUG, "designer"))
    flag = f"/console/api/messages/{shop.message_id}/bot-flag"
    first = await agent.post(flag, json={"intent": "order_status", "note": "tracking question"})
    assert first.status_code == 201, first.text
    again = await agent.post(flag, json={"note": "still wrong"})
    assert again.status_code == 200
    assert (await stranger.post(flag, json={})).status_code == 404
    assert (await designer.post(flag, json={})).status_code == 403
    assert (await agent.post(flag, json={"intent": "no spaces"})).status_code == 422
    assert (
        await agent.post("/console/api/messages/9223372036854775807/bot-flag")
    ).status_code == 404
    page = (await designer.get(f"{API}/items", params={"reason": "flagged"})).json()
    [item] = [i["item"] for i in page["items"]]
    assert item["message_id"] == shop.message_id
    assert [f["note"] for f in item["flags"]] == ["still wrong"]
    for http in (agent, stranger, designer):
        await http.aclose()


async def test_the_routes_are_documented(bot_server: harness.RunningServer) -> None:
    admin = await signed_in(bot_server, await person(bot_server, demo.BRAND_SLUG, "admin"))
    paths = (await admin.get("/openapi.json")).json()["paths"]
    for method, route in (
        ("get", f"{API}/brands"),
        ("get", f"{API}/items"),
        ("get", f"{API}/items/{{message_id}}"),
        ("post", f"{API}/labels"),
        ("post", f"{API}/ignored"),
        ("post", f"{API}/retrain"),
        ("get", f"{API}/health"),
        ("post", "/console/api/messages/{message_id}/bot-flag"),
    ):
        operation = paths[route][method]
        assert operation["summary"], route
        assert "401" in operation["responses"], route
    await admin.aclose()
