"""The embedded engine's dialogue: which actions follow a customer message, from the project's
rules and stories, and what its responses say.

Rules first (as Rasa's RulePolicy outranks the others): a rule applies when its steps up to its
last intent are exactly the end of the conversation. Then stories, by memoisation: the story
whose steps match the longest stretch of the conversation's recent past (at most
``max_history`` turns, from config.yml) wins. Nothing matches: ``action_default_fallback``,
which says ``utter_default``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nlu.base import Entity
from nlu.project import Flow, Project, Response, Step

DEFAULT_FALLBACK = "action_default_fallback"
DEFAULT_MAX_HISTORY = 5
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True, slots=True)
class Turn:
    """One event of the conversation: a customer's intent (with entity names) or an action."""

    kind: str  # "intent" or "action"
    name: str
    entities: tuple[str, ...] = ()


class DialoguePolicy:
    def __init__(self, project: Project) -> None:
        self._rules = [f for f in project.flows if f.is_rule]
        self._stories = [f for f in project.flows if not f.is_rule]
        memo = project.component("MemoizationPolicy")
        self._max_history = int(memo.get("max_history") or DEFAULT_MAX_HISTORY)

    def next_actions(self, past: Sequence[Turn]) -> list[str]:
        """The actions to run after the last turn, which is the customer's intent."""
        for rule in self._rules:
            actions = _rule_actions(rule, past)
            if actions is not None:
                return actions
        best: tuple[float, list[str]] | None = None
        for story in self._stories:
            for index, step in enumerate(story.steps):
                if step.kind != "intent":
                    continue
                score = _suffix_score(story.steps[: index + 1], past, self._max_history)
                if score > 0 and (best is None or score > best[0]):
                    best = (score, _actions_after(story.steps, index))
        if best is not None and best[1]:
            return best[1]
        return [DEFAULT_FALLBACK]


def _matches(step: Step, turn: Turn) -> bool:
    return step.kind == turn.kind and step.name == turn.name


def _rule_actions(rule: Flow, past: Sequence[Turn]) -> list[str] | None:
    last_intent = max((i for i, s in enumerate(rule.steps) if s.kind == "intent"), default=None)
    if last_intent is None:
        return None
    condition = rule.steps[: last_intent + 1]
    if len(condition) > len(past):
        return None
    tail = past[len(past) - len(condition) :]
    # A rule step that names entities applies only when the message has them.
    if all(_matches(s, t) for s, t in zip(condition, tail, strict=True)) and set(
        condition[-1].entities
    ) <= set(tail[-1].entities):
        return _actions_after(rule.steps, last_intent)
    return None


def _suffix_score(prefix: Sequence[Step], past: Sequence[Turn], max_history: int) -> float:
    """How many steps, counting back from the end, the story prefix and the past share; the
    final intent must match. Entities named by the story and present add half a point."""
    matched = 0.0
    for step, turn in zip(reversed(prefix), reversed(past), strict=False):
        if not _matches(step, turn):
            break
        matched += 1
        if step.entities and set(step.entities) <= set(turn.entities):
            matched += 0.5
        if matched >= max_history * 2:
            break
    return matched


def _actions_after(steps: Sequence[Step], index: int) -> list[str]:
    actions = []
    for step in steps[index + 1 :]:
        if step.kind != "action":
            break
        actions.append(step.name)
    return actions


def fill_slots(
    project: Project, entity_history: Sequence[Sequence[Entity]], extra: Mapping[str, Any]
) -> dict[str, Any]:
    """Slot values from the entities seen so far (latest wins), as from_entity mappings do."""
    slots: dict[str, Any] = {slot.name: None for slot in project.slots}
    for entities in entity_history:
        for entity in entities:
            for slot in project.slots:
                if entity.entity in slot.entities:
                    slots[slot.name] = entity.value
    slots.update(extra)
    return slots


def choose_response(variations: Sequence[Response], slots: Mapping[str, Any]) -> Response | None:
    """Rasa's choice: a variation whose slot conditions all hold, else one without conditions.
    The first is taken rather than a random one, so answers are reproducible."""
    conditional = [
        v
        for v in variations
        if v.conditions and all(slots.get(name) == value for name, value in v.conditions)
    ]
    if conditional:
        return conditional[0]
    plain = [v for v in variations if not v.conditions]
    return plain[0] if plain else None


def render(template: str, values: Mapping[str, Any]) -> str:
    """Fill ``{name}`` placeholders from slots and action arguments; unknown ones stay."""

    def replace(match: re.Match[str]) -> str:
        value = values.get(match[1])
        return str(value) if value is not None else match[0]

    return _PLACEHOLDER.sub(replace, template)
