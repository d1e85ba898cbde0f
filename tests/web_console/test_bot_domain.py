"""The Bot area's slots, forms and custom actions (issue 19, read-only): a designer reads each
slot with its type and mappings, each form with its required slots, and each custom action
with what runs it (Switchboard itself, the action server, or nobody); others get 403, and the
route is in /openapi.json."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from server.services import demo
from tests import harness
from tests.web_console.brands import person, signed_in

MOODBOT = Path(__file__).parents[1] / "nlu" / "data" / "moodbot"
# Rasa 3's domain keys for a small booking form, added to Rasa's own starter bot.
DOMAIN = """
slots:
  city:
    type: text
    influence_conversation: false
    mappings:
      - type: from_entity
        entity: city
        conditions:
          - active_loop: booking_form
            requested_slot: city
  guests:
    type: categorical
    values: [one, two]
    mappings:
      - type: from_intent
        intent: affirm
        value: two
forms:
  booking_form:
    required_slots:
      - city
      - guests
entities:
  - city
actions:
  - action_book_table
  - validate_booking_form
  - action_handoff
"""


@pytest.fixture
async def domain_server(dsn: str, tmp_path: Path) -> AsyncIterator[harness.RunningServer]:
    project = tmp_path / "moodbot"
    shutil.copytree(MOODBOT, project)
    with (project / "domain.yml").open("a") as domain:
        domain.write(DOMAIN)
    settings = harness.settings_for(
        dsn,
        tmp_path,
        nlu_engine="embedded",
        nlu_project=project,
        nlu_cache_dir=tmp_path / "nlu-cache",
        action_server_url="http://127.0.0.1:9/webhook",  # named, never called here
    )
    async with harness.run_server(settings) as running:
        yield running


async def test_slots_forms_and_custom_actions_are_listed(
    domain_server: harness.RunningServer,
) -> None:
    designer = await signed_in(
        domain_server, await person(domain_server, demo.BRAND_SLUG, "designer")
    )
    answer = await designer.get("/console/api/bot/domain")
    assert answer.status_code == 200
    found = answer.json()
    assert found["kind"] == "embedded"
    assert found["action_server"] is True
    slots = {s["name"]: s for s in found["slots"]}
    assert slots["city"]["type"] == "text"
    assert slots["city"]["influence_conversation"] is False
    (mapping,) = slots["city"]["mappings"]
    assert mapping["type"] == "from_entity"
    assert mapping["entity"] == "city"
    assert mapping["conditions"] == [{"active_loop": "booking_form", "requested_slot": "city"}]
    assert slots["guests"]["values"] == ["one", "two"]
    assert slots["guests"]["mappings"][0]["intents"] == ["affirm"]
    assert slots["guests"]["mappings"][0]["value"] == "two"
    assert found["forms"] == [
        {"name": "booking_form", "required_slots": ["city", "guests"], "ignored_intents": []}
    ]
    assert found["actions"] == [
        {"name": "action_book_table", "runs": "action server"},
        {"name": "validate_booking_form", "runs": "action server"},
        {"name": "action_handoff", "runs": "switchboard"},
    ]
    await designer.aclose()


@pytest.mark.parametrize("role", ["agent", "supervisor", "analyst", "editor"])
async def test_others_may_not_read_them(domain_server: harness.RunningServer, role: str) -> None:
    other = await signed_in(domain_server, await person(domain_server, demo.BRAND_SLUG, role))
    assert (await other.get("/console/api/bot/domain")).status_code == 403
    await other.aclose()
    admin = await signed_in(domain_server, await person(domain_server, demo.BRAND_SLUG, "admin"))
    assert (await admin.get("/console/api/bot/domain")).status_code == 200
    operation = (await admin.get("/openapi.json")).json()["paths"]["/console/api/bot/domain"]
    assert operation["get"]["summary"]
    assert "403" in operation["get"]["responses"]
    await admin.aclose()
