"""The embedded engine's dialogue policy: which action follows, from the project's rules and
stories, as Rasa's RulePolicy and (Augmented)MemoizationPolicy decide it.

Rules first: a rule's states (from its first step on, its ``condition:`` slots and loop held
throughout) must each be contained in the conversation's states at the same distance from
its end, ``slot: null`` meaning the slot is unset; of several, the most specific wins, as
RulePolicy picks the longest rule. Then stories, by memoisation: the last ``max_history``
states must be exactly a stretch the stories went through. With AugmentedMemoizationPolicy,
the conversation's oldest events are forgotten one action at a time until a stretch
matches. With TEDPolicy configured (which the engine does not run, and says so), the story
whose intents and actions best match the recent turns stands in for it. Nothing matches:
``action_default_fallback``.
"""

from __future__ import annotations

import random
import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from nlu.base import Entity
from nlu.project import Project, Response
from nlu.stories import NOT_SET, Flow, Step
from nlu.support import section
from nlu.tracker import (
    ACTION_LISTEN,
    RULE_SNIPPET,
    ActionExecuted,
    ActiveLoop,
    Event,
    Featurizer,
    SlotSet,
    State,
    Tracker,
    UserUttered,
    collapse_loops,
)

DEFAULT_FALLBACK = "action_default_fallback"
RESTART, BACK = "action_restart", "action_back"
# The intents every Rasa domain has, and the default actions RulePolicy runs for them.
DEFAULT_ACTIONS = {"restart": RESTART, "back": BACK}
# How many turns back the TED stand-in compares when memoisation sets no max_history.
TED_HISTORY = 5
# Rasa 3.6's interpolate_text: any text between braces without a newline or a brace names a
# slot ("{first-name}" too), each turned into an index of the values' mapping and formatted.
_PLACEHOLDER = re.compile(r"\{([^\n{}]+?)\}")
_INDEXED = re.compile(r"0\[([^\]]*)\]")


