"""A conversation's tracker rebuilt from the stored history (nlu/history.py): after a
restart or on another node the dialogue continues where it was."""

from __future__ import annotations

from typing import Any

from nlu import journal
from nlu.base import Entity, PastTurn
from nlu.dialogue import DialoguePolicy
from nlu.history import rebuild
from nlu.project import load_project
from nlu.tracker import (
    ACTION_LISTEN,
    ActionExecuted,
    Event,
    SlotSet,
    UserUtteranceReverted,
    UserUttered,
)
from tests.nlu.dialogue_twin import PROJECTS


async def test_a_form_and_its_free_text_slot_are_replayed() -> None:
    project = load_project(PROJECTS / "bank")
    debit = Entity("card_kind", "debit", 0, 5, "debit", "RegexEntityExtractor")
    history = (
        PastTurn("block_card", text="block my card"),
        PastTurn(action="block_card_form"),
        PastTurn("inform", (debit,), text="debit"),
        PastTurn(action="block_card_form"),
        PastTurn("inform", text="it was stolen on the bus"),
    )
    tracker = await rebuild(project, DialoguePolicy(project), history)
    assert tracker.active_loop == "block_card_form"
    assert tracker.slots["card_kind"] == "debit"
    # The form had asked for the reason: the stored text fills it (from_text).
    assert tracker.slots["reason"] == "it was stolen on the bus"


async def test_a_message_the_bot_did_not_understand_is_forgotten_again() -> None:
    project = load_project(PROJECTS / "faq")
    history = (
        PastTurn("greet", text="hello"),
        PastTurn(action="utter_greet"),
        PastTurn("nlu_fallback", text="zzz"),
        PastTurn(action="action_default_fallback"),
    )
    tracker = await rebuild(project, DialoguePolicy(project), history)
    assert tracker.latest_message is not None
    assert tracker.latest_message.intent == "greet"
    assert tracker.latest_action == "utter_greet"


async def test_the_slots_a_turn_ended_with_are_set_again() -> None:
    """A custom action's slot cannot be replayed from the messages: the pipeline keeps the
    slots each turn ended with (BotTurn.slots), and the rebuilt tracker has them."""
    project = load_project(PROJECTS / "bank")
    history = (
        PastTurn("check_balance", text="what is my balance", slots=(("amount", "15"),)),
        PastTurn(action="action_check_balance"),
    )
    tracker = await rebuild(project, DialoguePolicy(project), history)
    assert tracker.slots["amount"] == "15"
    assert tracker.latest_action == "action_check_balance"


def _record(*events: Event) -> tuple[dict[str, Any], ...]:
    return journal.record(events, None)


async def test_a_recorded_turn_is_replayed_as_it_applied_its_events() -> None:
    """A turn's record (nlu.journal, kept with the message) says what a custom action took
    back, which the intents and actions alone do not: the rewound message is gone again."""
    project = load_project(PROJECTS / "pizza")
    history = (
        PastTurn(
            "maybe",
            text="maybe a large one",
            events=_record(
                ActionExecuted(ACTION_LISTEN),
                UserUttered("maybe", (), "maybe a large one"),
                SlotSet("size", "large"),
                ActionExecuted("action_not_sure"),
                UserUtteranceReverted(),
                ActionExecuted(ACTION_LISTEN),
            ),
        ),
        PastTurn(action="action_not_sure"),
    )
    tracker = await rebuild(project, DialoguePolicy(project), history)
    assert tracker.latest_message is None
    assert tracker.slots["size"] is None
    assert tracker.events == [ActionExecuted(ACTION_LISTEN)]
    assert UserUtteranceReverted() in tracker.log


async def test_a_recorded_window_keeps_the_slots_set_before_it() -> None:
    """The stored history is a window: a slot set before it comes back from the slots the
    first recorded turn in it ended with."""
    project = load_project(PROJECTS / "pizza")
    history = (
        PastTurn(
            "show_order",
            text="what is my order",
            slots=(("size", "large"),),
            events=_record(
                ActionExecuted(ACTION_LISTEN),
                UserUttered("show_order", (), "what is my order"),
                ActionExecuted("action_show_order"),
                ActionExecuted(ACTION_LISTEN),
            ),
        ),
        PastTurn(action="action_show_order"),
    )
    tracker = await rebuild(project, DialoguePolicy(project), history)
    assert tracker.slots["size"] == "large"
    assert tracker.latest_action == ACTION_LISTEN


async def test_what_the_session_start_said_is_not_replayed_as_an_action() -> None:
    """The project's own action_session_start speaks before the first message (and after a
    restart); Rasa's applied events start after it, so the policies never see it. Its
    slots come back with the turn's."""
    project = load_project(PROJECTS / "ledger")
    history = (
        PastTurn("greet", text="hello", slots=(("customer", "Ada"),)),
        PastTurn(action="action_session_start"),
        PastTurn(action="utter_greet"),
    )
    tracker = await rebuild(project, DialoguePolicy(project), history)
    assert [e.name for e in tracker.events if isinstance(e, ActionExecuted)] == [
        ACTION_LISTEN,
        "utter_greet",
    ]
    assert tracker.slots["customer"] == "Ada"
