from __future__ import annotations

import pytest

from nlu.markup import parse_example


def test_annotations_become_plain_text_and_spans() -> None:
    example = parse_example("is order [10234](order_number) for [casque](product:headphones)?", "x")
    assert example.text == "is order 10234 for casque?"
    first, second = example.entities
    assert (first.entity, first.value, example.text[first.start : first.end]) == (
        "order_number",
        "10234",
        "10234",
    )
    assert (second.entity, second.value, second.text) == ("product", "headphones", "casque")


def test_json_annotations() -> None:
    example = parse_example('send to [Paris]{"entity": "city", "value": "paris"} now', "x")
    assert example.text == "send to Paris now"
    assert example.entities[0].value == "paris"


@pytest.mark.parametrize("bad", ['[x]{"entity" 5}', '[x]{"value": "y"}', "   "])
def test_malformed_examples_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match=r"annotation|empty|entity"):
        parse_example(bad, "x")
