"""Entities from a project's own definitions: regexes, lookup tables, the values annotated in
its examples, and synonyms; what Rasa's RegexEntityExtractor and EntitySynonymMapper do."""

from __future__ import annotations

import re
from dataclasses import dataclass

from nlu.base import Entity
from nlu.project import Project

EXTRACTOR = "RegexEntityExtractor"


@dataclass(frozen=True, slots=True)
class _Pattern:
    entity: str
    regex: re.Pattern[str]


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
        literals: dict[str, set[str]] = {}
        for name, values in project.lookups.items():
            literals.setdefault(name, set()).update(v for v in values if v.strip())
        regex_entities = {r.name for r in project.regexes}
        for example in project.examples:
            for span in example.entities:
                # Annotated values teach an entity's vocabulary; where a regex already
                # describes the entity (order numbers), its values are not literal words.
                if span.entity not in regex_entities:
                    literals.setdefault(span.entity, set()).add(span.text)
        for name, words in literals.items():
            # Longest first, so "wireless headphones" wins over "headphones".
            alternation = "|".join(re.escape(v) for v in sorted(words, key=len, reverse=True))
            patterns.append(_Pattern(name, re.compile(rf"(?<!\w)(?:{alternation})(?!\w)", re.I)))
        self._patterns = patterns
        self._synonyms = project.synonyms

    def extract(self, text: str) -> tuple[Entity, ...]:
        found: list[Entity] = []
        for pattern in self._patterns:
            for match in pattern.regex.finditer(text):
                value = self._synonyms.get(match[0].lower(), match[0])
                found.append(
                    Entity(pattern.entity, value, match.start(), match.end(), match[0], EXTRACTOR)
                )
        # Overlapping matches: the longest span wins, then the earliest.
        found.sort(key=lambda e: (-(e.end - e.start), e.start))
        kept: list[Entity] = []
        for entity in found:
            if all(entity.end <= k.start or entity.start >= k.end for k in kept):
                kept.append(entity)
        return tuple(sorted(kept, key=lambda e: e.start))

    def mask(self, text: str) -> str:
        """The text with regex entities replaced by their name, so "order 10234" and
        "order 88812" look alike to the intent classifier (as Rasa's RegexFeaturizer helps)."""
        for pattern in self._patterns:
            if pattern.regex.flags & re.I:
                continue
            text = pattern.regex.sub(f" {pattern.entity} ", text)
        return text
