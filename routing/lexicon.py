"""Phrase matching for the handoff detectors: cheap, explainable, in any Latin-script language.

A text is normalised (lower case, accents and punctuation dropped: "Mon compte a été PIRATÉ !"
reads "mon compte a ete pirate"), split into words, and a ``Lexicon`` finds its cues in it. A
cue is written as words separated by spaces:

- ``fire`` is that word; ``hack*`` any word starting so (hacked, hacker, hacking);
- ``fire|flames|incendi*`` any of those;
- consecutive words may have up to two others between them ("caught on fire" matches
  ``caught fire``); ``...`` allows up to six ("someone has just changed my password" matches
  ``someone ... chang* ... password``);
- ``#`` is a number of one to four digits (a quantity, a price: order numbers are longer);
- ``! code|student*`` at the end names words that, anywhere in the text, stop the cue ("a
  discount" is a negotiation, "my discount code" is not).

Typos cost one edit: a word of seven letters or more also matches a word one deletion,
insertion, substitution or swap away ("acount", "pasword"), found through an index of
deletions (the SymSpell idea) and then checked, so a text is matched in time linear in its
length.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

# Between two consecutive words of a cue: at most this many other words, or WIDE after "...".
NEAR = 2
WIDE = 6
# Shorter words must be spelt right: one edit turns "fire" into "file", "cancel" into
# "cancer", "prices" into "proces".
TYPO_MIN_LENGTH = 7
# A prefix shorter than this would match too much ("re*").
PREFIX_MIN_LENGTH = 3

_NOT_WORD = re.compile(r"[^0-9a-z]+")
# "didn't" reads "didnt", one word, as people also type it.
_CONTRACTION = re.compile(r"n['\u2019]t\b")
NUMBER = "#"
NUMBER_MAX_DIGITS = 4


def normalise(text: str) -> str:
    """Lower case, no accents, words separated by single spaces ("l'été" → "l ete")."""
    decomposed = unicodedata.normalize("NFKD", _CONTRACTION.sub("nt", text.casefold()))
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _NOT_WORD.sub(" ", plain).strip()


def words(text: str) -> list[str]:
    return normalise(text).split()


def _spelling(word: str) -> str:
    """A cue's word as the index keeps it: normalised, with its ``*`` or as ``#``."""
    if word == NUMBER:
        return word
    return normalise(word) + ("*" if word.endswith("*") else "")


def _one_edit(a: str, b: str) -> bool:
    """Whether ``a`` is ``b`` or one deletion, insertion, substitution or swap from it."""
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    start = 0
    while start < min(len(a), len(b)) and a[start] == b[start]:
        start += 1
    if len(a) == len(b):
        swapped = a[start + 1 : start + 2] + a[start : start + 1]
        return a[start + 1 :] == b[start + 1 :] or (
            swapped == b[start : start + 2] and a[start + 2 :] == b[start + 2 :]
        )
    longer, shorter = (a, b) if len(a) > len(b) else (b, a)
    return longer[start + 1 :] == shorter[start:]


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


@dataclass(frozen=True, slots=True)
class Match:
    """A cue found in a text: its label (a category) and the words that matched."""

    label: str
    cue: str
    evidence: str


@dataclass(frozen=True, slots=True)
class _Cue:
    label: str
    source: str
    # Each step: the ids of the alternatives it accepts, and how far it may follow the last.
    steps: tuple[tuple[frozenset[int], int], ...]
    vetoes: frozenset[int]


