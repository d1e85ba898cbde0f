"""A bank bot with two forms (from_entity, from_intent and from_text mappings, the
utter_ask_<slot> questions, a validate_<form> action, an unhappy path, a general rule inside
a form) and custom actions on a rasa-sdk action server: the embedded engine, calling the
same action server, answers each message as a real Rasa 3.6.21 does, turn by turn."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import pytest

from nlu.tracker import SlotSet
from tests.nlu.dialogue_twin import (
    PROJECTS,
    EmbeddedTwin,
    Reply,
    action_server,
    rasa_server,
)

BANK = PROJECTS / "bank"

CONVERSATIONS = {
    "a transfer with recipient and amount given at once": [
        "send 50 euros to tom",
        "yes",
        "bye",
    ],
    "a transfer asked slot by slot, an amount over the limit, cancelled": [
        "I want to send money",
        "anna",
        "2000",
        "120",
        "no",
    ],
    "the balance asked in the middle of a transfer (an unhappy path rule)": [
        "transfer money",
        "what is my balance",
        "lea",
        "20",
        "yes",
    ],
    "blocking a card: a choice, then free text": [
        "I lost my card",
        "debit",
        "someone took my wallet on the train",
    ],
    "a greeting inside a form, then back to the form": [
        "block my card",
        "hello",
        "credit",
        "lost it",
    ],
}


@pytest.fixture(scope="module")
def actions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with action_server(BANK, tmp_path_factory.mktemp("bank-actions")) as url:
        yield url


@pytest.fixture(scope="module")
def rasa(tmp_path_factory: pytest.TempPathFactory, actions: str) -> Iterator[str]:
    with rasa_server(BANK, tmp_path_factory.mktemp("rasa-bank"), actions) as url:
        yield url


@pytest.fixture
async def twin(
    tmp_path_factory: pytest.TempPathFactory, actions: str
) -> AsyncIterator[EmbeddedTwin]:
    twin = EmbeddedTwin(BANK, tmp_path_factory.getbasetemp() / "bank-cache", actions)
    yield twin
    await twin.engine.close()


async def test_a_form_asks_validates_and_submits_through_the_action_server(
    twin: EmbeddedTwin,
) -> None:
    sender = str(uuid.uuid4())
    assert await twin.turn(sender, "I want to send money") == Reply(
        ("Who should I send the money to?",), ("transfer_form",)
    )
    asked = await twin.turn(sender, "anna")
    assert asked.texts == ("How much should I send to anna?",)
    refused = await twin.turn(sender, "5000")  # validate_transfer_form says no
    assert refused.texts == (
        "You can send at most 1000 EUR at once.",
        "How much should I send to anna?",
    )
    await twin.turn(sender, "100")
    assert await twin.turn(sender, "yes") == Reply(
        ("Done: 100 EUR sent to anna.",), ("transfer_form", "action_transfer")
    )


@pytest.mark.parametrize("name", CONVERSATIONS)
async def test_each_turn_is_answered_as_rasa_answers_it(
    name: str, rasa: str, twin: EmbeddedTwin
) -> None:
    await twin.answers_as_rasa(rasa, CONVERSATIONS[name])


async def test_a_form_is_replayed_from_the_stored_history(twin: EmbeddedTwin) -> None:
    """After a restart (no tracker kept) the form's state comes back from the stored
    messages: the slots it filled and the slot it asked for (the free text answers it)."""
    sender = str(uuid.uuid4())
    await twin.turn(sender, "block my card")
    await twin.turn(sender, "debit")
    twin.engine.conversations.forget(sender)
    assert await twin.turn(sender, "someone took my wallet on the train") == Reply(
        ("Your debit card is blocked.",), ("block_card_form", "utter_card_blocked")
    )
    events = twin.engine.conversations.events(sender)
    assert SlotSet("reason", "someone took my wallet on the train") in events
