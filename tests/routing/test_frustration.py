"""Repeated contact, frustration and involved first messages; and the frustration detector
measured against VADER alone on the labelled set (data/handoff.yml)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from nlu.sentiment import shared
from routing import frustration
from routing.frustration import Course

LABELLED = yaml.safe_load((Path(__file__).parent / "data" / "handoff.yml").read_text())


@pytest.mark.parametrize(
    "text",
    [
        "This is the third time I'm contacting you",
        "I've already written twice about my refund",
        "again, for the 5th time, where is my replacement?",
        "C'est la troisième fois que je vous contacte",
        "je vous ai déjà envoyé les photos trois fois",
        "toujours aucune réponse après mes mails",
        "nobody got back to me",
    ],
)
def test_repeated_contact_in_the_customer_s_words(text: str) -> None:
    found = frustration.repeated_contact(text)
    assert found is not None
    assert found.category == frustration.REPEATED_CONTACT


def test_repeated_contact_from_the_customer_s_history() -> None:
    assert frustration.repeated_contact("where is my order?", earlier_conversations=1) is None
    found = frustration.repeated_contact("where is my order?", earlier_conversations=2)
    assert found is not None
    assert found.evidence == "2 earlier conversations this week"


@pytest.mark.parametrize(
    "text",
    [
        "I've done that five times already... I'm fed up",
        "honestly I give up",
        "I'm losing patience",
        "j'en ai marre",
        "je suis à bout",
        "trop c'est trop",
    ],
)
def test_frustration_said_outright_without_swear_words(text: str) -> None:
    found = frustration.frustration(text, 0.0, Course())
    assert found is not None
    assert found.category == frustration.FRUSTRATION


def test_frustration_that_grows_over_the_conversation() -> None:
    # Each message alone is calm; together they show a customer going round in circles.
    course = Course(("where is my order?", "it still says the same thing"), (0.0, 0.0))
    latest = "why is it still not here, it's been two weeks"
    assert frustration.frustration(latest, 0.0, Course()) is None
    found = frustration.frustration(latest, 0.0, course)
    assert found is not None
    assert found.evidence.endswith("over 3 messages")
    # A happy customer saying "still" is not losing patience.
    assert frustration.frustration(latest, 0.6, course) is None


@pytest.mark.parametrize(
    ("text", "sentiment", "involved"),
    [
        ("lorem ipsum dolor sit amet", 0.0, False),
        ("flibber wabble dronk", 0.0, False),
        (" ".join(["word"] * 30), 0.0, True),  # long
        ("this is awful and I am devastated, I cannot believe it happened", -0.8, True),
        ("the wrong size came", -0.56, False),  # one word's sentiment on a short message
        ("hello?? anyone?? nothing works!!", 0.0, True),  # insistent
        (
            "The lamp arrived broken. Also the invoice has the wrong name on it.",
            0.0,
            True,  # several things at once
        ),
    ],
)
def test_an_involved_first_message(text: str, sentiment: float, involved: bool) -> None:
    assert (frustration.complex_message(text, sentiment) is not None) is involved


def _rates(language: str, part: str, said: Callable[[str], bool]) -> tuple[float, float]:
    data = LABELLED[part]
    weary = data["frustration"][language] + data["repeated_contact"][language]
    routine = data["routine"][language]
    recall = sum(map(said, weary)) / len(weary)
    false = sum(map(said, routine)) / len(routine)
    return recall, false


@pytest.mark.parametrize("language", ["en", "fr"])
@pytest.mark.parametrize("part", ["tuning", "held_out"])
def test_the_detector_finds_frustration_vader_does_not(language: str, part: str) -> None:
    """Frustrated and repeat customers (positives) against routine messages (negatives).
    Measured on the tuning part (20 positives and 70 negatives per language): VADER at the
    decision's threshold (-0.6) found 0 % (en) and 5 % (fr) of them; even at -0.05 it found
    20 % and 55 % while flagging 10 % and 19 % of routine messages. The detector: 100 % and
    0 %, the same on the held-out part (6 and 25 per language)."""
    sentiment = shared()

    def vader(text: str) -> bool:
        return sentiment.score(text, language) <= -0.6

    def detector(text: str) -> bool:
        score = sentiment.score(text, language)
        found = frustration.frustration(text, score, Course())
        return found is not None or frustration.repeated_contact(text) is not None

    vader_recall, _ = _rates(language, part, vader)
    recall, false = _rates(language, part, detector)
    assert vader_recall <= 0.1
    assert recall >= 0.9
    assert false <= 0.05