class Lexicon:
    """Cues by label, compiled once; ``find`` lists those a text contains."""

    def __init__(self, cues: Mapping[str, Iterable[str]], rewrites: Mapping[str, str] = {}):
        self._ids: dict[str, int] = {}
        self._exact: dict[str, set[int]] = defaultdict(set)
        # deletion variant -> the cue words (or prefixes) it comes from
        self._exact_typos: dict[str, set[str]] = defaultdict(set)
        self._prefixes: dict[str, set[int]] = defaultdict(set)
        self._prefix_typos: dict[str, set[str]] = defaultdict(set)
        self._numbers: set[int] = set()
        self._cues = [self._compile(label, c) for label, some in cues.items() for c in some]
        # word id -> the cues (by position) whose first word it can be: a text is checked
        # against the cues that can start in it, not against every cue (most texts start
        # none; the scan over all of them was two thirds of ``find``'s time).
        self._starting: dict[int, list[int]] = defaultdict(list)
        for n, cue in enumerate(self._cues):
            for wid in cue.steps[0][0]:
                self._starting[wid].append(n)
        # Phrases replaced before matching: colours and features that look like risks
        # ("smoke grey", "child lock"), or names that contain a misleading word.
        # One pattern for them all, one pass over the text (a pass per phrase was a fifth of
        # ``find``'s time on a short text); no replacement contains a phrase, so one pass
        # reads as the passes one after the other did. Longest first: the longer wins.
        self._rewritten = {normalise(k): normalise(v) for k, v in rewrites.items()}
        alternatives = "|".join(
            re.escape(k) for k in sorted(self._rewritten, key=len, reverse=True)
        )
        self._rewrites = re.compile(rf"\b(?:{alternatives})\b") if rewrites else None

    def _word_id(self, word: str) -> int:
        if word in self._ids:
            return self._ids[word]
        wid = self._ids[word] = len(self._ids)
        if word == NUMBER:
            self._numbers.add(wid)
        elif word.endswith("*"):
            stem = word[:-1]
            if len(stem) < PREFIX_MIN_LENGTH:
                raise ValueError(f"prefix too short: {word!r}")
            self._prefixes[stem].add(wid)
            if len(stem) >= TYPO_MIN_LENGTH:
                for variant in {stem} | _deletions(stem):
                    self._prefix_typos[variant].add(stem)
        else:
            self._exact[word].add(wid)
            if len(word) >= TYPO_MIN_LENGTH:
                for variant in {word} | _deletions(word):
                    self._exact_typos[variant].add(word)
        return wid

    def _compile(self, label: str, source: str) -> _Cue:
        pattern, _, veto = source.partition("!")
        steps: list[tuple[frozenset[int], int]] = []
        reach = NEAR
        for token in pattern.split():
            if token == "...":
                reach = WIDE
                continue
            ids = frozenset(self._word_id(_spelling(w)) for w in token.split("|"))
            steps.append((ids, reach + 1))
            reach = NEAR
        if not steps:
            raise ValueError(f"empty cue for {label}")
        vetoes = frozenset(self._word_id(_spelling(w)) for w in veto.replace("|", " ").split())
        return _Cue(label, source.strip(), tuple(steps), vetoes)

    def _ids_of(self, token: str) -> set[int]:
        if token.isdigit():
            return set(self._numbers) if len(token) <= NUMBER_MAX_DIGITS else set()
        found = set(self._exact.get(token, ()))
        for end in range(PREFIX_MIN_LENGTH, len(token) + 1):
            found |= self._prefixes.get(token[:end], set())
        if len(token) >= TYPO_MIN_LENGTH - 1:
            for variant in {token} | _deletions(token):
                for word in self._exact_typos.get(variant, ()):
                    if _one_edit(token, word):
                        found |= self._exact[word]
            for end in range(TYPO_MIN_LENGTH - 1, len(token) + 1):
                head = token[:end]
                for variant in {head} | _deletions(head):
                    for stem in self._prefix_typos.get(variant, ()):
                        if _one_edit(head, stem):
                            found |= self._prefixes[stem]
        return found

    def find(self, text: str) -> list[Match]:
        """Every cue the text contains, at most one match per cue, in the cues' order."""
        plain = normalise(text)
        if self._rewrites is not None:
            plain = self._rewrites.sub(lambda m: self._rewritten[m.group(0)], plain)
        tokens = plain.split()
        at = [self._ids_of(t) for t in tokens]
        present = set().union(*at) if at else set()
        found = []
        for n in sorted({n for wid in present for n in self._starting.get(wid, ())}):
            cue = self._cues[n]
            if cue.vetoes & present:
                continue
            span = _locate(cue.steps, at)
            if span is not None:
                evidence = " ".join(tokens[span[0] : span[1] + 1])
                found.append(Match(cue.label, cue.source, evidence))
        return found


def _locate(
    steps: tuple[tuple[frozenset[int], int], ...], at: list[set[int]]
) -> tuple[int, int] | None:
    """The first span of words matching the steps in order, each within its reach."""
    first = steps[0][0]
    for start, here in enumerate(at):
        if first & here:
            end = _rest(steps, at, 1, start)
            if end is not None:
                return start, end
    return None


def _rest(
    steps: tuple[tuple[frozenset[int], int], ...], at: list[set[int]], step: int, after: int
) -> int | None:
    """Where the steps from ``step`` on end, the previous one matched at ``after``.

    A module-level function, not a closure in ``_locate``: a nested function that calls
    itself is a reference cycle (function, cell, function), freed only by the cyclic GC
    with the text's word sets it holds. The router ranks every queued conversation's recent
    texts, and under 1,000 msg/s that was 6,500 cyclic objects a second, so each gen-0
    collection (50,000 allocations, server/cli/main.py) freed tens of thousands of them and
    held the event loop 18-30 ms: the slow seconds of the web chat bench (issue 14)."""
    if step == len(steps):
        return after
    ids, reach = steps[step]
    for position in range(after + 1, min(len(at), after + 1 + reach)):
        if ids & at[position]:
            end = _rest(steps, at, step + 1, position)
            if end is not None:
                return end
    return None
