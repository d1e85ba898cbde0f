"""Rasa 3 forms in the embedded engine, as Rasa's FormAction runs them.

On activation the form starts its loop, takes the slots the message that started it fills
now that the form is active (Rasa extracts again then: ``from_trigger_intent`` mappings,
conditions on the form) and validates the required slots already filled;
while active, after each message it takes the slots the message filled (the domain's slot
mappings, applied before it runs) and validates them; if it had asked for a slot and the
message filled none, it declines to run (the rules then decide: an unhappy path). Then it
asks for the next empty required slot (``utter_ask_<form>_<slot>`` or ``utter_ask_<slot>``)
and listens, or, when none is left, stops (``requested_slot`` and the loop unset).

Validation is the project's ``validate_<form>`` action when it has one (on the action
server); without one the filled values stand.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from nlu.slots import Form
from nlu.tracker import (
    ACTION_LISTEN,
    REQUESTED_SLOT,
    ActiveLoop,
    Event,
    SlotSet,
    Tracker,
    UserUttered,
)

# Validate slot candidates: the validation's events, or None when the form has no
# validation (the candidates then stand); FormDeclined when the validation rejects the form.
Validate = Callable[[Mapping[str, Any]], Awaitable[list[Event] | None]]
# Ask for a slot, given the slots as they are after the form's events so far.
Ask = Callable[[str, Mapping[str, Any]], Awaitable[None]]
# The slots the latest message fills with the named form active (as it starts).
Extract = Callable[[str], Sequence[Event]]


def _nothing(_form: str) -> Sequence[Event]:
    return ()


class FormDeclined(Exception):
    """The form's validation rejected it (the action server answered 400)."""


async def run_form(
    form: Form,
    tracker: Tracker,
    validate: Validate,
    ask: Ask,
    *,
    interrupted: bool = False,
    extract: Extract = _nothing,
) -> list[Event] | None:
    """The form's events, or None when it declines to run. ``interrupted``: it comes back
    after an unhappy path, so it asks again without validating."""
    try:
        return await _run(form, tracker, validate, ask, interrupted=interrupted, extract=extract)
    except FormDeclined:
        return None


async def _run(
    form: Form,
    tracker: Tracker,
    validate: Validate,
    ask: Ask,
    *,
    interrupted: bool,
    extract: Extract,
) -> list[Event] | None:
    events: list[Event] = []
    if tracker.active_loop != form.name:
        events.append(ActiveLoop(form.name))
        extracted = [e for e in extract(form.name) if isinstance(e, SlotSet)]
        slots = {**tracker.slots, **{e.name: e.value for e in extracted}}
        prefilled = {s: slots[s] for s in form.required if slots.get(s) is not None}
        validated = await validate(prefilled) if prefilled else None
        if validated is None:
            events += extracted  # no validation: what the message filled stands
        else:
            # As Rasa: the validation's events, then the extracted slots it left unnamed.
            named = {e.name for e in validated if isinstance(e, SlotSet)}
            events += [*validated, *(e for e in extracted if e.name not in named)]
    elif tracker.latest_action == ACTION_LISTEN and not interrupted:
        candidates = candidates_of(form, tracker)
        validated = await validate(candidates) if candidates else None
        events += validated or []
        some_validated = any(isinstance(e, SlotSet) and e.name != REQUESTED_SLOT for e in events)
        if tracker.slots.get(REQUESTED_SLOT) and not candidates and not some_validated:
            return None
    if not _done(events):
        slots = dict(tracker.slots)
        slots.update((e.name, e.value) for e in events if isinstance(e, SlotSet))
        requested = next(
            (e.value for e in events if isinstance(e, SlotSet) and e.name == REQUESTED_SLOT),
            None,
        )
        if not requested:
            requested = next((s for s in form.required if slots.get(s) is None), None)
            events.append(SlotSet(REQUESTED_SLOT, requested))
            slots[REQUESTED_SLOT] = requested
        if requested:
            await ask(str(requested), slots)
    if _done(events):
        events.append(ActiveLoop(None))
    return events


def candidates_of(form: Form, tracker: Tracker) -> dict[str, Any]:
    """The required slots the latest message filled (set since it came)."""
    last = max(
        (i for i, e in enumerate(tracker.events) if isinstance(e, UserUttered)), default=None
    )
    if last is None:
        return {}
    return {
        e.name: e.value
        for e in tracker.events[last:]
        if isinstance(e, SlotSet) and e.name in form.required
    }


def ask_actions(form: Form, slot: str) -> tuple[str, ...]:
    """Where a question for the slot may come from, in Rasa's order of preference."""
    return (
        f"action_ask_{form.name}_{slot}",
        f"action_ask_{slot}",
        f"utter_ask_{form.name}_{slot}",
        f"utter_ask_{slot}",
    )


def _done(events: list[Event]) -> bool:
    requested = [e for e in events if isinstance(e, SlotSet) and e.name == REQUESTED_SLOT]
    loops = [e for e in events if isinstance(e, ActiveLoop)]
    return bool(requested and requested[-1].value is None) or bool(loops and loops[-1].name is None)
