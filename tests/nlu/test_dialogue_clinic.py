"""A clinic's booking bot (tests/nlu/projects/clinic) whose form validation extracts its day
from the message's words (a rasa-sdk FormValidationAction, which Rasa calls as the form
starts even when nothing is filled), whose email slot Rasa's global slot validation checks
after each message (action_validate_slot_mappings), as it checks the phone number whenever
a message sets it (the same number again too), whose member number a custom slot mapping's
action fills (and then fills a response's buttons, image and custom payload), whose
responses have variations (chosen at random, by slot conditions and by channel) and whose
sessions expire. The embedded engine answers each message as a real Rasa 3.6.21 does, turn
by turn."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace

import pytest

from nlu.base import BotTurn, Dialogue, Entity, Interpretation, PastTurn
from nlu.conversation import Conversations
from nlu.dialogue import DialoguePolicy
from nlu.project import load_project
from nlu.support import still_unsupported
from tests.nlu.dialogue_twin import (
    PROJECTS,
    SESSION_EXPIRES,
    EmbeddedTwin,
    action_server,
    rasa_server,
)

CLINIC = PROJECTS / "clinic"

CONVERSATIONS = {
    "the form's validation takes the day from the message that starts it": [
        "book an appointment for tomorrow",
        "Smith",
    ],
    "the validation refuses a day, then the form asks for it again": [
        "book an appointment",
        "sunday",
        "friday",
        "Dr Jones",
    ],
    "a booking for today says its conditional variation": [
        "I want to see a doctor today",
        "with Patel",
    ],
    "the global validation rewrites an address": ["hi", "my email is ADA@Example.org"],
    "the global validation refuses an address": ["write to bob@mail.invalid"],
    "a custom mapping's action fills the member number": [
        "hello",
        "my member number is M-1234",
        "hello",
    ],
    "no member number": ["membership please"],
    "the member's buttons, image and card are filled from the slots": [
        "my member number is M-1234",
    ],
    "the channel's own variation": ["bye"],
    "after the session expires, the conversation starts again with its slots": [
        "hello",
        "member M-5678",
        SESSION_EXPIRES,
        "hello",
    ],
    "a form left open when the session expires is not resumed": [
        "book an appointment",
        SESSION_EXPIRES,
        "thanks",
    ],
    "a number asked for without one: the slot's placeholder says None": ["/give_phone"],
    "an intent fills a list slot with a list of its value": ["/want_reminders"],
    "a number given again is set and checked again": [
        "my phone is 0612345678",
        "my phone is 0612345678",
    ],
    "a second booking with the same doctor": [
        "book an appointment",
        "friday",
        "Dr Jones",
        "book an appointment with Jones",
    ],
    "after /restart the conversation starts again without its slots": [
        "hello",
        "member M-5678",
        "/restart",
        "hello",
    ],
}


@pytest.fixture(scope="module")
def actions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with action_server(CLINIC, tmp_path_factory.mktemp("clinic-actions")) as url:
        yield url


@pytest.fixture(scope="module")
def rasa(tmp_path_factory: pytest.TempPathFactory, actions: str) -> Iterator[str]:
    with rasa_server(CLINIC, tmp_path_factory.mktemp("rasa-clinic"), actions) as url:
        yield url


@pytest.fixture
async def twin(
    tmp_path_factory: pytest.TempPathFactory, actions: str
) -> AsyncIterator[EmbeddedTwin]:
    twin = EmbeddedTwin(CLINIC, tmp_path_factory.getbasetemp() / "clinic-cache", actions)
    yield twin
    await twin.engine.close()


def test_what_only_an_action_server_runs_is_named_without_one() -> None:
    project = load_project(CLINIC)
    named = [(n.path, n.line, n.feature) for n in project.unsupported]
    assert named == [
        ("domain.yml", 57, "slot member_id: custom mapping action action_extract_member_id"),
        ("domain.yml", 63, "slot identified: custom mapping action action_extract_member_id"),
        ("domain.yml", 78, "custom action_validate_slot_mappings"),
    ]
    assert still_unsupported(project, duckling=False, action_server=True) == []


async def test_the_form_s_validation_runs_as_it_starts(twin: EmbeddedTwin) -> None:
    """Nothing the domain maps is in the message, but the validation's extract_day finds
    the day: the form asks for the doctor."""
    sender = str(uuid.uuid4())
    reply = await twin.turn(sender, "book an appointment for tomorrow")
    assert reply.texts == ("Which doctor would you like to see: Smith, Jones or Patel?",)
    assert twin.engine.conversations.slots(sender)["day"] == "tomorrow"


async def test_the_global_validation_and_the_mapping_s_action_run(twin: EmbeddedTwin) -> None:
    sender = str(uuid.uuid4())
    assert (await twin.turn(sender, "my email is ADA@Example.org")).texts == (
        "I will write to ada@example.org.",
    )
    assert (await twin.turn(sender, "write to bob@mail.invalid")).texts == (
        "That address does not look right.",
        "I still need an address I can write to.",
    )
    assert (await twin.turn(sender, "my member number is M-1234")).texts == (
        "Thanks, member M-1234.",
    )


async def test_a_response_s_buttons_image_and_custom_payload_are_filled(
    twin: EmbeddedTwin,
) -> None:
    reply = await twin.turn(str(uuid.uuid4()), "my member number is M-1234")
    assert [json.loads(extra) for extra in reply.extras] == [
        [
            "buttons",
            [
                ["Book as M-1234", "book an appointment for member M-1234"],
                ["Not M-1234?", "/greet"],
            ],
        ],
        [
            "custom",
            {
                "card": {
                    "member": "M-1234",
                    "links": ["https://clinic.example/members/M-1234", "{unknown} stays"],
                    "visits": 2,
                }
            },
        ],
        ["image", "https://clinic.example/cards/M-1234.png"],
    ]


async def test_conditions_and_the_channel_choose_among_variations(twin: EmbeddedTwin) -> None:
    sender = str(uuid.uuid4())
    await twin.turn(sender, "I want to see a doctor today")
    assert (await twin.turn(sender, "with Patel")).texts == (
        "Booked: Dr Patel today. Please come in an hour early.",
    )
    assert (await twin.turn(sender, "bye")).texts == ("Goodbye from the clinic's website.",)


async def test_an_expired_session_starts_again_with_its_slots(twin: EmbeddedTwin) -> None:
    sender = str(uuid.uuid4())
    await twin.turn(sender, "hello")
    await twin.turn(sender, "member M-5678")
    twin.expire()
    assert (await twin.turn(sender, "hello")).texts == (
        "Welcome back, member M-5678! Shall I book an appointment?",
    )


async def test_without_carrying_slots_over_a_new_session_starts_from_the_domain_s() -> None:
    project = load_project(CLINIC)
    project.domain["session_config"] = {
        "session_expiration_time": 2,
        "carry_over_slots_to_new_session": False,
    }
    now = [1000.0]
    bot = Conversations({}, clock=lambda: now[0])
    policy = DialoguePolicy(project)
    email = Entity("email", "ada@example.org", 12, 27, "ada@example.org", "regex")

    history: list[PastTurn] = []

    async def said(intent: str, text: str, *entities: Entity) -> BotTurn:
        message = Interpretation(text, intent, 0.99, entities=entities)
        turn = await bot.respond(project, policy, Dialogue("c1", message, "en", tuple(history)))
        history.append(PastTurn(intent, entities, text=text, slots=turn.slots, events=turn.events))
        history.extend(PastTurn(action=m.action) for m in turn.messages)
        return turn

    await said("give_email", "my email is ada@example.org", email)
    now[0] += 61
    await said("thank", "thanks")
    assert bot.slots("c1")["email"] == "ada@example.org"  # within two minutes: the same session
    now[0] += 121
    turn = await said("greet", "hello")
    assert bot.slots("c1")["email"] is None
    # The new session's first message: the conversation_start rule.
    assert [m.text for m in turn.messages] == [
        "Welcome to the clinic! I can book you an appointment."
    ]


async def test_a_tracker_rebuilt_from_the_history_expires_from_its_latest_message() -> None:
    """After a restart, or on another node, the stored history says when the customer last
    wrote: two hours later, the session has expired (the conversation_start rule answers)."""
    project = load_project(CLINIC)
    policy = DialoguePolicy(project)
    now = 10_000.0
    greeted = (PastTurn("greet", text="hello", at=now - 7200), PastTurn(action="utter_welcome"))
    hello = Interpretation("hello", "greet", 0.99)
    for at, expected in ((now - 7200, "utter_welcome"), (now - 60, "utter_greet")):
        history = (replace(greeted[0], at=at), greeted[1])
        bot = Conversations({}, clock=lambda: now)
        turn = await bot.respond(project, policy, Dialogue("c1", hello, "en", history))
        assert [m.action for m in turn.messages] == [expected]


async def test_variations_are_chosen_at_random_and_a_seed_repeats_them() -> None:
    project = load_project(CLINIC)
    policy = DialoguePolicy(project)

    async def greetings(seed: int) -> list[str]:
        bot = Conversations({}, rng=random.Random(seed))
        texts = []
        for n in range(30):
            message = Interpretation("hello", "greet", 0.99)
            # A second greeting: the conversation has started, utter_greet answers.
            await bot.respond(project, policy, Dialogue(f"c{n}", message, "en"))
            history = (PastTurn("greet", text="hello"), PastTurn(action="utter_welcome"))
            turn = await bot.respond(
                project, policy, Dialogue(f"c{n}", message, "en", history, channel="collector")
            )
            texts += [m.text or "" for m in turn.messages]
        return texts

    first = await greetings(7)
    assert set(first) == {v.text for v in project.responses["utter_greet"]}
    assert await greetings(7) == first


@pytest.mark.parametrize("name", CONVERSATIONS)
async def test_each_turn_is_answered_as_rasa_answers_it(
    name: str, rasa: str, twin: EmbeddedTwin
) -> None:
    await twin.answers_as_rasa(rasa, CONVERSATIONS[name])
