"""Rasa's training-example markup: ``[text](entity)``, ``[text](entity:value)`` and
``[text]{"entity": "...", "value": "...", "role": "...", "group": "..."}`` inside an example,
turned into plain text and entity spans."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

_ANNOTATION = re.compile(r"\[(?P<text>[^\]]+)\](?:\((?P<short>[^)]+)\)|(?P<json>\{[^}]*\}))")


@dataclass(frozen=True, slots=True)
class Span:
    entity: str
    text: str
    value: str
    start: int
    end: int
    role: str | None = None
    group: str | None = None


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    intent: str
    entities: tuple[Span, ...] = ()


def parse_example(marked: str, intent: str) -> Example:
    """Strip the annotations from one example; raises ValueError on a malformed one."""
    plain: list[str] = []
    spans: list[Span] = []
    cursor = 0
    position = 0
    for match in _ANNOTATION.finditer(marked):
        plain.append(marked[cursor : match.start()])
        position += match.start() - cursor
        text = match["text"]
        role = group = None
        if match["short"] is not None:
            entity, _, value = match["short"].partition(":")
        else:
            try:
                spec = json.loads(match["json"])
            except json.JSONDecodeError as error:
                raise ValueError(f"bad entity annotation {match[0]!r}: {error}") from error
            if not isinstance(spec, dict) or "entity" not in spec:
                raise ValueError(f"entity annotation without 'entity': {match[0]!r}")
            entity, value = str(spec["entity"]), str(spec.get("value") or "")
            role = str(spec["role"]) if spec.get("role") else None
            group = str(spec["group"]) if spec.get("group") else None
        end = position + len(text)
        spans.append(Span(entity.strip(), text, value or text, position, end, role, group))
        plain.append(text)
        position += len(text)
        cursor = match.end()
    plain.append(marked[cursor:])
    text = "".join(plain)
    if not text.strip():
        raise ValueError("empty example")
    return Example(text, intent, tuple(spans))
