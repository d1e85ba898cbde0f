"""The action server client speaks rasa-sdk's webhook protocol as Rasa does (nlu/action_server.py),
and the embedded engine hands the conversation to a person when the server fails. The
protocol's shapes are checked against httpx's MockTransport; the real rasa-sdk server runs
in tests/nlu/test_dialogue_bank.py."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from nlu.action_server import ActionServer
from nlu.base import Dialogue, Entity, Interpretation, PastTurn
from nlu.conversation import Conversations
from nlu.dialogue import DialoguePolicy
from nlu.project import Project, load_project
from nlu.tracker import AllSlotsReset
from tests.harness import free_port
from tests.nlu.dialogue_twin import PROJECTS

BANK = PROJECTS / "bank"


@pytest.fixture(scope="module")
def bank() -> Project:
    return load_project(BANK)


def conversations(handler: Any) -> Conversations:
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return Conversations({}, ActionServer("http://actions.test/webhook", client))


def message(intent: str, text: str, *entities: Entity) -> Dialogue:
    return Dialogue("c1", Interpretation(text, intent, 0.99, entities=entities), "en")


async def test_a_custom_action_gets_rasa_s_request_and_its_answer_is_applied(
    bank: Project,
) -> None:
    asked: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(json.loads(request.content))
        return httpx.Response(
            200,
            json={
                "events": [{"event": "slot", "name": "amount", "value": "15"}],
                "responses": [{"text": "Your balance is 1250 EUR."}],
            },
        )

    bot = conversations(handler)
    said = await bot.respond(
        bank, DialoguePolicy(bank), message("check_balance", "what is my balance")
    )
    assert [(m.text, m.action) for m in said.messages] == [
        ("Your balance is 1250 EUR.", "action_check_balance")
    ]
    [body] = asked
    assert (body["next_action"], body["sender_id"]) == ("action_check_balance", "c1")
    tracker = body["tracker"]
    assert tracker["latest_message"]["intent"]["name"] == "check_balance"
    assert tracker["latest_message"]["text"] == "what is my balance"
    assert [e["event"] for e in tracker["events"]] == ["action", "user"]
    assert tracker["active_loop"] == {}
    assert body["domain"]["forms"]["transfer_form"]["required_slots"] == [
        "recipient",
        "amount",
        "confirmed",
    ]
    # The slot the action set is the tracker's now.
    assert ("amount", "15") in [
        (getattr(e, "name", None), getattr(e, "value", None)) for e in bot.events("c1")
    ]


async def test_an_actions_followup_runs_next(bank: Project) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            json={
                "events": [{"event": "followup", "name": "utter_goodbye"}],
                "responses": [{"text": "Your balance is 1250 EUR."}],
            },
        )

    bot = conversations(handler)
    said = await bot.respond(
        bank, DialoguePolicy(bank), message("check_balance", "what is my balance")
    )
    # As Rasa's processor: the follow-up is the next action, whatever a rule would predict.
    assert [m.action for m in said.messages] == ["action_check_balance", "utter_goodbye"]


async def test_an_actions_reset_slots_clears_every_slot(bank: Project) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        events = [{"event": "slot", "name": "amount", "value": "15"}, {"event": "reset_slots"}]
        return httpx.Response(200, json={"events": events, "responses": []})

    bot = conversations(handler)
    await bot.respond(bank, DialoguePolicy(bank), message("check_balance", "what is my balance"))
    assert any(isinstance(e, AllSlotsReset) for e in bot.events("c1"))
    assert bot.slots("c1")["amount"] is None  # set, then reset with the rest


async def test_a_form_validation_sees_the_candidates_last_and_may_refuse_them(
    bank: Project,
) -> None:
    """rasa-sdk's FormValidationAction reads the slots to validate from the trailing slot
    events of the tracker, as Rasa's FormAction sends them."""
    seen: list[list[dict[str, Any]]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        events = json.loads(request.content)["tracker"]["events"]
        seen.append(events)
        return httpx.Response(
            200,
            json={
                "events": [{"event": "slot", "name": "amount", "value": None}],
                "responses": [{"text": "Too much."}],
            },
        )

    bot = conversations(handler)
    amount = Entity("amount", "5000", 5, 9, "5000", "RegexEntityExtractor")
    said = await bot.respond(
        bank, DialoguePolicy(bank), message("transfer_money", "send 5000 to tom", amount)
    )
    assert [m.text for m in said.messages] == ["Too much.", "Who should I send the money to?"]
    assert seen[0][-1] == {
        "event": "slot",
        "name": "amount",
        "value": "5000",
        "timestamp": seen[0][-1]["timestamp"],
    }


async def test_an_unreachable_action_server_hands_the_conversation_to_a_person(
    bank: Project,
) -> None:
    server = ActionServer(f"http://127.0.0.1:{free_port()}/webhook")
    bot = Conversations({}, server)
    said = await bot.respond(
        bank, DialoguePolicy(bank), message("check_balance", "what is my balance")
    )
    await server.close()
    assert said.handoff == "bot_requested"
    assert (said.error or "").startswith("action_check_balance: ConnectError")


async def test_without_an_action_server_a_custom_action_goes_to_a_person(bank: Project) -> None:
    said = await Conversations({}).respond(
        bank, DialoguePolicy(bank), message("check_balance", "what is my balance")
    )
    assert (said.handoff, said.error) == ("bot_requested", "no action action_check_balance")


async def test_a_validation_that_rejects_makes_the_form_decline(bank: Project) -> None:
    """A 400 from validate_<form> (rasa-sdk's ActionExecutionRejection) means the form does
    not run: the rules decide what follows (here: the balance question mid-form)."""
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        action = body["next_action"]
        calls.append(action)
        if action == "validate_transfer_form":
            # Rejects the balance question as an answer (once: the form's return after it
            # validates nothing and goes on).
            if body["tracker"]["latest_message"]["intent"]["name"] != "check_balance" or (
                "action_check_balance" in calls
            ):
                return httpx.Response(200, json={"events": [], "responses": []})
            return httpx.Response(400, json={"action_name": action, "error": "no"})
        return httpx.Response(200, json={"events": [], "responses": [{"text": "1250 EUR."}]})

    bot = conversations(handler)
    policy = DialoguePolicy(bank)
    started = await bot.respond(bank, policy, message("transfer_money", "send money"))
    assert [m.text for m in started.messages] == ["Who should I send the money to?"]
    anna = Entity("recipient", "anna", 0, 4, "anna", "RegexEntityExtractor")
    history = (
        PastTurn("transfer_money"),
        PastTurn(action="transfer_form"),
    )
    declined = await bot.respond(
        bank,
        policy,
        Dialogue(
            "c1", Interpretation("anna", "check_balance", 0.99, entities=(anna,)), "en", history
        ),
    )
    # As Rasa 3.6: validated as the form starts, though nothing is filled (twice: the start
    # returned nothing, so its first run validates the message again), then mid-form.
    # The form comes back after the balance: validated with nothing to validate, as Rasa.
    assert calls == ["validate_transfer_form"] * 3 + ["action_check_balance"] + [
        "validate_transfer_form"
    ]
    assert [(m.text, m.action) for m in declined.messages] == [
        ("1250 EUR.", "action_check_balance"),
        # The slot the message filled stays filled (as in Rasa): the form asks the next.
        ("How much should I send to anna?", "transfer_form"),
    ]
