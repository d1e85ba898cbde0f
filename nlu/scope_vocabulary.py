"""Which words and letter triples a project's training examples use, by intent: the out-of-scope
detector's coverage evidence (``nlu.scope``)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

WORD = re.compile(r"[^\W\d_]+")


def words(text: str) -> list[str]:
    """Lower-cased words without accents or digits (numbers say nothing about scope)."""
    if text.isascii():  # nothing to decompose: most messages, without a pass per letter
        return WORD.findall(text.lower())
    plain = unicodedata.normalize("NFKD", text.lower())
    return WORD.findall("".join(c for c in plain if not unicodedata.combining(c)))


@dataclass(frozen=True, slots=True)
class _Vocabulary:
    """Which intents' examples use each word."""

    users: dict[str, frozenset[int]]
    # The same for letter triples: "bye" shares most of its with "goodbye", which the
    # classifier's character n-grams see and whole words do not; keyboard mashing shares few.
    spellers: dict[str, frozenset[int]]

    @classmethod
    def of(cls, texts: Sequence[str], labels: Sequence[int]) -> _Vocabulary:
        users: dict[str, set[int]] = {}
        spellers: dict[str, set[int]] = {}
        for text, label in zip(texts, labels, strict=True):
            found = words(text)
            for word in found:
                users.setdefault(word, set()).add(label)
            for gram in _triples(found):
                spellers.setdefault(gram, set()).add(label)
        return cls(
            {w: frozenset(s) for w, s in users.items()},
            {g: frozenset(s) for g, s in spellers.items()},
        )

    def coverage(self, text: str, without: int | None = None) -> tuple[float, float]:
        """The share of the text's words, and of their letter triples, some example uses
        (of an intent other than ``without``); 0 for a text with no words at all."""
        found = words(text)
        if not found:
            return 0.0, 0.0
        grams = _triples(found)
        if without is None:  # a parse: every intent's examples count (no set is empty)
            users, spellers = self.users, self.spellers
            known = sum(map(users.__contains__, found))
            spelt = sum(map(spellers.__contains__, grams))
        else:
            known = sum(bool(self.users.get(w, frozenset()) - {without}) for w in found)
            spelt = sum(bool(self.spellers.get(g, frozenset()) - {without}) for g in grams)
        return known / len(found), spelt / max(len(grams), 1)


def _triples(found: Sequence[str]) -> list[str]:
    """The letter triples of words with their edges marked (" by", "bye", "ye ")."""
    grams: list[str] = []
    for word in found:
        padded = f" {word} "
        grams.extend(padded[i : i + 3] for i in range(len(padded) - 2))
    return grams
