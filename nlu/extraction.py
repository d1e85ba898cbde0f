"""Slots filled from the customer's latest message through the domain's slot mappings, as
Rasa's ``action_extract_slots`` fills them after each message (and again as a form starts):
from_entity, from_text, from_intent and from_trigger_intent, with their intents, conditions
and the active form's ignored intents."""

from __future__ import annotations

from typing import Any

from nlu.base import Entity
from nlu.project import Project
from nlu.slots import Slot, SlotMapping
from nlu.tracker import SlotSet, Tracker, UserUttered


def extract_slots(
    project: Project, tracker: Tracker, *, active_loop: str | None = None
) -> list[SlotSet]:
    """The slots the latest message fills through the domain's mappings, as Rasa's
    ``action_extract_slots`` fills them: a mapping with conditions only while a form it names
    is active (and asks for the slot, when the condition says which), a
    ``from_trigger_intent`` mapping only while a form (one it names, if any) is active, and
    an active form's ``ignored_intents`` fill none of its mappings. ``active_loop``: the form
    that is starting, which Rasa's activation extracts for again (else the active one)."""
    message = tracker.latest_message
    if message is None:
        return []
    loop = active_loop or tracker.active_loop
    requested = tracker.slots.get("requested_slot")
    rejected = tracker.loop_rejected and active_loop is None
    events = []
    for slot in project.slots:
        for mapping in slot.mappings:
            if mapping.type != "from_trigger_intent" and not _conditions_hold(
                mapping, loop, requested, slot.name if rejected else None
            ):
                continue
            if _shared_with_another_slot(project, slot, mapping, loop, requested):
                continue
            value = mapped_value(slot, mapping, message, loop, _ignored(project, mapping, loop))
            if value is not None:
                # Set even when the slot holds that value already, as Rasa 3.6's
                # ActionExtractSlots.run sets it: the global and the form's validation
                # validate it again, and a form takes it as given.
                events.append(SlotSet(slot.name, value))
                break
    return events


def _conditions_hold(
    mapping: SlotMapping, loop: str | None, requested: Any, rejected_slot: str | None
) -> bool:
    # Rasa's _matches_mapping_conditions: a form that declined does not take its requested
    # slot from a condition; ``active_loop: null`` holds while no form is active.
    if not mapping.conditions:
        return True
    if rejected_slot is not None and requested == rejected_slot:
        return False
    for wanted_loop, wanted_slot in mapping.conditions:
        if wanted_loop and wanted_loop == loop and (not wanted_slot or wanted_slot == requested):
            return True
        if wanted_loop is None and loop is None:
            return True
    return False


def _shared_with_another_slot(
    project: Project, slot: Slot, mapping: SlotMapping, loop: str | None, requested: Any
) -> bool:
    """Rasa's _fails_unique_entity_mapping_check: while a form runs, an entity mapping that
    several of its required slots share fills only the slot the form asks for."""
    form = project.forms.get(loop or "")
    if mapping.type != "from_entity" or form is None or requested == slot.name:
        return False
    if slot.name not in form.required:
        return False
    shared = sum(
        other == mapping
        for s in project.slots
        if s.name in form.required
        for other in s.mappings
        if other.type == "from_entity"
    )
    return shared > 1


def _ignored(project: Project, mapping: SlotMapping, loop: str | None) -> tuple[str, ...]:
    """The active form's ignored_intents, which block a mapping its conditions do not tie
    to another form (Rasa's _get_active_loop_ignored_intents)."""
    form = project.forms.get(loop or "")
    if form is None:
        return ()
    if mapping.conditions and not any(wanted == loop for wanted, _ in mapping.conditions):
        return ()
    return form.ignored_intents


def custom_mapping_applies(
    project: Project, tracker: Tracker, slot: Slot, mapping: SlotMapping
) -> bool:
    """Whether Rasa's action_extract_slots runs a custom mapping's action after the latest
    message: its intents (and the active form's ignored intents) and its conditions hold."""
    message = tracker.latest_message
    if message is None or mapping.type != "custom" or mapping.action is None:
        return False
    loop = tracker.active_loop
    requested = tracker.slots.get("requested_slot")
    rejected = slot.name if tracker.loop_rejected else None
    return _conditions_hold(mapping, loop, requested, rejected) and _intent_is_desired(
        mapping, message, _ignored(project, mapping, loop)
    )


def _intent_is_desired(
    mapping: SlotMapping, message: UserUttered, ignored: tuple[str, ...]
) -> bool:
    intent = message.base_intent
    if mapping.intents:
        # Rasa's intent_is_desired: named intents are the only test then.
        return intent in mapping.intents or message.intent in mapping.intents
    return not {intent, message.intent} & {*mapping.not_intents, *ignored}


def mapped_value(
    slot: Slot,
    mapping: SlotMapping,
    message: UserUttered,
    active_loop: str | None = None,
    ignored: tuple[str, ...] = (),
) -> Any:
    """What one mapping takes from a message, None if it does not apply."""
    if not _intent_is_desired(mapping, message, ignored):
        return None
    if mapping.type == "from_entity":
        values = [e.value for e in message.entities if _entity_fits(e, mapping)]
        if not values:
            return None
        return values if slot.type == "list" else values[-1]
    value = _single_value(mapping, message, active_loop)
    # As Rasa's extract_slot_value_from_predefined_mapping: a list of one value, which a
    # list slot keeps as a list.
    return [value] if value is not None and slot.type == "list" else value


def _single_value(mapping: SlotMapping, message: UserUttered, active_loop: str | None) -> Any:
    if mapping.type == "from_text":
        return message.text or None
    if mapping.type == "from_intent":
        return mapping.value
    if mapping.type == "from_trigger_intent":
        # Filled while a form runs (Rasa extracts again as a form starts, the form active):
        # the one its conditions name, or any when they name none.
        loops = [wanted for wanted, _ in mapping.conditions]
        if active_loop is not None and (not loops or active_loop in loops):
            return mapping.value
    return None


def _entity_fits(entity: Entity, mapping: SlotMapping) -> bool:
    # As Rasa: a mapping that names a role or a group takes only the entity that has it.
    return (
        entity.entity == mapping.entity
        and (mapping.role is None or mapping.role == entity.role)
        and (mapping.group is None or mapping.group == entity.group)
    )
