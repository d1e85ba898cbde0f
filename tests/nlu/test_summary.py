"""The extractive handoff summary: what the customer wants, what the bot tried, why it
stopped, and the key facts with the messages they came from, in English and French."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from nlu.base import Entity
from nlu.summary import Transcript, Turn, summarize

T0 = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def order_entity(text: str, number: str) -> tuple[Entity, ...]:
    start = text.index(number)
    return (Entity("order_number", number, start, start + len(number), number, "regex"),)


def english() -> Transcript:
    first = "hi, where is my parcel 10234? I paid $59.99 on December 1"
    return Transcript(
        turns=(
            Turn(1, 1, "customer", "hello", at(0), "greet", 0.98),
            Turn(2, 2, "bot", "Hi! How can I help?", at(0), action="utter_greet"),
            Turn(
                3, 3, "customer", first, at(1), "order_status", 0.91, order_entity(first, "10234")
            ),
            Turn(
                4,
                4,
                "bot",
                "Order 10234 is on its way with DHL.",
                at(1),
                action="action_check_order_status",
            ),
            Turn(
                5,
                5,
                "customer",
                "that is not true, I want a person, write me at sam@example.com",
                at(2),
                "request_human",
                0.88,
                sentiment=-0.7,
            ),
            Turn(6, 6, "system", "An agent will reply shortly.", at(2)),
        ),
        language="en",
        handoff_reason="requested_human",
        handoff_at=at(2),
    )


def test_an_english_handoff_says_what_the_customer_wants_what_the_bot_tried_and_why() -> None:
    summary = summarize(english())
    assert summary.wants == (
        "The customer wants to know where their order is: "
        "“hi, where is my parcel 10234? I paid $59.99 on December 1”."
    )
    assert summary.tried == (
        "The bot answered 2 times (greet, check order status); its last answer: "
        "“Order 10234 is on its way with DHL.”"
    )
    assert summary.stopped == (
        "It handed over because the customer asked for a person, on "
        "“that is not true, I want a person, write me at sam@example.com”."
    )
    assert summary.request_seq == 3
    assert summary.trigger_seq == 5
    assert "The customer sounds upset." in summary.text
    assert summary.text.endswith("Key facts: order 10234, 59.99 USD, 2026-12-01, sam@example.com.")


def test_each_fact_links_to_the_first_message_that_gave_it() -> None:
    facts = summarize(english()).facts
    assert [(f["kind"], f["value"], f["seq"], f["message_id"]) for f in facts] == [
        ("order", "10234", 3, 3),
        ("amount", "59.99 USD", 3, 3),
        ("date", "2026-12-01", 3, 3),
        ("email", "sam@example.com", 5, 5),
    ]
    assert facts[1]["text"] == "$59.99"


def test_a_french_conversation_is_summarised_with_its_words_quoted() -> None:
    text = "Bonjour, ma commande 88812 de 49,90 € est arrivée cassée hier"
    transcript = Transcript(
        turns=(
            Turn(
                10,
                1,
                "customer",
                text,
                at(0),
                "damaged_item",
                0.8,
                order_entity(text, "88812"),
            ),
            Turn(
                11, 2, "bot", "Désolé ! Je vous passe un conseiller.", at(0), action="utter_damaged"
            ),
        ),
        language="fr",
        handoff_reason="intent_needs_human",
        handoff_at=at(0),
    )
    summary = summarize(transcript)
    assert summary.wants == f"The customer wants help with a damaged item (in French): “{text}”."
    assert summary.stopped == "It handed over because this kind of request needs a person."
    assert [(f["kind"], f["value"]) for f in summary.facts] == [
        ("order", "88812"),
        ("amount", "49.90 EUR"),
        ("date", "2026-12-02"),
    ]


def test_without_a_bot_or_an_understood_intent_the_longest_message_says_what_they_want() -> None:
    transcript = Transcript(
        turns=(
            Turn(1, 1, "customer", "hello??", at(0)),
            Turn(2, 2, "customer", "my refund for the blue jacket never arrived", at(1)),
            Turn(3, 3, "customer", "hi", at(2)),
        ),
        handoff_reason="no_bot",
        handoff_at=at(0),
    )
    summary = summarize(transcript)
    # The handoff came with the first message; the request is read from all of them.
    assert summary.wants == "The customer wrote: “my refund for the blue jacket never arrived”."
    assert summary.tried == "The bot did not answer."
    assert summary.stopped == "It handed over because no bot answers this inbox, on “hello??”"
    assert summary.facts == ()
    typed = Transcript(turns=(Turn(1, 1, "customer", "livrée aujourd\u2019hui ?", at(0)),))
    assert [f["value"] for f in summarize(typed).facts] == ["2026-12-03"]


def test_a_long_message_is_quoted_cut_at_a_word() -> None:
    long = "word " * 100
    summary = summarize(Transcript(turns=(Turn(1, 1, "customer", long),)))
    assert summary.wants.endswith("word…”.")
    assert len(summary.wants) < 200
    assert summary.stopped == "The bot has not handed over."


def test_an_empty_conversation_says_so() -> None:
    summary = summarize(Transcript(turns=()))
    assert summary.to_json()["text"].startswith("The customer has not written anything yet.")
