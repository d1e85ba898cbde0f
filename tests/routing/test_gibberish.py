"""Words of some language, or nonsense: real sentences in the languages lingua names keep
their language; keyboard mashing and made-up words read as none."""

from __future__ import annotations

import pytest

from routing import gibberish

# Real support messages, written for this test (not those the word lists were checked on).
SENTENCES = [
    "Guten Morgen, meine Lieferung ist immer noch nicht da.",
    "Ich möchte meine Bestellung stornieren.",
    "Warum wurde mir das zweimal berechnet?",
    "Hola, no puedo entrar en mi cuenta.",
    "El paquete nunca llegó a mi casa.",
    "¿Cuánto tarda el envío a Madrid?",
    "Goedemiddag, ik wil mijn bestelling annuleren.",
    "Mijn rekening klopt niet.",
    "Kunt u mij helpen met een retour?",
    "Buongiorno, il pacco non è ancora arrivato.",
    "Vorrei restituire le scarpe che ho comprato.",
    "Quanto costa la spedizione in Italia?",
    "Bom dia, o meu pedido chegou danificado.",
    "Chcę zwrócić zamówienie.",
    "Jag har inte fått min beställning.",
    "Где мой заказ?",
    "我的订单在哪里",
    "where is my order 10234?",
    "je n'ai toujours pas reçu mon colis",
]

# From the shipped gibberish set (nlu/out_of_scope/gibberish.yml) and issue 17: those lingua
# names a language, some of them surely.
NONSENSE = [
    ("flibber wabble dronk", False),
    ("toto titi tata", True),
    ("schmilblick machin bidule", False),
    ("lakjsdflkj asldkfj", True),
    ("ajsdkasjdkajsd", True),
    ("wxwxwx cvcvcv", True),
    ("sdfsdf sdfsdf", True),
    ("grrrrr brrrrr", True),
    ("asdf qwerty zxcv", True),
    ("lorem ipsum dolor sit amet", False),
]


@pytest.mark.parametrize("text", SENTENCES)
def test_a_real_sentence_is_language(text: str) -> None:
    assert gibberish.detect(text) is None


@pytest.mark.parametrize(("text", "mashed"), NONSENSE)
def test_nonsense_reads_as_no_language(text: str, mashed: bool) -> None:
    found = gibberish.detect(text)
    assert found is not None
    assert found.mashed == mashed
    assert text.split()[0] in found.explanation()


def test_a_text_without_letters_is_left_to_others() -> None:
    assert gibberish.detect("10234 !!!") is None
