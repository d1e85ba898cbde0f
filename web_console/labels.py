"""What a label may be: the rule the console's endpoints check labels and list filters by."""

from __future__ import annotations

import re
from collections.abc import Iterable

MAX_LENGTH = 40
MAX_PER_CONVERSATION = 20
# Letters of any script, digits, and - _ . : inside (spaces become "-"): a word to filter by.
_LABEL = re.compile(r"[^\W_](?:[\w.:-]*[^\W_])?|[^\W_]")


class NotALabel(ValueError):
    """The text cannot be a label; the message says why."""


def label(raw: str) -> str:
    """The label as stored: trimmed, lowercase, inner spaces as "-"."""
    text = "-".join(raw.strip().lower().split())
    if not text:
        raise NotALabel("a label may not be empty")
    if len(text) > MAX_LENGTH:
        raise NotALabel(f"{text[:20]}…: a label has at most {MAX_LENGTH} characters")
    if not _LABEL.fullmatch(text):
        raise NotALabel(
            f"{text!r}: a label is letters and digits, with - _ . : inside (no other signs)"
        )
    return text


def labels(raw: Iterable[str]) -> list[str]:
    """Each label normalised, duplicates dropped, in the order given."""
    found = list(dict.fromkeys(label(item) for item in raw))
    if len(found) > MAX_PER_CONVERSATION:
        raise NotALabel(f"a conversation has at most {MAX_PER_CONVERSATION} labels")
    return found
