"""A ledger bot whose form takes its first slot from the intent that started it
(``from_trigger_intent``) and whose free-text slot ignores the intents the form lists in
``ignored_intents``; a slot only actions fill (a ``custom`` mapping without an action) is not
named as unsupported, since Rasa fills it no other way; the project's own
``action_session_start`` runs on the action server before the first message, and again
right after ``/restart`` (Rasa's restart event calls for it); a story that
crosses the form in one step, as stories write it, continues a conversation that filled the
form over several messages, and an intent's ``use_entities: []`` keeps its entities out of
the states the story is compared on. The embedded engine answers each message as a real
Rasa 3.6.21 does, turn by turn."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import pytest

from nlu.project import load_project
from nlu.support import still_unsupported
from nlu.used_entities import IntentEntities, used_entities
from tests.nlu.dialogue_twin import PROJECTS, EmbeddedTwin, Reply, action_server, rasa_server

LEDGER = PROJECTS / "ledger"

CONVERSATIONS = {
    "the intent that started the form fills its first slot": [
        "how much did I earn",
        "this week",
    ],
    "an ignored intent inside the form goes to its rule, then the form asks again": [
        "hello",
        "show my spending",
        "when are you open",
        "the past year",
        "bye",
    ],
    "the same question outside the form": ["when are you open"],
    "a story crossing the form in one step continues after it": [
        "how much did I earn",
        "this week",
        "thanks",
    ],
    "a story continues a search whose entity the intent does not use": [
        "show my spending",
        "last month",
        "thanks",
    ],
    "no story after a greeting's thanks: the default fallback": ["hello", "thanks"],
    "after /restart, the project's own session start": ["hello", "/restart", "hello"],
}


@pytest.fixture(scope="module")
def actions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with action_server(LEDGER, tmp_path_factory.mktemp("ledger-actions")) as url:
        yield url


@pytest.fixture(scope="module")
def rasa(tmp_path_factory: pytest.TempPathFactory, actions: str) -> Iterator[str]:
    with rasa_server(LEDGER, tmp_path_factory.mktemp("rasa-ledger"), actions) as url:
        yield url


@pytest.fixture
async def twin(
    tmp_path_factory: pytest.TempPathFactory, actions: str
) -> AsyncIterator[EmbeddedTwin]:
    twin = EmbeddedTwin(LEDGER, tmp_path_factory.getbasetemp() / "ledger-cache", actions)
    yield twin
    await twin.engine.close()


def test_only_the_session_start_is_named_and_only_without_an_action_server() -> None:
    """from_trigger_intent is filled, and a custom mapping without an action is what Rasa
    does too: nothing to name. The project's own action_session_start runs on the action
    server: named, with the line that declares it, for an engine without one."""
    project = load_project(LEDGER)
    assert [(n.path, n.line, n.feature) for n in project.unsupported] == [
        ("domain.yml", 52, "custom action_session_start")
    ]
    assert still_unsupported(project, duckling=False, action_server=True) == []


async def test_the_project_s_session_start_sets_its_slots_first(twin: EmbeddedTwin) -> None:
    """Rasa runs the project's action_session_start before the first message."""
    assert (await twin.turn(str(uuid.uuid4()), "hello")).texts == (
        "Hello Ada! I can search your spending or your earnings.",
    )


async def test_the_trigger_intent_fills_its_slot_as_the_form_starts(twin: EmbeddedTwin) -> None:
    sender = str(uuid.uuid4())
    # No entity names the direction: the intent that started the form does.
    assert await twin.turn(sender, "how much did I earn") == Reply(
        ("For which period?",), ("search_form",)
    )
    assert twin.engine.conversations.slots(sender)["direction"] == "earnings"


async def test_an_ignored_intent_does_not_fill_the_requested_slot(twin: EmbeddedTwin) -> None:
    sender = str(uuid.uuid4())
    await twin.turn(sender, "how much did I earn")
    # Without ignored_intents the free-text period would be "when are you open".
    assert await twin.turn(sender, "when are you open") == Reply(
        ("Our branches open 9 to 5, Monday to Friday.", "For which period?"),
        ("utter_hours", "search_form"),
    )
    assert (await twin.turn(sender, "last month")).texts == (
        "Searching your earnings for last month.",
    )


async def test_a_story_continues_after_a_form_filled_over_several_messages(
    twin: EmbeddedTwin,
) -> None:
    """Rasa's policies read a form's happy path without the answers it took (its
    applied_events): the story's state after the form is the one that started it."""
    sender = str(uuid.uuid4())
    await twin.turn(sender, "how much did I earn")
    await twin.turn(sender, "this week")
    assert await twin.turn(sender, "thanks") == Reply(
        ("Glad I could help with your search.",), ("utter_welcome",)
    )


async def test_an_entity_the_intent_does_not_use_is_not_compared(twin: EmbeddedTwin) -> None:
    sender = str(uuid.uuid4())
    await twin.turn(sender, "show my spending")  # direction: spending, an entity
    await twin.turn(sender, "last month")
    assert (await twin.turn(sender, "thanks")).actions == ("utter_welcome",)


def test_the_entities_each_intent_s_states_keep() -> None:
    """use_entities: [] keeps none; an entity with influence_conversation: false is kept by
    no intent, even one that names it in use_entities (Rasa's used_entities: excluding
    wins), unless the intent names it and its own ignore_entities replaces the default."""
    project = load_project(LEDGER)
    assert used_entities(project)["search_spending"] == frozenset()
    assert used_entities(project)["inform"] == {"direction"}
    project.unfeaturized_entities.add("direction")
    project.intent_entities["inform"] = IntentEntities(use=("direction",))
    project.intent_entities["greet"] = IntentEntities(use=("direction",), ignore=())
    assert used_entities(project)["inform"] == frozenset()
    assert used_entities(project)["search_earnings"] == frozenset()
    assert used_entities(project)["greet"] == {"direction"}


@pytest.mark.parametrize("name", CONVERSATIONS)
async def test_each_turn_is_answered_as_rasa_answers_it(
    name: str, rasa: str, twin: EmbeddedTwin
) -> None:
    await twin.answers_as_rasa(rasa, CONVERSATIONS[name])
