"""A turn's record (nlu/journal.py): every kind of event survives JSON (as Postgres keeps it)
and replays to the tracker the turn left, a follow-up still pending included."""

from __future__ import annotations

import orjson

from nlu import journal
from nlu.base import Entity
from nlu.tracker import (
    ACTION_LISTEN,
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

CITY = Entity("city", "Lyon", 8, 12, "Lyon", "DIETClassifier", role="destination", group="1")
EVENTS: list[Event] = [
    ActionExecuted(ACTION_LISTEN),
    UserUttered("faq/ask_hours", (CITY,), "to Lyon"),
    SlotSet("city", "Lyon"),
    SlotSet("stops", ["Paris", "Dijon"]),
    ActionExecuted("book_form", hidden=True),
    ActiveLoop("book_form"),
    LoopRejected("book_form"),
    ActiveLoop(None),
    AllSlotsReset(),
    FollowupAction("utter_bye"),
    UserUtteranceReverted(),
    ActionReverted(),
    MessageForgotten(),
    Restarted(),
]


def test_every_event_survives_json_and_replays_in_order() -> None:
    stored = orjson.loads(orjson.dumps(journal.record(EVENTS, "utter_bye")))
    replayed = Tracker({"city": None, "stops": None})
    journal.replay(replayed, stored)
    assert replayed.log == EVENTS
    hidden = [e.hidden for e in replayed.log if isinstance(e, ActionExecuted)]
    assert hidden == [False, True]
    assert replayed.followup == "utter_bye"


def test_a_replayed_turn_leaves_the_tracker_the_turn_left() -> None:
    events: list[Event] = [
        ActionExecuted(ACTION_LISTEN),
        UserUttered("order", (), "a large pizza"),
        SlotSet("size", "large"),
        ActionExecuted("action_try_size"),
        SlotSet("size", "changed"),
        ActionReverted(),
        ActionExecuted(ACTION_LISTEN),
    ]
    kept = Tracker({"size": None})
    kept.extend(events)
    kept.followup = None  # the turn took the listen the undo asked for
    replayed = Tracker({"size": None})
    journal.replay(replayed, orjson.loads(orjson.dumps(journal.record(kept.log, None))))
    assert (replayed.events, replayed.slots, replayed.log) == (kept.events, kept.slots, kept.log)
    assert replayed.slots["size"] == "large"
    assert replayed.followup is None


def test_a_record_past_the_bound_is_not_kept() -> None:
    many = [SlotSet("n", i) for i in range(journal.MAX_EVENTS + 1)]
    assert journal.record(many, None) == ()
    assert len(journal.record(many[:-1], None)) == journal.MAX_EVENTS


def test_an_item_of_a_later_version_is_skipped() -> None:
    replayed = Tracker({"size": None})
    journal.replay(
        replayed, [{"event": "something_new"}, {"event": "slot", "name": "size", "value": "s"}]
    )
    assert replayed.slots["size"] == "s"
