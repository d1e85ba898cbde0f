"""Entities from a project's own definitions: regexes and lookup tables (what Rasa's
RegexEntityExtractor finds, at word boundaries), the values annotated in its examples (what
a learned extractor such as DIET or CRF finds), and synonyms (EntitySynonymMapper).

An annotated value is not a keyword. It is taken only where its context looks like the
contexts it was annotated in: the word before or after it (or the start or end of the
message) is one seen next to an annotated value of that entity, and never where the same
words stood unannotated in the examples. So "send it to [bill](PERSON)" teaches "to bill",
not the "bill" of "my credit card bill". And only when the pipeline has a learned extractor:
Rasa's RegexEntityExtractor alone never extracts annotated values.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace

from nlu.base import Entity
from nlu.project import Project

EXTRACTOR = "RegexEntityExtractor"
LEARNED = "annotated"
_WORD = re.compile(r"\w+")
START, END = "<s>", "</s>"
# Components that learn entities from the annotations (DIET unless entity_recognition is off).
LEARNED_EXTRACTORS = frozenset({"DIETClassifier", "CRFEntityExtractor"})


@dataclass(frozen=True, slots=True)
class _Pattern:
    entity: str
    regex: re.Pattern[str]


@dataclass
class _Contexts:
    """Where an entity's values were annotated, and where its values stood unannotated."""

    before: set[str] = field(default_factory=set)
    after: set[str] = field(default_factory=set)
    plain: set[tuple[str, str, str]] = field(default_factory=set)  # (before, value, after)


# How many words each side of a value tell its role or group.
ROLE_WINDOW = 3


@dataclass
class _Labels:
    """What the words around an annotated value say about one of its labels (its role, or
    its group): a naive Bayes over the words each side, by distance, and the value's place
    among the message's entities. "fly [from] [Paris]{role: departure} [to] [Rome]{role:
    destination}": "from" before it makes a departure. A value annotated without the label
    counts as "none of them"."""

    features: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    examples: Counter[str] = field(default_factory=Counter)
    vocabulary: set[str] = field(default_factory=set)

    def add(self, label: str, features: list[str]) -> None:
        self.examples[label] += 1
        self.features[label].update(features)
        self.vocabulary.update(features)

    def best(self, features: list[str]) -> str | None:
        total = sum(self.examples.values())
        size = len(self.vocabulary) + 1

        def score(label: str) -> float:
            counts = self.features[label]
            seen = sum(counts.values())
            prior = math.log(self.examples[label] / total)
            return prior + sum(math.log((counts[f] + 1) / (seen + size)) for f in features)

        label = max(self.examples, key=score)
        return label or None


def _label_features(text: str, start: int, end: int, place: int) -> list[str]:
    before = [w.lower() for w in _WORD.findall(text[:start])][-ROLE_WINDOW:]
    after = [w.lower() for w in _WORD.findall(text[end:])][:ROLE_WINDOW]
    # The nearest words weigh most: each word counts once per distance it is within.
    features = [
        f"b{d}:{w}" for i, w in enumerate(before) for d in range(len(before) - i, ROLE_WINDOW + 1)
    ]
    features += [f"a{d}:{w}" for i, w in enumerate(after) for d in range(i + 1, ROLE_WINDOW + 1)]
    features.append(f"place:{min(place, 3)}")
    return features


def learns_entities(project: Project) -> bool:
    pipeline = project.config.get("pipeline")
    if not pipeline:
        return True  # Rasa's default pipeline has DIET, which learns entities
    return any(
        isinstance(c, dict)
        and c.get("name") in LEARNED_EXTRACTORS
        and c.get("entity_recognition", True) is not False
        for c in pipeline
    )


def _neighbours(text: str, start: int, end: int) -> tuple[str, str]:
    before = _WORD.findall(text[:start])
    after = _WORD.findall(text[end:])
    return (before[-1].lower() if before else START, after[0].lower() if after else END)


