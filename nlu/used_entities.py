"""Which of a message's entities Rasa's dialogue states keep, per intent: the domain's
``use_entities`` / ``ignore_entities`` on an intent, and ``influence_conversation: false``
on an entity (ignored by every intent that does not say otherwise), as Rasa's
``Domain._transform_intent_properties_for_internal_use`` works them out. Slots are still
filled from every entity; only what the rules and stories compare changes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nlu.project import Project


@dataclass(frozen=True, slots=True)
class IntentEntities:
    """An intent's entry in the domain: the entities it uses (None: all of them) and those
    it ignores (None: the entities the domain does not let influence the conversation)."""

    use: tuple[str, ...] | None = None
    ignore: tuple[str, ...] | None = None


def intent_entities(spec: dict[str, Any]) -> IntentEntities:
    """An intent's properties (``- transfer_money: {use_entities: []}``)."""
    use = spec.get("use_entities", True)
    ignore = spec.get("ignore_entities")
    return IntentEntities(
        use=None if use is True else tuple(str(e) for e in use or ()),
        ignore=None if ignore is None else tuple(str(e) for e in ignore or ()),
    )


def used_entities(project: Project) -> dict[str, frozenset[str]]:
    """Per domain intent, the entity names (and ``entity#role`` labels) its states keep.
    An intent the domain does not list keeps them all, as in Rasa."""
    default_ignored = tuple(project.unfeaturized_entities)

    def with_labels(names: Iterable[str]) -> set[str]:
        names = set(names)
        return names | {label for label in project.entity_labels if label.split("#")[0] in names}

    used = {}
    for intent in project.intents:
        spec = project.intent_entities.get(intent, IntentEntities())
        if spec.use is None:
            included = (set(project.entities) - set(default_ignored)) | project.entity_labels
        else:
            included = with_labels(spec.use)
        excluded = with_labels(default_ignored if spec.ignore is None else spec.ignore)
        used[intent] = frozenset(included - excluded)
    return used
