"""What the chat model is asked for a handoff summary and drafts, and how its answer is read:
only the JSON object asked for is taken."""

from __future__ import annotations

import json

import pytest

from nlu.abstract import MAX_PROMPT_CHARS, prompt, read_answer
from nlu.llm import LlmUnavailable
from nlu.summary import Transcript, Turn


def test_the_prompt_carries_the_transcript_the_reason_and_the_customers_language() -> None:
    transcript = Transcript(
        turns=(
            Turn(1, 1, "customer", "ma commande 88812 est en retard"),
            Turn(2, 2, "bot", "Je vous passe un conseiller."),
        ),
        language="fr",
        handoff_reason="requested_human",
    )
    system, user = prompt(transcript)
    assert system["role"] == "system"
    assert "in French" in system["content"]
    assert user["content"] == (
        "The conversation:\n[1] Customer: ma commande 88812 est en retard\n"
        "[2] Bot: Je vous passe un conseiller.\n\n"
        "The bot handed over because the customer asked for a person."
    )


def test_a_long_conversation_keeps_its_first_and_latest_messages_within_the_budget() -> None:
    turns = tuple(Turn(n, n, "customer", f"message {n} " + "x" * 500) for n in range(1, 200))
    _, user = prompt(Transcript(turns=turns))
    assert len(user["content"]) < MAX_PROMPT_CHARS + 200
    assert "[1] Customer: message 1 " in user["content"]
    assert "[199] Customer: message 199 " in user["content"]
    assert "[…]" in user["content"]
    assert "[100] Customer" not in user["content"]


def test_the_answer_is_read_even_in_a_code_fence_and_drafts_are_bounded() -> None:
    answer = {"summary": " Wants order 10234. ", "drafts": ["a", "", 3, "b", "c", "d"]}
    read = read_answer("```json\n" + json.dumps(answer) + "\n```")
    assert read.summary == "Wants order 10234."
    assert read.drafts == ("a", "b", "c")
    assert read_answer(json.dumps({"summary": "s"})).drafts == ()


@pytest.mark.parametrize(
    "content",
    [
        "Sure! The customer wants their parcel.",
        '{"summary": "cut in the mid',
        '["summary"]',
        '{"summary": ""}',
        '{"drafts": ["hi"]}',
        '{"summary": 42}',
    ],
)
def test_an_answer_that_is_not_the_json_asked_for_is_refused(content: str) -> None:
    with pytest.raises(LlmUnavailable):
        read_answer(content)
