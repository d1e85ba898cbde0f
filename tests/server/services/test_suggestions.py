"""How a suggestion is fitted to the customer: an apology first when they are upset."""

from __future__ import annotations

from server.services.suggestions import APOLOGIES, Tone, adapt


def test_an_upset_customer_gets_an_apology_first_in_their_language() -> None:
    text, adapted, opening = adapt("Vous pouvez retourner l'article.", Tone(True, "fr"))
    assert opening == APOLOGIES["fr"]
    assert text == f"{APOLOGIES['fr']} Vous pouvez retourner l'article."
    assert adapted == ["apology"]


def test_no_second_apology_and_none_for_a_calm_customer_or_an_unknown_language() -> None:
    sorry = "I'm really sorry your item arrived damaged."
    assert adapt(sorry, Tone(True, "en")) == (sorry, [], None)
    assert adapt("Here is your label.", Tone(False, "en")) == ("Here is your label.", [], None)
    assert adapt("Hier ist Ihr Etikett.", Tone(True, "de")) == ("Hier ist Ihr Etikett.", [], None)
