"""The Bot area's reads (issue 19, read-only): a designer lists the shipped project's intents
with counts per language and which hand over to a person, reads an intent's examples with
their entities as spans of the plain text, the responses per language with their buttons, and
the rules and stories as step lists with file and line; others get 403, and each route is in
/openapi.json."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from nlu.project import SHIPPED_PROJECT
from server.services import demo
from tests import harness
from tests.web_console.brands import person, signed_in

ROUTES = ("/bot/intents", "/bot/intents/greet", "/bot/responses", "/bot/flows")


@pytest.fixture(scope="module")
def nlu_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One embedded model for the module (trained on first use)."""
    return tmp_path_factory.mktemp("nlu-cache")


@pytest.fixture
async def bot_server(
    dsn: str, tmp_path: Path, nlu_cache: Path
) -> AsyncIterator[harness.RunningServer]:
    settings = harness.settings_for(
        dsn,
        tmp_path,
        nlu_engine="embedded",
        nlu_project=SHIPPED_PROJECT,
        nlu_cache_dir=nlu_cache,
        bot_human_intents=["request_human"],
    )
    async with harness.run_server(settings) as running:
        yield running


async def test_a_designer_reads_intents_examples_responses_and_flows(
    bot_server: harness.RunningServer,
) -> None:
    designer = await signed_in(bot_server, await person(bot_server, demo.BRAND_SLUG, "designer"))
    listed = (await designer.get("/console/api/bot/intents")).json()
    assert listed["kind"] == "embedded"
    assert {"en", "fr"} <= set(listed["languages"])
    rows = {row["name"]: row for row in listed["intents"]}
    track = rows["order_status"]
    assert track["total"] == sum(track["examples"].values()) > 0
    assert track["examples"].get("fr", 0) > 0
    assert track["examples"].get("en", 0) > 0
    assert track["handoff"] is False
    # Handed over by routing's list, and by a rule that runs action_handoff after the intent.
    assert rows["request_human"]["handoff_why"][0] == "SWITCHBOARD_BOT_HUMAN_INTENTS names it"
    assert rows["damaged_item"]["handoff"] is True
    assert "rule 'damaged item' runs action_handoff" in rows["damaged_item"]["handoff_why"]

    detail = (await designer.get("/console/api/bot/intents/order_status")).json()
    assert len(detail["examples"]) == track["total"]
    annotated = [e for e in detail["examples"] if e["entities"]]
    assert annotated
    for example in annotated:
        for span in example["entities"]:
            # Spans index the plain text: the markup is gone, the value is where it says.
            assert "](" not in example["text"]
            assert example["text"][span["start"] : span["end"]]
            assert span["entity"]
    [order] = [
        e for e in detail["examples"] if e["text"] == "where is my order 10234?"
    ]  # nlu.yml: "where is my order [10234](order_number)?"
    assert order["entities"] == [
        {
            "start": 18,
            "end": 23,
            "entity": "order_number",
            "value": "10234",
            "role": None,
            "group": None,
        }
    ]

    responses = {
        r["name"]: r for r in (await designer.get("/console/api/bot/responses")).json()["responses"]
    }
    greet = responses["utter_greet"]["variations"]
    assert [v["language"] for v in greet] == ["en", "fr"]
    assert greet[1]["conditions"] == [{"slot": "language", "value": "fr"}]

    flows = (await designer.get("/console/api/bot/flows")).json()["flows"]
    [damaged] = [f for f in flows if f["name"] == "damaged item"]
    assert (damaged["kind"], damaged["path"]) == ("rule", "data/rules.yml")
    assert isinstance(damaged["line"], int)
    assert [(s["kind"], s["name"]) for s in damaged["steps"]] == [
        ("intent", "damaged_item"),
        ("action", "utter_damaged_item"),
        ("action", "action_handoff"),
    ]
    rules_yml = (SHIPPED_PROJECT / "data" / "rules.yml").read_text().splitlines()
    assert rules_yml[damaged["line"] - 1].strip() == "- rule: damaged item"
    assert any(f["kind"] == "story" and f["path"] == "data/stories.yml" for f in flows)
    await designer.aclose()


async def test_an_unknown_intent_is_a_404(bot_server: harness.RunningServer) -> None:
    admin = await signed_in(bot_server, await person(bot_server, demo.BRAND_SLUG, "admin"))
    answer = await admin.get("/console/api/bot/intents/no_such_intent")
    assert answer.status_code == 404
    assert "no_such_intent" in answer.json()["error"]
    # A retrieval intent's name holds a slash ("faq/ask_hours"): the route takes it whole.
    answer = await admin.get("/console/api/bot/intents/faq%2Fno_such_question")
    assert answer.status_code == 404
    assert "faq/no_such_question" in answer.json()["error"]
    await admin.aclose()


@pytest.mark.parametrize("role", ["agent", "supervisor", "analyst", "editor"])
async def test_others_may_not_read_it(bot_server: harness.RunningServer, role: str) -> None:
    other = await signed_in(bot_server, await person(bot_server, demo.BRAND_SLUG, role))
    for route in ROUTES:
        assert (await other.get(f"/console/api{route}")).status_code == 403, (role, route)
    await other.aclose()


async def test_the_routes_are_documented(bot_server: harness.RunningServer) -> None:
    admin = await signed_in(bot_server, await person(bot_server, demo.BRAND_SLUG, "admin"))
    paths = (await admin.get("/openapi.json")).json()["paths"]
    for route in ("/bot/intents", "/bot/intents/{name}", "/bot/responses", "/bot/flows"):
        operation = paths[f"/console/api{route}"]["get"]
        assert operation["summary"]
        assert "403" in operation["responses"]
    await admin.aclose()
