"""The part of Rasa's ``action_extract_slots`` that runs on the action server: the actions
of ``custom`` slot mappings (``mappings: - type: custom, action: ...``) and the project's
global slot validation, ``action_validate_slot_mappings`` (rasa-sdk's ``ValidationAction``),
after each message and again as a form starts, as Rasa 3.6 calls them.

Rasa runs each custom mapping's action once a message (when the mapping's intents and
conditions hold) and keeps only the slots it sets: what it says is dropped (Rasa 3.6.21's
``_execute_validation_action`` passes on SlotSet events alone). Then, when the domain lists
``action_validate_slot_mappings``, it calls that on the conversation with every slot just
extracted appended: its slots replace those it names, the others stand, and what it says is
said. A failing action fills nothing (Rasa logs a warning and goes on).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import structlog

from nlu.action_server import ActionServer, ActionServerError, Said
from nlu.extraction import custom_mapping_applies, extract_slots
from nlu.project import VALIDATE_SLOT_MAPPINGS, Project
from nlu.tracker import ActiveLoop, SlotSet, Tracker

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Extraction:
    """The slots a message fills and what the global slot validation said."""

    events: list[SlotSet]
    said: tuple[Said, ...] = ()


async def extract(
    project: Project,
    tracker: Tracker,
    server: ActionServer | None,
    conversation_id: str,
    *,
    active_loop: str | None = None,
) -> Extraction:
    """The domain's mappings (``nlu.extraction``), then the custom mappings' actions and the
    global validation on the action server (none without one: named at training).
    ``active_loop``: the form that is starting (Rasa extracts again then, the form active)."""
    events = list(extract_slots(project, tracker, active_loop=active_loop))
    if server is None:
        return Extraction(events)
    seen = tracker
    if active_loop is not None and tracker.active_loop != active_loop:
        # Rasa's activation extracts on a tracker where the form is already active.
        seen = tracker.copy()
        seen.update(ActiveLoop(active_loop))
    ran: set[str] = set()
    for slot in project.slots:
        for mapping in slot.mappings:
            action = mapping.action
            if action is None or action in ran:
                continue
            if not custom_mapping_applies(project, seen, slot, mapping):
                continue
            ran.add(action)
            found, _ = await _run(server, action, conversation_id, seen, project)
            events += found
    if VALIDATE_SLOT_MAPPINGS not in project.actions:
        return Extraction(events)
    trial = seen.copy()
    trial.extend(events)
    validated, spoken = await _run(server, VALIDATE_SLOT_MAPPINGS, conversation_id, trial, project)
    # As Rasa: a slot the validation does not name was valid as extracted.
    named = {e.name for e in validated}
    kept = [*validated, *(e for e in events if e.name not in named)]
    return Extraction(kept, tuple(spoken))


async def _run(
    server: ActionServer, action: str, conversation_id: str, tracker: Tracker, project: Project
) -> tuple[list[SlotSet], Sequence[Said]]:
    """The slots the action sets and what it says; other events are not applied (as Rasa,
    which logs them)."""
    try:
        outcome = await server.run(action, conversation_id, tracker, project)
    except ActionServerError as error:
        log.warning("slot extraction action failed", action=action, error=str(error))
        return [], ()
    if outcome.rejected:
        log.warning("slot extraction action rejected", action=action)
        return [], ()
    slots = [e for e in outcome.events if isinstance(e, SlotSet)]
    if len(slots) != len(outcome.events) or outcome.unsupported:
        log.info("slot extraction action events not applied", action=action)
    return slots, outcome.said
