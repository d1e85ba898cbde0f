"""The NLU values as they are stored: an interpretation's JSON holds every field, in field
order, nested values as plain lists and dicts, and reads back as the same value."""

from __future__ import annotations

import dataclasses

from nlu.base import Entity, IntentScore, Interpretation, Scope


def _full() -> Interpretation:
    return Interpretation(
        text="where is order 42 to Paris?",
        intent="order_status",
        confidence=0.91,
        ranking=(IntentScore("order_status", 0.91), IntentScore("greet", 0.05)),
        entities=(Entity("order", "42", 15, 17, "42", "regex", role=None, group="a"),),
        language="en",
        language_confidence=0.8,
        sentiment=-0.2,
        engine="embedded",
        error=None,
        scope=Scope(0.42, False, ("close to order_status examples",)),
        retrieval_intent="faq/ask_hours",
    )


def test_json_holds_every_field_in_order_as_plain_values() -> None:
    said = _full()
    data = said.to_json()
    assert list(data) == [f.name for f in dataclasses.fields(Interpretation)]
    assert data["ranking"] == [
        {"name": "order_status", "confidence": 0.91},
        {"name": "greet", "confidence": 0.05},
    ]
    assert data["entities"] == [
        {
            "entity": "order",
            "value": "42",
            "start": 15,
            "end": 17,
            "text": "42",
            "extractor": "regex",
            "role": None,
            "group": "a",
        }
    ]
    assert data["scope"] == {
        "score": 0.42,
        "out_of_scope": False,
        "reasons": ["close to order_status examples"],
    }
    assert Interpretation.from_json(data) == said


def test_a_bare_interpretation_reads_back_the_same() -> None:
    said = Interpretation(text="ok", intent="unknown", confidence=0.0, engine="none")
    data = said.to_json()
    assert data["scope"] is None
    assert data["ranking"] == []
    assert data["entities"] == []
    assert Interpretation.from_json(data) == said
