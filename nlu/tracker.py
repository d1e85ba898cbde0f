"""A conversation as Rasa's tracker holds it: a list of events (the customer's messages,
slots set, actions run, loops started and stopped), and the dialogue *states* Rasa's policies
read from it.

A state is what the policies see before each action: the previous action, the latest
message's intent and entities, the slots that shape the dialogue (with their featurised
values) and the active loop. It is a frozenset of features, so a rule's state matches a
conversation's when it is a subset of it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from nlu.base import Entity
from nlu.project import SESSION_START, Project
from nlu.slots import Slot
from nlu.stories import NOT_SET
from nlu.used_entities import used_entities

ACTION_LISTEN = "action_listen"
# The wildcard a rule starts with: any action may come before it (Rasa's "...").
RULE_SNIPPET = "..."

Feature = tuple[str, ...]
State = frozenset[Feature]


@dataclass(frozen=True, slots=True)
class UserUttered:
    intent: str  # the full name: a retrieval intent keeps its sub-intent (faq/ask_hours)
    entities: tuple[Entity, ...] = ()
    text: str = ""

    @property
    def base_intent(self) -> str:
        return self.intent.split("/", 1)[0]


@dataclass(frozen=True, slots=True)
class SlotSet:
    name: str
    value: Any


@dataclass(frozen=True, slots=True)
class ActionExecuted:
    name: str
    # Predicted by a rule that no story goes through (Rasa's hide_rule_turn): the stories'
    # memoisation does not see this turn. Not part of what the event is.
    hidden: bool = field(default=False, compare=False)


@dataclass(frozen=True, slots=True)
class ActiveLoop:
    name: str | None  # None: the loop stops


@dataclass(frozen=True, slots=True)
class LoopRejected:
    """The active loop (a form) declined to run: nothing it asked for was given."""

    name: str


@dataclass(frozen=True, slots=True)
class AllSlotsReset:
    """Every slot back to its value at the start (rasa-sdk's AllSlotsReset, ``reset_slots``)."""


@dataclass(frozen=True, slots=True)
class FollowupAction:
    """The action to run next, whatever the policies would predict (rasa-sdk's
    FollowupAction, ``followup``)."""

    name: str


@dataclass(frozen=True, slots=True)
class Restarted:
    """The conversation starts over (Rasa's ``restart``: ``/restart``, or a custom action):
    what came before is forgotten and the slots go back to their start."""


@dataclass(frozen=True, slots=True)
class UserUtteranceReverted:
    """The latest message is forgotten, with everything after it and the listen before it
    (Rasa's ``rewind``)."""


@dataclass(frozen=True, slots=True)
class ActionReverted:
    """The latest action is forgotten, with everything after it (Rasa's ``undo``)."""


@dataclass(frozen=True, slots=True)
class MessageForgotten:
    """The default fallback forgets the message it did not understand, what followed it and
    the listen right before it; the slots the remaining events did not set keep their values.
    Not one of Rasa's events (its action_default_fallback returns UserUtteranceReverted):
    an event here so that a turn's record (``nlu.journal``) replays it."""


Event = (
    UserUttered
    | SlotSet
    | ActionExecuted
    | ActiveLoop
    | LoopRejected
    | AllSlotsReset
    | FollowupAction
    | Restarted
    | UserUtteranceReverted
    | ActionReverted
    | MessageForgotten
)
# The events after which Rasa's tracker is rebuilt from what remains, and the bot listens.
RESETS = (Restarted, UserUtteranceReverted, ActionReverted)
REQUESTED_SLOT = "requested_slot"


@dataclass
class Tracker:
    """The events so far and what they add up to (slots, active loop, latest message).

    ``events`` are those still applied, what the policies read (Rasa's ``applied_events``):
    a restart empties them, a rewind or an undo takes the latest message or action back out;
    ``log`` keeps every event as it came."""

    slots: dict[str, Any]
    events: list[Event] = field(default_factory=list)
    active_loop: str | None = None
    latest_message: UserUttered | None = None
    latest_action: str | None = None
    loop_rejected: bool = False
    # Set by an action's FollowupAction: the next action, taken instead of a prediction.
    followup: str | None = None
    # The slots at the start, which AllSlotsReset brings back.
    initial: dict[str, Any] = field(default_factory=dict)
    log: list[Event] = field(default_factory=list)
    # When the latest message came (seconds since the epoch; None: not known, a tracker
    # rebuilt from the stored history): a session expires from it.
    last_message_at: float | None = None

    def __post_init__(self) -> None:
        if not self.initial:
            self.initial = dict(self.slots)

    @classmethod
    def start(cls, project: Project) -> Tracker:
        slots = {slot.name: slot.initial for slot in project.slots}
        if project.forms:
            slots.setdefault(REQUESTED_SLOT, None)
        return cls(slots)

    def copy(self) -> Tracker:
        """The same conversation's state, to try actions on (Rasa's temporary trackers): its
        own events and slots, no log."""
        trial = Tracker(dict(self.slots), list(self.events), initial=dict(self.initial))
        trial.active_loop, trial.latest_message = self.active_loop, self.latest_message
        trial.latest_action, trial.loop_rejected = self.latest_action, self.loop_rejected
        return trial

    def update(self, event: Event) -> None:
        self.log.append(event)
        if isinstance(event, RESETS):
            self._reset(event)
            return
        if isinstance(event, MessageForgotten):
            self._forget_message()
            return
        self.events.append(event)
        if isinstance(event, UserUttered):
            self.latest_message = event
        elif isinstance(event, SlotSet):
            self.slots[event.name] = event.value
        elif isinstance(event, ActionExecuted):
            self.latest_action = event.name
            if event.name == self.active_loop:
                self.loop_rejected = False
        elif isinstance(event, ActiveLoop):
            self.active_loop = event.name
            self.loop_rejected = False
        elif isinstance(event, AllSlotsReset):
            self.slots = dict(self.initial)
        elif isinstance(event, FollowupAction):
            self.followup = event.name
        elif event.name == self.active_loop:
            self.loop_rejected = True

    def extend(self, events: Iterable[Event]) -> None:
        for event in events:
            self.update(event)

    def _reset(self, event: Restarted | UserUtteranceReverted | ActionReverted) -> None:
        """As Rasa's tracker applies these events: the events still applied are cut back,
        then replayed from the start to give the slots, loop and latest message they add up
        to."""
        kept = list(self.events)
        if isinstance(event, Restarted):
            kept = []
        elif isinstance(event, UserUtteranceReverted):
            # The message, then the listen before it.
            _undo_till(kept, UserUttered)
            _undo_till(kept, ActionExecuted)
        else:
            _undo_till(kept, ActionExecuted)
        log = self.log
        replayed = Tracker(dict(self.initial), initial=dict(self.initial))
        replayed.extend(kept)
        self.events, self.slots = replayed.events, replayed.slots
        self.active_loop, self.loop_rejected = replayed.active_loop, replayed.loop_rejected
        self.latest_message, self.latest_action = replayed.latest_message, replayed.latest_action
        self.log = log
        if isinstance(event, UserUtteranceReverted):
            # As Rasa: the policies predict again from what remains (after the bot's own
            # action before the message, usually a listen).
            self.followup = replayed.followup
        elif isinstance(event, Restarted):
            # As Rasa's Restarted.apply_to: the session starts again next (the domain's
            # session start or the project's own), and the bot listens after it.
            self.followup = SESSION_START
        else:
            # After an undo Rasa 3.6 predicts again from the message the action answered,
            # which predicts the same action again, without end (its request never
            # returns): here the bot listens.
            self.followup = ACTION_LISTEN

    def _forget_message(self) -> None:
        events = self.events
        last = max((i for i, e in enumerate(events) if isinstance(e, UserUttered)), default=None)
        if last is None:
            return
        before = events[last - 1] if last > 0 else None
        listen = isinstance(before, ActionExecuted) and before.name == ACTION_LISTEN
        cut = last - 1 if listen else last
        # The slots no event set keep their current value (set before the first event kept).
        set_by_events = {e.name for e in events if isinstance(e, SlotSet)}
        start: dict[str, Any] = {name: None for name in self.slots}
        start.update({k: v for k, v in self.slots.items() if k not in set_by_events})
        replayed = Tracker(start)
        replayed.extend(events[:cut])
        self.events, self.slots = replayed.events, replayed.slots
        self.active_loop = replayed.active_loop
        self.latest_message, self.latest_action = replayed.latest_message, replayed.latest_action


def _undo_till(events: list[Event], kind: type[UserUttered | ActionExecuted]) -> None:
    """Drop events from the end up to and with the latest of ``kind`` (Rasa's
    ``_undo_till_previous``)."""
    while events:
        if isinstance(events.pop(), kind):
            return


def collapse_loops(events: Sequence[Event]) -> list[Event]:
    """The events as Rasa's policies read them (``applied_events``): when a loop runs again
    on its happy path, what came since its previous run (the customer's answers, the
    listens) is left out, its slots kept, so that a story that goes from a form's start to
    its end in one step matches a conversation that filled the form over several messages.
    A run after another action answered the customer (an unhappy path) or after the loop
    declined is kept."""
    loops = {e.name for e in events if isinstance(e, ActiveLoop) and e.name and e.name != NOT_SET}
    applied: list[Event] = []
    for event in events:
        if (
            isinstance(event, ActionExecuted)
            and event.name in loops
            and not _first_run_or_unhappy_path(event.name, applied)
        ):
            _undo_till_previous_run(event.name, applied)
        else:
            applied.append(event)
    return applied


def _first_run_or_unhappy_path(loop: str, applied: Sequence[Event]) -> bool:
    """Rasa's _first_loop_execution_or_unhappy_path."""
    following: str | None = None  # the action after the event being looked at
    for event in reversed(applied):
        if isinstance(event, ActiveLoop) and event.name is None:
            return True  # the loop stopped since: this run starts it again
        if isinstance(event, LoopRejected) and event.name == loop:
            return True
        if isinstance(event, UserUttered) and following is not None and following != loop:
            return True  # another action answered the latest message
        if isinstance(event, ActionExecuted):
            if event.name == loop:
                return False
            following = event.name
    return True


def _undo_till_previous_run(loop: str, applied: list[Event]) -> None:
    """Drop the actions and messages since the loop's previous run; other events stay."""
    index = len(applied) - 1
    while index >= 0:
        event = applied[index]
        if isinstance(event, ActionExecuted) and event.name == loop:
            return
        if isinstance(event, ActionExecuted | UserUttered):
            del applied[index]
        index -= 1


class Featurizer:
    """Turns a tracker's events into Rasa's dialogue states."""

    def __init__(self, project: Project) -> None:
        self._slots = {s.name: s for s in project.slots if s.influence}
        self._entities = frozenset(project.entities) | frozenset(project.entity_labels)
        # Per intent, the entities its states keep (use_entities, ignore_entities).
        self._used = used_entities(project)

    def states(
        self, events: Sequence[Event], slots: dict[str, Any], collapse: bool = True
    ) -> list[State]:
        """The state before each action in ``events``, then the state after the last event
        (the one the next action is predicted from). ``slots`` are the initial values.
        ``collapse``: a loop's happy path read as Rasa's applied events read it (a tracker
        at prediction); False, every event (as Rasa's training trackers cache their states)."""
        tracker = Tracker(dict(slots))
        states: list[State] = []
        for event in collapse_loops(events) if collapse else events:
            if isinstance(event, ActionExecuted):
                states.append(self.state(tracker))
            tracker.update(event)
        states.append(self.state(tracker))
        return states

    def story_states(
        self, events: Sequence[Event], slots: dict[str, Any], rule_only: frozenset[str]
    ) -> list[State]:
        """The states the stories' memoisation sees, as Rasa's ML policies do: turns of rules
        that no story goes through are left out (the next state keeps the last action the
        stories know), and so are the slots and loops only rules mention (``rule_only``:
        their names)."""
        tracker = Tracker(dict(slots))
        states: list[State] = []
        last_prev: Feature | None = None
        hidden = False
        priors: list[tuple[State, str | None, str | None, bool]] = []
        for event in collapse_loops(events):
            if isinstance(event, ActionExecuted):
                priors.append(
                    (self.state(tracker), tracker.latest_action, tracker.active_loop, event.hidden)
                )
            tracker.update(event)
        priors.append((self.state(tracker), tracker.latest_action, tracker.active_loop, False))
        for state, latest, loop, hide in priors:
            if not hidden:
                last_prev = next((f for f in state if f[0] == "prev"), None)
            if not (loop and latest == loop):
                hidden = hide
            if hidden:
                continue
            kept = {f for f in state if not (f[0] in ("slot", "loop") and f[1] in rule_only)}
            if states and ("prev", ACTION_LISTEN) not in kept:
                # After a bot action the message is the one the previous state saw.
                kept = {f for f in kept if f[0] not in ("intent", "entity")}
                kept |= {f for f in states[-1] if f[0] in ("intent", "entity")}
            if last_prev is not None:
                kept = {f for f in kept if f[0] != "prev"} | {last_prev}
            states.append(frozenset(kept))
        return states

    def state(self, tracker: Tracker) -> State:
        features: set[Feature] = set()
        if tracker.latest_action is not None:
            features.add(("prev", tracker.latest_action))
        message = tracker.latest_message
        if message is not None:
            features.add(("intent", message.base_intent))
            wanted = self._used.get(message.base_intent, self._entities)
            for e in message.entities:
                # As Rasa's UserUttered.as_sub_state: the entity, and its role and group.
                for name in (e.entity, f"{e.entity}#{e.role}", f"{e.entity}#{e.group}"):
                    if name in self._entities and name in wanted:
                        features.add(("entity", name))
        for name, slot in self._slots.items():
            feature = featurise(slot, tracker.slots.get(name))
            if feature is not None:
                features.add(("slot", name, feature))
        if tracker.active_loop:
            features.add(("loop", tracker.active_loop))
        return frozenset(features)


def featurise(slot: Slot, value: Any) -> str | None:
    """The slot's value as Rasa's featurisation sees it; None when it counts as unset."""
    if value is None:
        return None
    if value == NOT_SET:
        return NOT_SET
    if slot.type == "categorical":
        text = str(value).lower()
        return text if text in slot.values else "__other__"
    if slot.type == "bool":
        return "true" if value in (True, "true", "True") else "false"
    if slot.type == "float":
        return str(value)
    if slot.type == "list":
        return "set" if value else None
    return "set"  # text: only whether it is set