class EntityExtractor:
    def __init__(self, project: Project) -> None:
        patterns: list[_Pattern] = []
        for regex in project.regexes:
            for source in regex.patterns:
                try:
                    compiled = re.compile(rf"(?<!\w)(?:{source})(?!\w)")
                except re.error:
                    continue  # Rasa skips a regex Python cannot compile; so do we
                patterns.append(_Pattern(regex.name, compiled))
        for name, values in project.lookups.items():
            words = {v for v in values if v.strip()}
            if words:
                patterns.append(_Pattern(name, _alternation(words)))
        self._patterns = patterns
        self._learned: list[_Pattern] = []
        self._contexts: dict[str, _Contexts] = defaultdict(_Contexts)
        self._roles: dict[str, _Labels] = {}
        self._groups: dict[str, _Labels] = {}
        if learns_entities(project):
            self._learn(project)
            self._learn_labels(project)
        self._synonyms = project.synonyms

    def _learn_labels(self, project: Project) -> None:
        """Roles and groups, for the entities annotated with any (what DIET learns)."""
        with_role = {s.entity for e in project.examples for s in e.entities if s.role}
        with_group = {s.entity for e in project.examples for s in e.entities if s.group}
        for example in project.examples:
            for place, span in enumerate(example.entities):
                features = _label_features(example.text, span.start, span.end, place)
                if span.entity in with_role:
                    self._roles.setdefault(span.entity, _Labels()).add(span.role or "", features)
                if span.entity in with_group:
                    labels = self._groups.setdefault(span.entity, _Labels())
                    labels.add(span.group or "", features)

    def _learn(self, project: Project) -> None:
        annotated: dict[str, set[str]] = defaultdict(set)
        # Where a regex describes the entity (order numbers), its annotated values are
        # examples of the regex, not words to look for.
        described = {r.name for r in project.regexes}
        for example in project.examples:
            for span in example.entities:
                if span.entity in described:
                    continue
                annotated[span.entity].add(span.text)
                before, after = _neighbours(example.text, span.start, span.end)
                self._contexts[span.entity].before.add(before)
                self._contexts[span.entity].after.add(after)
        for name, words in annotated.items():
            pattern = _Pattern(name, _alternation(words))
            self._learned.append(pattern)
            # The same words where nobody annotated them: not this entity there.
            for example in project.examples:
                spans = [(s.start, s.end) for s in example.entities]
                for match in pattern.regex.finditer(example.text):
                    if any(s < match.end() and match.start() < e for s, e in spans):
                        continue
                    before, after = _neighbours(example.text, match.start(), match.end())
                    self._contexts[name].plain.add((before, match[0].lower(), after))

    def _in_context(self, entity: str, text: str, match: re.Match[str]) -> bool:
        contexts = self._contexts[entity]
        before, after = _neighbours(text, match.start(), match.end())
        if (before, match[0].lower(), after) in contexts.plain:
            return False
        # The start or end of the message is a context only with the other side: "bill" at
        # the end of "my phone bill" is not a name because names end messages.
        word_before = before != START and before in contexts.before
        word_after = after != END and after in contexts.after
        both = before in contexts.before and after in contexts.after
        return word_before or word_after or both

    def extract(self, text: str) -> tuple[Entity, ...]:
        found: list[Entity] = []
        for pattern in self._patterns:
            for match in pattern.regex.finditer(text):
                found.append(self._entity(pattern.entity, match, EXTRACTOR))
        for pattern in self._learned:
            for match in pattern.regex.finditer(text):
                if self._in_context(pattern.entity, text, match):
                    found.append(self._entity(pattern.entity, match, LEARNED))
        # Overlapping matches: the longest span wins, then the earliest.
        found.sort(key=lambda e: (-(e.end - e.start), e.start))
        kept: list[Entity] = []
        for entity in found:
            if all(entity.end <= k.start or entity.start >= k.end for k in kept):
                kept.append(entity)
        kept.sort(key=lambda e: e.start)
        return tuple(self._labelled(text, e, place) for place, e in enumerate(kept))

    def _labelled(self, text: str, entity: Entity, place: int) -> Entity:
        roles, groups = self._roles.get(entity.entity), self._groups.get(entity.entity)
        if roles is None and groups is None:
            return entity
        features = _label_features(text, entity.start, entity.end, place)
        return replace(
            entity,
            role=roles.best(features) if roles else None,
            group=groups.best(features) if groups else None,
        )

    def _entity(self, name: str, match: re.Match[str], extractor: str) -> Entity:
        value = self._synonyms.get(match[0].lower(), match[0])
        return Entity(name, value, match.start(), match.end(), match[0], extractor)

    def mask(self, text: str) -> str:
        """The text with regex entities replaced by their name, so "order 10234" and
        "order 88812" look alike to the intent classifier (as Rasa's RegexFeaturizer helps)."""
        for pattern in self._patterns:
            if pattern.regex.flags & re.I:
                continue
            text = pattern.regex.sub(f" {pattern.entity} ", text)
        return text


def _alternation(words: set[str]) -> re.Pattern[str]:
    # Longest first, so "wireless headphones" wins over "headphones".
    alternation = "|".join(re.escape(v) for v in sorted(words, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternation})(?!\w)", re.I)