class _SlotFormatter(string.Formatter):
    """str.format limited to what Rasa's rewriting produces, ``{0[name]}``: a value looked up
    by its name and nothing else. A template's ``{a].__class__[b}`` would otherwise read the
    value's attributes, as Rasa's plain str.format does."""

    def get_field(self, field_name: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
        indexed = _INDEXED.fullmatch(field_name)
        if indexed is None or not args:
            raise KeyError(field_name)
        return args[0][indexed[1]], field_name


_FORMATTER = _SlotFormatter()


@dataclass(frozen=True, slots=True)
class Turn:
    """One event of the conversation, for the TED stand-in: a customer's intent (with entity
    names) or an action."""

    kind: str  # "intent" or "action"
    name: str
    entities: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Prediction:
    action: str
    policy: str  # "loop", "loop_return", "rule", "memo", "ted", "fallback" or "followup"
    # A rule's turn no story goes through: memoisation will not see it (hide_rule_turn).
    hide: bool = False


@dataclass(frozen=True, slots=True)
class _Rule:
    states: tuple[State, ...]
    action: str
    weight: int  # how specific it is: RulePolicy prefers its longest key
    name: str
    source: str = ""  # what names this prediction (Rasa's rule key)


def flow_events(flow: Flow, *, rule: bool) -> list[Event]:
    """The events a rule or story stands for, with the implicit listen before each message
    (a rule starts with Rasa's "any action" wildcard unless it opens the conversation)."""
    events: list[Event] = []
    if rule and not flow.conversation_start:
        events.append(ActionExecuted(RULE_SNIPPET))
    for step in (*flow.conditions, *flow.steps):
        if step.kind == "intent":
            if not events or events[-1] != ActionExecuted(ACTION_LISTEN):
                events.append(ActionExecuted(ACTION_LISTEN))
            entities = tuple(Entity(name, "", 0, 0, "", "story") for name in step.entities)
            events.append(UserUttered(step.name, entities))
        elif step.kind == "action":
            events.append(ActionExecuted(step.name))
        elif step.kind == "slot":
            events.append(SlotSet(step.name, step.value))
        else:
            loop = step.name or (NOT_SET if rule else None)
            events.append(ActiveLoop(loop))
    return events


class DialoguePolicy:
    def __init__(self, project: Project) -> None:
        self._featurizer = Featurizer(project)
        self._initial = {slot.name: slot.initial for slot in project.slots}
        policies = {str(p.get("name")): p for p in section(project, "policies")}
        self._augmented = "AugmentedMemoizationPolicy" in policies
        memo = policies.get("AugmentedMemoizationPolicy") or policies.get("MemoizationPolicy")
        self._memorising = memo is not None
        # Rasa's memoisation remembers whole stories unless max_history bounds it.
        history = (memo or {}).get("max_history")
        self._max_history: int | None = int(history) if history else None
        rules = [r for f in project.flows if f.is_rule for r in self._rule_keys(f)]
        self._rules = [replace(r, source=f"rule {i}") for i, r in enumerate(rules)]
        self._stories = [f for f in project.flows if not f.is_rule]
        self._rule_only = _rule_only_names(project.flows)
        self._memo: dict[tuple[State, ...], str | None] = {}
        for flow in self._stories if self._memorising else ():
            self._memorise(flow)
        self._ted = "TEDPolicy" in policies
        self._rule_policy = "RulePolicy" in policies
        sources = {r.source for r in self._rules}
        sources |= {f"loop {name}" for name in project.forms}
        sources |= {f"loop {name} listen" for name in project.forms}
        self._hidden = frozenset(sources - self._sources_in_stories())

    def _rule_keys(self, flow: Flow) -> list[_Rule]:
        events = flow_events(flow, rule=True)
        states, actions = self._training(events, {})
        keys = []
        for index, action in enumerate(actions):
            if action.name == RULE_SNIPPET:
                continue
            keys.append(self._rule(flow, states[: index + 1], action.name))
        if flow.wait_for_user_input and actions and isinstance(events[-1], ActionExecuted):
            keys.append(self._rule(flow, states, ACTION_LISTEN))
        return [k for k in keys if k.states]

    def _training(
        self, events: Sequence[Event], slots: dict[str, Any]
    ) -> tuple[list[State], list[ActionExecuted]]:
        """A training flow's states and the actions they are paired with, as Rasa trains
        (tracker_featurizers._extract_examples): the states from every event, as its
        training trackers cache them, and the actions from the applied events, a loop's
        happy path collapsed. A story that writes a form's turns out pairs them as Rasa
        does (and learns what Rasa learns from it); one that crosses the form in one step
        has nothing to collapse."""
        states = self._featurizer.states(events, slots, collapse=False)
        actions = [e for e in collapse_loops(events) if isinstance(e, ActionExecuted)]
        return states, actions

    def _rule(self, flow: Flow, states: Sequence[State], action: str) -> _Rule:
        # The states up to the wildcard are dropped: the rule starts after it.
        start = max((i + 1 for i, s in enumerate(states) if ("prev", RULE_SNIPPET) in s), default=0)
        kept = tuple(states[start:])
        weight = sum(len("".join(f)) + 8 for state in kept for f in state)
        return _Rule(kept, action, weight, flow.name)

    def _memorise(self, flow: Flow) -> None:
        events = [*flow_events(flow, rule=False)]
        if not events or events[-1] != ActionExecuted(ACTION_LISTEN):
            events.append(ActionExecuted(ACTION_LISTEN))
        states, actions = self._training(events, self._initial)
        for index, action in enumerate(a.name for a in actions):
            key = self._window(states[: index + 1])
            known = self._memo.get(key, action)
            # Stories that disagree on a stretch teach nothing about it, as in Rasa.
            self._memo[key] = action if known == action else None

    def _sources_in_stories(self) -> set[str]:
        """The rules (and loops) whose predictions some story goes through, as RulePolicy
        finds them replaying the stories; the turns of the others are hidden from
        memoisation."""
        used: set[str] = set()
        for story in self._stories:
            events = [*flow_events(story, rule=False), ActionExecuted(ACTION_LISTEN)]
            tracker = Tracker(dict(self._initial))
            first = True
            for event in events:
                if isinstance(event, ActionExecuted) and not first:
                    predicted = self._by_rules(tracker)
                    if predicted is not None and predicted[0].action == event.name:
                        used.add(predicted[1])
                first = first and not isinstance(event, ActionExecuted)
                tracker.update(event)
        return used

    def predict(self, tracker: Tracker) -> Prediction:
        """The next action after the tracker's events (a conversation from its start)."""
        events = tracker.events
        by_rules = self._by_rules(tracker)
        if by_rules is not None:
            prediction, source = by_rules
            return replace(prediction, hide=source in self._hidden)
        states = self._featurizer.story_states(events, self._initial, self._rule_only)
        action = self._memo.get(self._window(states))
        if action is None and self._augmented:
            action = self._recall_by_forgetting(events)
        if action is not None:
            return Prediction(action, "memo")
        if self._ted:
            guessed = self._story_like(events)
            if guessed is not None:
                return Prediction(guessed, "ted")
        return Prediction(DEFAULT_FALLBACK, "fallback")

    def _window(self, states: Sequence[State]) -> tuple[State, ...]:
        """The stretch memoisation compares: the last max_history states, or all of them."""
        return tuple(states if self._max_history is None else states[-self._max_history :])

    def _by_rules(self, tracker: Tracker) -> tuple[Prediction, str] | None:
        """What RulePolicy predicts (a default action first, an active loop next, then the
        rules), and its source."""
        message = tracker.latest_message
        if (
            self._rule_policy
            and tracker.latest_action == ACTION_LISTEN
            and message is not None
            and message.intent in DEFAULT_ACTIONS
        ):
            # /restart and /back, whatever the rules say, as RulePolicy's default rules.
            return Prediction(DEFAULT_ACTIONS[message.intent], "rule"), f"default {message.intent}"
        loop = tracker.active_loop
        if loop and not tracker.loop_rejected:
            # An active form runs after each message, then listens (RulePolicy's loop
            # happy path); rules only apply when it declined to run.
            if tracker.latest_action == loop:
                return Prediction(ACTION_LISTEN, "loop"), f"loop {loop} listen"
            return Prediction(loop, "loop"), f"loop {loop}"
        rule = self._rule_for(self._featurizer.states(tracker.events, self._initial))
        if rule is None:
            return None
        if (
            loop
            and rule.action == ACTION_LISTEN
            and not any(f[0] == "loop" for f in rule.states[-1])
        ):
            # A general rule ended inside a form: back to the form, which asks again.
            return Prediction(loop, "loop_return"), rule.source
        return Prediction(rule.action, "rule"), rule.source

    def _rule_for(self, states: Sequence[State]) -> _Rule | None:
        best: _Rule | None = None
        for rule in self._rules:
            if _rule_applies(rule.states, states) and (best is None or rule.weight > best.weight):
                best = rule
        return best

    def _recall_by_forgetting(self, events: Sequence[Event]) -> str | None:
        """AugmentedMemoizationPolicy: keep the last ``max_history`` actions' events, then
        forget from the oldest action to the next until the stories know the stretch (slots
        set in the forgotten part are forgotten too)."""
        starts = [i for i, e in enumerate(events) if isinstance(e, ActionExecuted)]
        recent = starts if self._max_history is None else starts[-self._max_history :]
        for start in recent:
            states = self._featurizer.story_states(events[start:], self._initial, self._rule_only)
            action = self._memo.get(self._window(states))
            if action is not None:
                return action
        return None

    def _story_like(self, events: Sequence[Event]) -> str | None:
        past = [
            Turn("intent", e.base_intent, tuple(x.entity for x in e.entities))
            if isinstance(e, UserUttered)
            else Turn("action", e.name)
            for e in events
            if isinstance(e, UserUttered)
            or (isinstance(e, ActionExecuted) and e.name != ACTION_LISTEN)
        ]
        if not past:
            return None
        best: tuple[float, str] | None = None
        for story in self._stories:
            for index, step in enumerate(story.steps):
                if step.kind not in ("intent", "action"):
                    continue
                history = self._max_history or TED_HISTORY
                score = _suffix_score(story.steps[: index + 1], past, history)
                following = _action_after(story.steps, index)
                if score > 0 and (best is None or score > best[0]):
                    best = (score, following)
        return best[1] if best is not None else None


def _rule_only_names(flows: Sequence[Flow]) -> frozenset[str]:
    """Slots and loops that rules mention and no story does: memoisation ignores them."""

    def named(flow: Flow) -> set[str]:
        return {s.name for s in (*flow.conditions, *flow.steps) if s.kind in ("slot", "loop")}

    in_rules = {n for f in flows if f.is_rule for n in named(f)}
    in_stories = {n for f in flows if not f.is_rule for n in named(f)}
    return frozenset(in_rules - in_stories - {""})


def _rule_applies(rule: Sequence[State], conversation: Sequence[State]) -> bool:
    for distance, state in enumerate(reversed(conversation)):
        if distance >= len(rule):
            return True
        expected = rule[-1 - distance]
        has_prev = any(f[0] == "prev" for f in expected)
        conversation_has_prev = any(f[0] == "prev" for f in state)
        if not has_prev and not conversation_has_prev:
            continue  # both open the conversation
        if not has_prev or not conversation_has_prev or not _state_matches(expected, state):
            return False
    return True


def _state_matches(expected: State, state: State) -> bool:
    """Each feature of the rule's state holds in the conversation's; a rule's entities are
    the message's entities exactly, as RulePolicy compares them."""
    entities = {f for f in expected if f[0] == "entity"}
    if entities and entities != {f for f in state if f[0] == "entity"}:
        return False
    for feature in expected:
        if feature[0] == "entity":
            continue
        if feature[-1] == NOT_SET:
            kind, name = feature[0], feature[1] if feature[0] == "slot" else None
            if any(f[0] == kind and (name is None or f[1] == name) for f in state):
                return False
        elif feature not in state:
            return False
    return True


def _suffix_score(prefix: Sequence[Step], past: Sequence[Turn], max_history: int) -> float:
    """How many steps, counting back from the end, the story prefix and the past share.
    Entities named by the story and present add half a point."""
    matched = 0.0
    for step, turn in zip(reversed(prefix), reversed(past), strict=False):
        if step.kind != turn.kind or step.name != turn.name:
            break
        matched += 1
        if step.entities and set(step.entities) <= set(turn.entities):
            matched += 0.5
        if matched >= max_history * 2:
            break
    return matched


def _action_after(steps: Sequence[Step], index: int) -> str:
    for step in steps[index + 1 :]:
        if step.kind == "action":
            return step.name
        if step.kind == "intent":
            break
    return ACTION_LISTEN


def choose_response(
    variations: Sequence[Response],
    slots: Mapping[str, Any],
    channel: str | None = None,
    rng: random.Random | None = None,
) -> Response | None:
    """Rasa's choice (its ResponseVariationFilter): of the variations whose slot conditions
    all hold, those for the channel, else of those without conditions, those for the
    channel, else the conditional ones for any channel, else the plain ones for any channel;
    then one of them at random (``rng``; without one, the first: an answer an agent is
    offered, a dry run)."""
    conditional = [v for v in variations if v.conditions and _conditions_hold(v, slots)]
    plain = [v for v in variations if not v.conditions]
    suitable = (
        [v for v in conditional if v.channel is not None and v.channel == channel]
        or [v for v in plain if v.channel is not None and v.channel == channel]
        or [v for v in conditional if v.channel is None]
        or [v for v in plain if v.channel is None]
    )
    if not suitable:
        return None
    return rng.choice(suitable) if rng is not None else suitable[0]


def _conditions_hold(variation: Response, slots: Mapping[str, Any]) -> bool:
    # As Rasa: strings compare without case, other values as they are.
    for name, value in variation.conditions:
        filled = slots.get(name)
        if isinstance(filled, str) and isinstance(value, str):
            if filled.casefold() != value.casefold():
                return False
        elif filled != value:
            return False
    return True


def fill(payload: Any, values: Mapping[str, Any]) -> Any:
    """A response's image, button or custom payload with every string in it (at any depth
    of its lists and mappings; keys and other values as they are) rendered, as Rasa 3.6's
    interpolator.interpolate fills what its TemplatedNaturalLanguageGenerator hands it."""
    if isinstance(payload, str):
        return render(payload, values)
    if isinstance(payload, dict):
        return {key: fill(value, values) for key, value in payload.items()}
    if isinstance(payload, list):
        return [fill(item, values) for item in payload]
    return payload


def render(template: str, values: Mapping[str, Any]) -> str:
    """Fill ``{name}`` placeholders from slots and action arguments as Rasa 3.6's
    interpolate_text fills them: a slot without a value is written ``None`` (Python's
    format of it), and a placeholder that names neither a slot nor an argument leaves the
    whole text as written (Rasa's answer to the KeyError), the others unfilled too."""
    try:
        text = _FORMATTER.format(_PLACEHOLDER.sub(r"{0[\1]}", template), values)
        if "0[" in text:
            # A placeholder in doubled braces (Rasa's escape) came out as written: Rasa then
            # formats the template with no values, which keeps it whole when it names any.
            return _FORMATTER.format(template, {})
        return text
    except (KeyError, ValueError, IndexError):
        # A name no slot or argument has (or a stray brace, which Rasa itself fails on):
        # the whole text as written.
        return template
