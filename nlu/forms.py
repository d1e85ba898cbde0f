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
server); without one the filled values stand. As Rasa 3.6 calls it: as the form starts (with
the slots already filled, none perhaps: a rasa-sdk FormValidationAction's ``extract_<slot>``
methods fill slots from the message's words then), and again when that returned nothing;
after each message while it runs, whether the message filled a slot or not (an
``extract_<slot>`` method may fill the one asked for); and when the form comes back after
an unhappy path, with nothing to validate (its ``required_slots`` may change what is asked).
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

# Validate slot candidates, on the tracker with ``before`` applied (the events of the form's
# start): the validation's events, or None when the form has no validation (the candidates
# then stand); FormDeclined when the validation rejects the form.
Validate = Callable[[Mapping[str, Any], Sequence[Event]], Awaitable[list[Event] | None]]
# Ask for a slot, given the slots as they are after the form's events so far.
Ask = Callable[[str, Mapping[str, Any]], Awaitable[None]]
# The slots the latest message fills with the named form active (as it starts).
Extract = Callable[[str], Awaitable[Sequence[Event]]]


async def _nothing(_form: str) -> Sequence[Event]:
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
    events: list[Event] = [ActiveLoop(form.name)] if tracker.active_loop != form.name else []
    if events:
        extracted = [e for e in await extract(form.name) if isinstance(e, SlotSet)]
        slots = {**tracker.slots, **{e.name: e.value for e in extracted}}
        prefilled = {s: slots[s] for s in form.required if slots.get(s) is not None}
        # Rasa's FormAction.activate validates even when nothing is filled yet.
        validated = await validate(prefilled, [*events, *extracted])
        if validated is None:
            events += extracted  # no validation: what the message filled stands
        else:
            # As Rasa: the validation's events, then the extracted slots it left unnamed.
            named = {e.name for e in validated if isinstance(e, SlotSet)}
            events += [*validated, *(e for e in extracted if e.name not in named)]
        if len(events) == 1:
            # Nothing came of the start: Rasa's FormAction.do validates the message as the
            # form's first run (on the tracker before the start, the form not yet active).
            events += await validate(candidates_of(form, tracker), ()) or []
    elif tracker.latest_action == ACTION_LISTEN and not interrupted:
        candidates = candidates_of(form, tracker)
        events += await validate(candidates, ()) or []
        some_validated = any(isinstance(e, SlotSet) and e.name != REQUESTED_SLOT for e in events)
        if tracker.slots.get(REQUESTED_SLOT) and not candidates and not some_validated:
            return None
    else:
        # Back after an unhappy path: Rasa calls the validation with nothing to validate
        # (a FormValidationAction may still change which slot comes next).
        events += await validate({}, ()) or []
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
    """The required slots the latest message filled (set since it came), and the slot the
    form asked for when it is not one of them (a validation's own ``required_slots`` may ask
    for more; Rasa's _get_slot_extractions)."""
    last = max(
        (i for i, e in enumerate(tracker.events) if isinstance(e, UserUttered)), default=None
    )
    if last is None:
        return {}
    wanted = set(form.required)
    if tracker.active_loop == form.name and tracker.slots.get(REQUESTED_SLOT):
        wanted.add(str(tracker.slots[REQUESTED_SLOT]))
    return {
        e.name: e.value
        for e in tracker.events[last:]
        if isinstance(e, SlotSet) and e.name in wanted
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
