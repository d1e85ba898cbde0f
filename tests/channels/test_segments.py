from __future__ import annotations

import random

import pytest

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


@pytest.mark.parametrize("seed", range(20))
def test_any_text_keeps_all_but_break_whitespace_in_order_within_the_limit(seed: int) -> None:
    rng = random.Random(seed)
    alphabet = ["word", "mot", "é", "😀", " ", " ", "\n", "\n\n", ". ", "x" * 30]
    text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 2000)))
    limit = rng.choice([5, 40, 300, 4096])
    parts = segments(text, limit)
    assert all(utf16_length(p) <= limit for p in parts)
    # Only whitespace at the breaks is dropped: everything else is there, in order.
    assert "".join("".join(parts).split()) == "".join(text.split())
    assert all(p.strip() for p in parts) or parts == [text]


def test_a_limit_below_two_is_refused() -> None:
    with pytest.raises(ValueError, match="at least two"):
        segments("abc", 1)
