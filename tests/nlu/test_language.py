from __future__ import annotations

import pytest

from nlu.language import shared


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("where is my order, it should have arrived by now", "en"),
        # Short, with a number: the trigram screen ranks English only fourth here.
        ("where is my order 10234?", "en"),
        ("je n'ai toujours pas reçu ma commande", "fr"),
        ("Wo ist meine Bestellung bitte?", "de"),
        ("¿Dónde está mi pedido?", "es"),
        ("ok", None),  # too short to tell
        ("10234", None),
        ("xkcd qwerty plonk", None),  # nonsense: no language leads
    ],
)
def test_detect(text: str, language: str | None) -> None:
    assert shared().detect(text).language == language


def test_a_short_message_leans_to_the_bots_languages() -> None:
    both = frozenset({"en", "fr"})
    assert shared().best_among("bonjour", both) == "fr"
    assert shared().best_among("hello", both) == "en"
    assert shared().best_among("10234", both) is None
