"""Key facts in a message's text, in English and French, normalised."""

from __future__ import annotations

from datetime import date

from nlu.base import Entity
from nlu.facts import facts_in


def kinds_and_values(text: str, written: date | None = None) -> list[tuple[str, str]]:
    return [(f.kind, f.value) for f in facts_in(text, (), written)]


def test_an_english_message_gives_its_order_email_amount_and_dates() -> None:
    text = (
        "Order #10234 for $1,234.50 was charged twice on December 3rd, "
        "write to Jane.Doe@Example.com; it shipped yesterday"
    )
    assert kinds_and_values(text, date(2026, 12, 5)) == [
        ("order", "10234"),
        ("amount", "1234.50 USD"),
        ("date", "2026-12-03"),
        ("email", "jane.doe@example.com"),
        ("date", "2026-12-04"),
    ]


def test_a_french_message_gives_the_same_kinds_of_facts() -> None:
    text = (
        "Ma commande n° 88812 de 49,90 € n'est pas arrivée le 3 décembre 2026, je l'ai payée hier"
    )
    assert kinds_and_values(text, date(2026, 12, 5)) == [
        ("order", "88812"),
        ("amount", "49.90 EUR"),
        ("date", "2026-12-03"),
        ("date", "2026-12-04"),
    ]


def test_amounts_in_their_many_spellings_are_one_value() -> None:
    for text in ("49.90 €", "€49.90", "EUR 49,9", "49,90 euros", "49.90 EUR"):
        assert kinds_and_values(text) == [("amount", "49.90 EUR")], text
    assert kinds_and_values("1.234,56 €") == [("amount", "1234.56 EUR")]
    assert kinds_and_values("£12") == [("amount", "12.00 GBP")]


def test_a_bare_number_is_no_order_unless_the_nlu_said_so() -> None:
    assert kinds_and_values("I live at 75011 Paris, call 0612345678") == []
    entity = Entity("order_number", "10234", 9, 14, "10234", "RegexEntityExtractor")
    found = facts_in("where is 10234", [entity])
    assert [(f.kind, f.value, f.start) for f in found] == [("order", "10234", 9)]


def test_a_fact_written_twice_counts_once_and_impossible_dates_none() -> None:
    assert kinds_and_values("order 10234, yes order 10234, on 31 February") == [("order", "10234")]
    # A numeric date is ambiguous between countries: kept as written.
    assert kinds_and_values("delivered 03/12/2026") == [("date", "03/12/2026")]


def test_a_word_before_a_number_hides_no_date_beside_it() -> None:
    # "paid 3" looks like "<month> <day>" to the month-first pattern until the word is checked.
    assert kinds_and_values("paid 3 December, shipped Dec 4th", date(2026, 12, 5)) == [
        ("date", "2026-12-03"),
        ("date", "2026-12-04"),
    ]
