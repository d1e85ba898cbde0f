"""The risk detector: which category a customer's words fall in, and why."""

from __future__ import annotations

import pytest

from routing import risk


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("The charger caught fire next to my son's bed", risk.SAFETY),
        ("la bouilloire a commencé à fumer", risk.SAFETY),
        ("mon bébé a avalé une pièce du jouet", risk.SAFETY),
        ("my acount got hacked", risk.ACCOUNT_TAKEOVER),  # a typo
        ("quelqu'un a changé mon mot de passe", risk.ACCOUNT_TAKEOVER),
        ("I got a phishing email with your logo", risk.FRAUD),
        ("il y a un débit que je n'ai jamais autorisé", risk.FRAUD),
        ("I'm filing a chargeback with my bank", risk.LEGAL),
        ("Ceci est une mise en demeure", risk.LEGAL),
        ("My husband passed away and I need to close his account", risk.VULNERABLE),
        ("je suis l'aidant de mon frère handicapé", risk.VULNERABLE),
        ("I'm a journalist writing about delivery delays", risk.PRESS),
        ("demande presse concernant le rappel", risk.PRESS),
        ("Under GDPR I want a copy of my personal data", risk.DATA_RIGHTS),
        ("je veux exercer mon droit à l'oubli", risk.DATA_RIGHTS),
        ("Can I get a discount if I order 50?", risk.NEGOTIATION),
        ("nous voulons un tarif de gros", risk.NEGOTIATION),
    ],
)
def test_categories_in_both_languages(text: str, category: str) -> None:
    found = risk.detect(text)
    assert found, text
    assert found[0].category == category


@pytest.mark.parametrize(
    "text",
    [
        "do you have the smoke-grey backpack in stock?",
        "when will the fire-red running shoes be back?",
        "avez-vous le sac à dos gris fumée ?",
        "does the coffee maker have a child lock?",
        "do you have a student discount?",
        "mon code de réduction ne marche pas",
        "où mettre le code de ma carte cadeau ?",
        "can I cancel my order?",
        "are the prices including VAT?",
        "comment exporter mes factures ?",
        "my account has been disabled",
        "le support d'ordinateur est indiqué épuisé",
        "I want to return the shoes, they're too small",
    ],
)
def test_look_alikes_are_not_risks(text: str) -> None:
    assert risk.detect(text) == ()


def test_the_most_severe_comes_first_with_its_evidence() -> None:
    found = risk.detect("my lawyer says the charger that caught fire is a hazard")
    assert [s.category for s in found] == [risk.SAFETY, risk.LEGAL]
    assert found[0].explanation() == "safety: “fire”"
    assert found[1].evidence == "lawyer"


def test_the_intent_counts_when_no_phrase_does() -> None:
    # The classifier understood what no phrase here says (a paraphrase, another wording).
    assert risk.strongest("quelque chose de bizarre", "security_incident") == risk.Signal(
        risk.ACCOUNT_TAKEOVER, "intent security_incident"
    )
    assert risk.strongest("hello", "greet") is None
    # Words beat the intent: they say more precisely what happened.
    found = risk.strongest("the lamp exploded", "negotiation")
    assert found is not None
    assert found.category == risk.SAFETY


def test_an_email_disclaimer_is_not_a_risk() -> None:
    signed = (
        "Where is my order 10234? Thanks. -- This email and any attachments are confidential"
        " and may be legally privileged. If you are not the intended recipient, any"
        " unauthorised use is prohibited."
    )
    assert risk.detect(signed) == ()
    assert [s.category for s in risk.detect("an unauthorised payment on my card")] == [risk.FRAUD]
