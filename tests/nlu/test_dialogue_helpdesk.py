"""A helpdesk bot with `or:` rules, rule conditions on a slot (set, unset), slot_was_set steps
in rules and stories and a slot filled from an entity: the embedded engine answers each
message as a real Rasa 3.6.21 does, turn by turn."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.nlu.dialogue_twin import PROJECTS, EmbeddedTwin, Reply, rasa_server

HELPDESK = PROJECTS / "helpdesk"

CONVERSATIONS = {
    "the device named in the problem, the fix works (a story)": [
        "my printer is broken",
        "yes it works",
    ],
    "the device asked for, the fix fails, thanks (an or: rule)": [
        "hello",
        "I have a problem",
        "my laptop",
        "no",
        "thanks",
    ],
    "the printer asked for, still broken, goodbye": [
        "it doesn't work",
        "the printer on the second floor",
        "still broken",
        "bye",
    ],
}


@pytest.fixture(scope="module")
def rasa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with rasa_server(HELPDESK, tmp_path_factory.mktemp("rasa-helpdesk")) as url:
        yield url


@pytest.fixture(scope="module")
def twin(tmp_path_factory: pytest.TempPathFactory) -> EmbeddedTwin:
    return EmbeddedTwin(HELPDESK, tmp_path_factory.mktemp("helpdesk-cache"))


async def test_a_rule_condition_on_a_slot_decides_what_follows(twin: EmbeddedTwin) -> None:
    sender = str(uuid.uuid4())
    asked = await twin.turn(sender, "I have a problem")
    assert asked.actions == ("utter_ask_device",)  # the slot is unset: the null condition
    fixed = await twin.turn(sender, "my laptop")
    assert fixed.actions == ("utter_laptop_fix",)  # condition device: laptop
    assert await twin.turn(sender, "no") == Reply(
        ("I've opened a ticket for your laptop; a technician will call you.",),
        ("utter_ticket",),
    )


async def test_either_intent_of_an_or_step_fires_the_rule(twin: EmbeddedTwin) -> None:
    for text in ("thanks", "bye"):
        assert (await twin.turn(str(uuid.uuid4()), text)).actions == ("utter_goodbye",)


async def test_a_kept_tracker_is_rebuilt_from_the_stored_history(twin: EmbeddedTwin) -> None:
    """A restarted server (no tracker kept) continues from the stored intents and actions,
    slots refilled from the stored entities."""
    sender = str(uuid.uuid4())
    await twin.turn(sender, "I have a problem")
    await twin.turn(sender, "the printer")
    twin.engine.conversations.forget(sender)
    assert (await twin.turn(sender, "still broken")).texts == (
        "I've opened a ticket for your printer; a technician will call you.",
    )


@pytest.mark.parametrize("name", CONVERSATIONS)
async def test_each_turn_is_answered_as_rasa_answers_it(
    name: str, rasa: str, twin: EmbeddedTwin
) -> None:
    await twin.answers_as_rasa(rasa, CONVERSATIONS[name])
