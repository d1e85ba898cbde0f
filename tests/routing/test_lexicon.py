"""Phrase matching for the handoff detectors: words, prefixes, gaps, vetoes, typos, numbers."""

from __future__ import annotations

import gc

import pytest
from hypothesis import given
from hypothesis import strategies as st

from routing.lexicon import Lexicon, _one_edit, normalise


def labels(lexicon: Lexicon, text: str) -> list[str]:
    return [m.label for m in lexicon.find(text)]


def test_text_is_read_without_case_accents_or_punctuation() -> None:
    assert normalise("Mon compte a été PIRATÉ !") == "mon compte a ete pirate"
    assert normalise("I didn't, it wasn\u2019t me") == "i didnt it wasnt me"


@pytest.mark.parametrize(
    ("cue", "text", "found"),
    [
        ("fire", "it caught fire", True),
        ("fire", "it fired up", False),  # a word is the whole word
        ("hack*", "my account was hacked", True),  # a prefix
        ("caught fire", "it caught on fire", True),  # two words between at most
        ("caught fire", "it caught my eye, the fire-red one", False),  # four between
        ("someone ... password", "someone has just gone and changed my password", True),
        ("fire|flames", "there were flames", True),
        ("discount ! code|student", "can I get a discount", True),
        ("discount ! code|student", "my discount code is refused", False),  # vetoed
        ("# units", "we need 40 units", True),
        ("# units", "order 10234 units", False),  # five digits: an order number, not a count
    ],
)
def test_cues(cue: str, text: str, found: bool) -> None:
    assert bool(Lexicon({"x": [cue]}).find(text)) is found


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("my acount was compromised", True),  # "account": a letter missing
        ("my accuont was compromised", True),  # two letters swapped
        ("my acxount was compromised", True),  # one letter wrong
        ("my acxuont was compromised", False),  # two edits
    ],
)
def test_a_long_word_forgives_one_typo(text: str, found: bool) -> None:
    assert bool(Lexicon({"x": ["account ... compromised"]}).find(text)) is found


def test_short_words_must_be_spelt_right() -> None:
    # "cancel" is one edit from "cancer", "prices" from "proces": real words, not typos.
    lexicon = Lexicon({"vulnerable": ["cancer"], "legal": ["proces"]})
    assert labels(lexicon, "can I cancel my order? are prices with VAT?") == []
    assert labels(lexicon, "I have cancer") == ["vulnerable"]


def test_rewrites_remove_look_alikes_before_matching() -> None:
    lexicon = Lexicon({"safety": ["smoke"]}, rewrites={"smoke grey": "colour"})
    assert labels(lexicon, "the smoke-grey backpack") == []
    assert labels(lexicon, "smoke everywhere") == ["safety"]


def test_every_rewrite_applies_and_cues_come_in_their_order() -> None:
    lexicon = Lexicon(
        {"safety": ["smoke", "fire"], "device": ["tv"], "legal": ["lawyer*"]},
        rewrites={"smoke grey": "colour", "fire red": "colour", "fire tv": "device"},
    )
    assert lexicon.find("A smoke-grey case, a FIRE RED one and my Fire TV") == []
    found = lexicon.find("my lawyers say the tv caught fire, smoke everywhere")
    assert [(m.label, m.evidence) for m in found] == [
        ("safety", "smoke"),
        ("safety", "fire"),
        ("device", "tv"),
        ("legal", "lawyers"),
    ]


def test_the_evidence_is_the_matched_words() -> None:
    (match,) = Lexicon({"x": ["someone ... changed ... password"]}).find(
        "Someone changed my PASSWORD yesterday"
    )
    assert match.evidence == "someone changed my password"


def test_matching_leaves_nothing_for_the_cyclic_collector() -> None:
    """Texts are freed as soon as they are matched: the router ranks every queued
    conversation's recent texts, and garbage in cycles piled up for the collector, whose
    pass over it held the server's event loop (issue 14)."""
    lexicon = Lexicon({"x": ["someone ... changed ... password", "caught fire"]})
    gc.collect()
    gc.disable()
    # Only the lexicon's garbage counts: other threads of this worker (earlier tests' servers)
    # may leave cycles of their own meanwhile. DEBUG_SAVEALL keeps what is found to look at.
    flags = gc.get_debug()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        for _ in range(10):
            assert lexicon.find("someone changed my password, and it caught fire")
        gc.collect()
        ours = [
            o
            for o in gc.garbage
            if getattr(o, "__module__", None) == "routing.lexicon"
            or getattr(getattr(o, "__code__", None), "co_filename", "").endswith("lexicon.py")
        ]
        assert ours == []
    finally:
        gc.garbage.clear()
        gc.set_debug(flags)
        gc.enable()


def test_a_cue_needs_words() -> None:
    with pytest.raises(ValueError, match="empty cue"):
        Lexicon({"x": ["! code"]})
    with pytest.raises(ValueError, match="prefix too short"):
        Lexicon({"x": ["a*"]})


@given(st.text(min_size=1, max_size=12), st.integers(min_value=0, max_value=11))
def test_one_edit_agrees_with_its_definition(word: str, at: int) -> None:
    at %= len(word)
    assert _one_edit(word, word)
    assert _one_edit(word, word[:at] + word[at + 1 :])  # a deletion
    assert _one_edit(word[:at] + word[at + 1 :], word)  # an insertion
    assert _one_edit(word, word[:at] + "#" + word[at + 1 :])  # a substitution
    if at + 1 < len(word):
        swapped = word[:at] + word[at + 1] + word[at] + word[at + 2 :]
        assert _one_edit(word, swapped)
    assert not _one_edit(word, word + "##")


def test_any_text_is_matched_without_error() -> None:
    lexicon = Lexicon({"x": ["fire ... # ... units"]})
    for text in ["", "   ", "🔥🔥", "1" * 10_000, "fire " * 2_000 + "12 units"]:
        lexicon.find(text)
