from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from channels.segments import segments, utf16_length


def test_a_short_text_is_one_part() -> None:
    assert segments("Hello!", 4096) == ["Hello!"]


def test_parts_break_at_paragraphs_then_lines_then_sentences_then_spaces() -> None:
    paragraphs = "First paragraph here.\n\nSecond one is here."
    assert segments(paragraphs, 30) == ["First paragraph here.", "Second one is here."]
    lines = "line one is long\nline two is long"
    assert segments(lines, 20) == ["line one is long", "line two is long"]
    sentences = "One sentence. Another sentence."
    assert segments(sentences, 20) == ["One sentence.", "Another sentence."]
    words = "alpha beta gamma delta"
    assert segments(words, 12) == ["alpha beta", "gamma delta"]


def test_a_text_without_breaks_is_cut_hard() -> None:
    assert segments("x" * 10, 4) == ["xxxx", "xxxx", "xx"]


def test_emoji_count_twice_as_telegram_counts_them() -> None:
    parts = segments("😀" * 5, 4)
    assert parts == ["😀😀", "😀😀", "😀"]


# Text made of the pieces segmentation cares about (every kind of break, astral characters,
# long words) as well as any text at all.
_pieces = st.sampled_from(["word", "mot", "é", "😀", " ", "  ", "\n", "\n\n", ". ", "! ", "x" * 30])
_texts = st.text() | st.lists(_pieces, max_size=400).map("".join)
_limits = st.integers(min_value=2, max_value=300) | st.sampled_from([4096])


def _rejoins(text: str, parts: list[str]) -> bool:
    """Whether ``parts`` are ``text`` in order with only whitespace between them (and after the
    last): what is dropped at each break is whitespace, nothing else is."""
    at = 0
    for part in parts:
        while not text.startswith(part, at):
            if at == len(text) or not text[at].isspace():
                return False
            at += 1
        at += len(part)
    return not text[at:].strip()


@given(_texts, _limits)
def test_parts_rejoin_to_the_text_but_whitespace_at_the_breaks(text: str, limit: int) -> None:
    assert _rejoins(text, segments(text, limit))


@given(_texts, _limits)
def test_each_part_is_within_the_limit_and_not_blank(text: str, limit: int) -> None:
    parts = segments(text, limit)
    assert parts or not text.strip()  # a blank text too long for one part is nothing to send
    assert all(utf16_length(p) <= limit for p in parts)
    # Only a text that fits whole comes back as it is, blank or not.
    assert all(p.strip() for p in parts) or parts == [text]


@given(_texts, _limits)
def test_a_text_within_the_limit_is_one_part_unchanged(text: str, limit: int) -> None:
    assume(utf16_length(text) <= limit)
    assert segments(text, limit) == [text]


def test_a_limit_below_two_is_refused() -> None:
    with pytest.raises(ValueError, match="at least two"):
        segments("abc", 1)
