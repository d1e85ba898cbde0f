"""The channel-neutral values' pure helpers: ``safe_filename``."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from channels.base import MAX_FILENAME, Capabilities, chosen_option, degrade, safe_filename

_SAFE_EXTENSION = re.compile(r"\.[A-Za-z0-9]{1,10}$")
_types = st.sampled_from(
    ["application/pdf", "image/png", "text/plain", "application/octet-stream", "x/unknown", ""]
)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../../../etc/passwd", "passwd"),
        ("..\\..\\boot.ini", "boot.ini"),
        ("C:\\Windows\\evil.exe", "evil.exe"),
        (".bashrc", "bashrc"),
        ("a\x00b.txt", "ab.txt"),
        ("<script>alert(1)</script>.html", "script_.html"),
        ("\u202ecod.exe", "cod.exe"),
        ("report (final).pdf", "report (final).pdf"),
        ("x" * 1000 + ".pdf", "x" * (MAX_FILENAME - 4) + ".pdf"),
    ],
)
def test_a_hostile_name_keeps_only_its_last_safe_component(name: str, expected: str) -> None:
    assert safe_filename(name, "application/octet-stream", 1) == expected


@pytest.mark.parametrize("name", [None, "", "...", "/", "\x00\x01", " . _ "])
def test_nothing_left_makes_a_name_up_from_the_content_type(name: str | None) -> None:
    assert safe_filename(name, "application/pdf", 3) == "attachment-3.pdf"
    assert safe_filename(name, "x/unknown", 4) == "attachment-4.bin"


@given(st.none() | st.text(), _types, st.integers(min_value=1, max_value=10_000))
def test_a_safe_name_is_never_empty_and_only_a_name(
    name: str | None, content_type: str, n: int
) -> None:
    safe = safe_filename(name, content_type, n)
    assert safe
    assert not safe.startswith(".")
    assert "/" not in safe
    assert "\\" not in safe
    assert not any(unicodedata.category(ch).startswith("C") for ch in safe)
    assert len(safe) <= MAX_FILENAME


# Stems of every length up to a few hundred characters: plain text draws would stay short.
_stems = st.builds(
    lambda piece, times: piece * times,
    st.text(st.characters(categories=["L", "N"]), min_size=1, max_size=20),
    st.integers(min_value=1, max_value=40),
)


@given(
    _stems,
    st.from_regex(_SAFE_EXTENSION, fullmatch=True),
    _types,
)
def test_a_safe_extension_is_kept_however_long_the_name(
    stem: str, extension: str, content_type: str
) -> None:
    safe = safe_filename(stem + extension, content_type, 1)
    assert safe.endswith(extension)
    assert len(safe) <= MAX_FILENAME


def test_buttons_and_images_a_channel_cannot_show_become_text() -> None:
    text_only = Capabilities()
    shown = degrade("Pick one", ["Yes", "No"], "https://x.test/a.png", text_only, choose="Reply.")
    assert shown == "Pick one\n\n1. Yes\n2. No\nReply.\n\nhttps://x.test/a.png"
    rich = Capabilities(buttons=True, images=True)
    assert degrade("Pick one", ["Yes"], "https://x.test/a.png", rich, choose="Reply.") == "Pick one"
    assert degrade(None, [], None, text_only, choose="Reply.") == ""


@pytest.mark.parametrize(
    ("text", "count", "chosen"),
    [("1", 2, 1), (" 2. ", 2, 2), ("2)", 2, 2), ("3", 2, None), ("0", 2, None), ("one", 2, None)],
)
def test_a_number_in_reply_picks_an_option(text: str, count: int, chosen: int | None) -> None:
    assert chosen_option(text, count) == chosen
