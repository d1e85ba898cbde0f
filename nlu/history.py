"""A conversation's tracker rebuilt from its stored history, when the kept one is missing
(after a restart, on another node, or evicted): what was said is kept (forms replayed, their
text slots refilled), and the slots each turn ended with, which the pipeline keeps with the
customer's message, are set again (custom actions' and form validation's, which a replay
cannot refill)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from nlu import journal
from nlu.base import PastTurn
from nlu.default_actions import EXTRACT_SLOTS, default_action, revert_last_message
from nlu.dialogue import BACK, DEFAULT_FALLBACK, RESTART, DialoguePolicy
from nlu.extraction import extract_slots
from nlu.forms import run_form
from nlu.project import SESSION_START, Project
from nlu.tracker import (
    ACTION_LISTEN,
    ActionExecuted,
    Event,
    LoopRejected,
    SlotSet,
    Tracker,
    UserUttered,
)


async def rebuild(project: Project, policy: DialoguePolicy, history: Sequence[PastTurn]) -> Tracker:
    """A tracker from the stored history. A message kept with its turn's record
    (``nlu.journal``) is replayed from it, event by event, as the turn applied them (the
    actions that spoke after it are in the record). Else, as the history says it: each
    message (with the slots it fills) after a listen, each action that spoke; forms are
    replayed (without validation, which only the action server knows) wherever the policy
    would have run them. The history is a bounded window (``PastTurn``'s source keeps the
    last few messages), and so is each record."""
    tracker = Tracker.start(project)

    async def nothing_to_validate(
        _candidates: Mapping[str, Any], _before: Sequence[Event]
    ) -> list[Event] | None:
        return None

    async def extract_at_start(form: str) -> list[SlotSet]:
        return extract_slots(project, tracker, active_loop=form)

    async def silently(_slot: str, _slots: Mapping[str, Any]) -> None:
        return None

    def executed(name: str) -> ActionExecuted:
        # Hidden from memoisation as it was when it ran, if a hidden rule predicts it now.
        predicted = policy.predict(tracker)
        return ActionExecuted(name, hidden=predicted.hide and predicted.action == name)

    async def replay_form(name: str) -> None:
        ran = executed(name)
        events = await run_form(
            project.forms[name],
            tracker,
            nothing_to_validate,
            silently,
            extract=extract_at_start,
        )
        if events is None:
            tracker.update(LoopRejected(name))
        else:
            tracker.update(ran)
            tracker.extend(events)

    kept: tuple[tuple[str, Any], ...] = ()

    def restore_kept() -> None:
        # What the previous message's turn ended with, where replaying it gave otherwise:
        # the slots its custom actions and form validation set.
        tracker.extend(SlotSet(k, v) for k, v in kept if tracker.slots.get(k, v) != v)

    recorded = False  # the latest message was replayed from its turn's record
    for turn in history:
        loop = tracker.active_loop
        if turn.intent is not None and turn.events:
            restore_kept()
            journal.replay(tracker, turn.events)
            # From the whole history this is the kept tracker already; from its tail (a
            # long conversation), what turns before the window set comes back from the
            # slots this turn ended with.
            kept, recorded = turn.slots, True
            restore_kept()
            kept = ()
            continue
        if turn.intent is None and recorded:
            continue  # an action its message's record has run
        recorded = False
        if turn.intent is not None:
            restore_kept()
            kept = turn.slots
            if tracker.events:
                tracker.update(executed(ACTION_LISTEN))
            else:
                tracker.update(ActionExecuted(ACTION_LISTEN))
            tracker.update(UserUttered(turn.intent, turn.entities, turn.text))
            tracker.extend(extract_slots(project, tracker))
            predicted = policy.predict(tracker).action
            if predicted in (RESTART, BACK) and predicted not in project.actions:
                # It may have said nothing: replayed from the message that asked for it.
                tracker.update(ActionExecuted(predicted))
                tracker.extend(default_action(project, None, predicted))
                tracker.followup = None  # its listen is the next message's
        elif turn.action in (RESTART, BACK) and turn.action not in project.actions:
            continue  # replayed with its message
        elif turn.action == DEFAULT_FALLBACK:
            revert_last_message(tracker)
        elif turn.action == EXTRACT_SLOTS:
            continue  # what a slot mapping's action said after the message
        elif turn.action == SESSION_START:
            # What the project's own session start said (first, or after a restart): Rasa's
            # applied events start after it, and its slots come back with the turn's.
            continue
        elif turn.action in project.forms:
            await replay_form(turn.action)
        elif turn.action:
            if loop and not tracker.loop_rejected and tracker.latest_action == ACTION_LISTEN:
                # The form ran first and said nothing (it finished, or declined).
                await replay_form(loop)
            tracker.update(executed(turn.action))
    restore_kept()
    # The session expires from the latest message the history says the time of.
    tracker.last_message_at = next(
        (t.at for t in reversed(history) if t.intent is not None and t.at is not None), None
    )
    return tracker
