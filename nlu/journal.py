"""What one turn did to a conversation's tracker, as JSON kept with the customer's message, and
its replay.

A tracker the embedded engine no longer keeps (after a restart, on another node, or evicted)
is rebuilt from the stored history (``nlu.conversation.rebuild``). The intents, the actions
that spoke and the slots each turn ended with do not say what a custom action took back (a
rewind, an undo, a restart, reset slots, a follow-up): replayed from them alone, a rewound
message counted again for memoisation and a custom action's restart was forgotten. A turn's
record is every event it applied, in order (those a restart or a rewind took back
included), and the action still to run when it ended (a follow-up not taken), so applying
the records of the turns in order gives the tracker the engine kept.

Bounded: a turn runs at most ``MAX_ACTIONS`` actions (``nlu.conversation``), and a record
longer than ``MAX_EVENTS`` (an action server that sets hundreds of slots) is not kept: that
turn is replayed from the history as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from nlu.base import Entity
from nlu.tracker import (
    ActionExecuted,
    ActionReverted,
    ActiveLoop,
    AllSlotsReset,
    Event,
    FollowupAction,
    LoopRejected,
    MessageForgotten,
    Restarted,
    SlotSet,
    Tracker,
    UserUtteranceReverted,
    UserUttered,
)

# Events in one turn's record, at most. A turn of ten actions, each setting a few slots, is
# a few dozen.
MAX_EVENTS = 200
# The record's last item when the turn ended with an action still to run.
PENDING = "pending"

Record = tuple[dict[str, Any], ...]

_NAMELESS: dict[str, Event] = {
    "reset_slots": AllSlotsReset(),
    "restart": Restarted(),
    "rewind": UserUtteranceReverted(),
    "undo": ActionReverted(),
    "forget_message": MessageForgotten(),
}


def record(events: Sequence[Event], followup: str | None) -> Record:
    """The turn's events as JSON values; () when there are more than ``MAX_EVENTS``."""
    if len(events) > MAX_EVENTS:
        return ()
    items = [_item(event) for event in events]
    if followup is not None:
        items.append({"event": PENDING, "name": followup})
    return tuple(items)


def replay(tracker: Tracker, items: Sequence[dict[str, Any]]) -> None:
    """Apply a turn's record to ``tracker``, as the turn applied it. An item this version
    does not know (a record written by a later one) is skipped."""
    followup: str | None = None
    for item in items:
        kind = item.get("event")
        if kind == PENDING:
            followup = str(item["name"])
            continue
        event = _event(item)
        if event is not None:
            tracker.update(event)
    # A follow-up is taken (or dropped) by the turn that set it, outside the events: what
    # is left is the one the turn ended with.
    tracker.followup = followup


def _item(event: Event) -> dict[str, Any]:
    if isinstance(event, UserUttered):
        return {
            "event": "user",
            "intent": event.intent,
            "entities": [asdict(e) for e in event.entities],
            "text": event.text,
        }
    if isinstance(event, SlotSet):
        return {"event": "slot", "name": event.name, "value": event.value}
    if isinstance(event, ActionExecuted):
        return {"event": "action", "name": event.name, "hidden": event.hidden}
    if isinstance(event, ActiveLoop):
        return {"event": "active_loop", "name": event.name}
    if isinstance(event, LoopRejected):
        return {"event": "loop_rejected", "name": event.name}
    if isinstance(event, FollowupAction):
        return {"event": "followup", "name": event.name}
    name = next(k for k, v in _NAMELESS.items() if v == event)
    return {"event": name}


def _event(item: dict[str, Any]) -> Event | None:
    kind = item.get("event")
    if kind == "user":
        entities = tuple(Entity(**e) for e in item.get("entities") or ())
        return UserUttered(str(item["intent"]), entities, str(item.get("text") or ""))
    if kind == "slot":
        return SlotSet(str(item["name"]), item.get("value"))
    if kind == "action":
        return ActionExecuted(str(item["name"]), hidden=bool(item.get("hidden")))
    if kind == "active_loop":
        name = item.get("name")
        return ActiveLoop(str(name) if name is not None else None)
    if kind == "loop_rejected":
        return LoopRejected(str(item["name"]))
    if kind == "followup":
        return FollowupAction(str(item["name"]))
    return _NAMELESS.get(str(kind))
