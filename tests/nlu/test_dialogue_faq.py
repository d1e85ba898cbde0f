"""An FAQ bot with retrieval intents (faq/…, chitchat/…) and Rasa's ResponseSelector: the
embedded engine answers each message as a real Rasa 3.6.21 does, turn by turn."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from nlu.rasa import interpretation_from_parse
from tests.nlu.dialogue_twin import PROJECTS, EmbeddedTwin, Reply, rasa_server

FAQ = PROJECTS / "faq"

CONVERSATIONS = {
    "a question, thanks, small talk, goodbye": [
        "hello",
        "when are you open",
        "thanks",
        "what is your name",
        "bye",
    ],
    "small talk then thanks (a story)": ["what is your name", "thanks", "goodbye"],
    "two questions in a row": ["how long does delivery take", "can I get a refund", "thank you"],
    # The greeting's turn is a rule's that no story goes through: the stories' memoisation
    # does not see it, so the story that starts with thanks still applies.
    "a greeting, then thanks (a story after a rule's turn)": ["hello", "thanks"],
}


@pytest.fixture(scope="module")
def rasa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with rasa_server(FAQ, tmp_path_factory.mktemp("rasa-faq")) as url:
        yield url


@pytest.fixture(scope="module")
def twin(tmp_path_factory: pytest.TempPathFactory) -> EmbeddedTwin:
    return EmbeddedTwin(FAQ, tmp_path_factory.mktemp("faq-cache"))


async def test_the_sub_intent_picks_the_retrieval_response(twin: EmbeddedTwin) -> None:
    sender = str(uuid.uuid4())
    assert await twin.turn(sender, "when are you open") == Reply(
        (
            "We are open from 9am to 6pm, Monday to Saturday.",
            "Is there anything else I can help with?",
        ),
        ("utter_faq", "utter_anything_else"),
    )
    chitchat = await twin.turn(sender, "is it raining")
    assert chitchat.texts == ("I can't see outside, but I hope it's sunny where you are.",)


async def test_a_retrieval_intent_is_reported_as_rasa_reports_it(
    rasa: str, twin: EmbeddedTwin
) -> None:
    text = "when are you open"
    async with httpx.AsyncClient() as client:
        answer = await client.post(f"{rasa}/model/parse", json={"text": text})
    parsed = answer.json()
    name = parsed["intent"]["name"]
    key = parsed["response_selector"]["default"]["response"]["intent_response_key"]
    assert (name, key) == ("faq", "faq/opening_hours")
    adapted = interpretation_from_parse(text, parsed)
    assert (adapted.intent, adapted.retrieval_intent) == (name, key)
    ours = await twin.engine.parse(text)
    assert (ours.intent, ours.retrieval_intent) == (name, key)
    assert ours.to_json()["retrieval_intent"] == key


@pytest.mark.parametrize("name", CONVERSATIONS)
async def test_each_turn_is_answered_as_rasa_answers_it(
    name: str, rasa: str, twin: EmbeddedTwin
) -> None:
    await twin.answers_as_rasa(rasa, CONVERSATIONS[name])


def test_the_project_has_no_unsupported_feature(twin: EmbeddedTwin) -> None:
    assert twin.engine.state()["unsupported"] == []
