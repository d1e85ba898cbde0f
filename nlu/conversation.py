"""The embedded engine's turn, as Rasa's message processor runs it: the customer's message
is added to the conversation's tracker, slots are filled from it (the domain's slot
mappings, as ``action_extract_slots`` does), then the policy's actions run (responses,
retrieval responses, custom actions) until it says to listen.

Trackers are kept per conversation (bounded). The history the pipeline passes back (the
stored intents and the actions that spoke) rebuilds one that is missing (``nlu.history``).
"""

from __future__ import annotations

import random
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import structlog

from nlu import journal
from nlu.action_server import ActionServer, ActionServerError, Said
from nlu.actions import BOT_REQUESTED, ActionContext, CustomAction
from nlu.base import BotMessage, BotTurn, Button, Dialogue, PastTurn
from nlu.default_actions import EXTRACT_SLOTS, default_action, revert_last_message
from nlu.dialogue import BACK, DEFAULT_FALLBACK, RESTART, DialoguePolicy, Prediction
from nlu.extraction import extract_slots as extract_slots  # also the bot trial's
from nlu.extraction_actions import extract
from nlu.forms import FormDeclined, ask_actions, run_form
from nlu.history import rebuild
from nlu.project import SESSION_START, Project
from nlu.sessions import carried_slots, session_expired
from nlu.slots import LANGUAGE_SLOT
from nlu.tracker import (
    ACTION_LISTEN,
    REQUESTED_SLOT,
    ActionExecuted,
    Event,
    LoopRejected,
    Restarted,
    SlotSet,
    Tracker,
    UserUttered,
)

log = structlog.get_logger(__name__)

# Rasa's max_number_of_predictions: a turn never runs more actions than this.
MAX_ACTIONS = 10
# Conversations whose trackers are kept; an older one is rebuilt from its history.
MAX_TRACKERS = 10_000


class ActionRejected(Exception):
    """The action server rejected the action (a 400 answer)."""


class Conversations:
    """Answers customer messages from a trained project's dialogue."""

    def __init__(
        self,
        actions: Mapping[str, CustomAction],
        action_server: ActionServer | None = None,
        *,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._actions = actions
        self._server = action_server
        self._trackers: OrderedDict[str, tuple[tuple[str, ...], Tracker]] = OrderedDict()
        # Which of a response's variations is said, at random as Rasa does (seeded in tests).
        self.rng = rng or random.Random()
        # When a message comes (seconds): a session expires after the domain's
        # session_expiration_time without one.
        self.clock = clock

    async def respond(
        self, project: Project, policy: DialoguePolicy, dialogue: Dialogue
    ) -> BotTurn:
        tracker = await self._tracker(project, policy, dialogue)
        start = len(tracker.log)
        context = ActionContext(
            dialogue.conversation_id,
            dialogue.language,
            {},
            project.responses,
            channel=dialogue.channel,
            rng=self.rng,
        )
        now = self.clock()
        if not dialogue.history and not tracker.events:
            await self._start_session(project, tracker, context)
        elif session_expired(project, tracker.last_message_at, now):
            await self._start_session(project, tracker, context, expired=True)
        tracker.last_message_at = now
        current = dialogue.interpretation
        if tracker.latest_action != ACTION_LISTEN:
            # The last turn ended without its listen (a new or rebuilt tracker, a fallback).
            tracker.update(ActionExecuted(ACTION_LISTEN))
        if any(s.name == LANGUAGE_SLOT for s in project.slots):
            tracker.update(SlotSet(LANGUAGE_SLOT, dialogue.language))
        tracker.update(UserUttered(current.full_intent, current.entities, current.text))
        extraction = await extract(project, tracker, self._server, dialogue.conversation_id)
        tracker.extend(extraction.events)
        if extraction.said:
            context.slots.update(tracker.slots, **{LANGUAGE_SLOT: context.language})
            self._say(extraction.said, context, EXTRACT_SLOTS)
        turn = await self._run(project, policy, tracker, context)
        kept = tuple((k, v) for k, v in tracker.slots.items() if k != LANGUAGE_SLOT)
        turn = replace(
            turn, slots=kept, events=journal.record(tracker.log[start:], tracker.followup)
        )
        intents = (*_intents(dialogue.history), current.full_intent)
        self._trackers[dialogue.conversation_id] = (intents, tracker)
        self._trackers.move_to_end(dialogue.conversation_id)
        while len(self._trackers) > MAX_TRACKERS:
            self._trackers.popitem(last=False)
        return turn

    async def _start_session(
        self, project: Project, tracker: Tracker, context: ActionContext, *, expired: bool = False
    ) -> None:
        """Rasa's action_session_start, before a conversation's first message, before the
        first message after its session expired (``expired``) and after a restart (in the
        restart's turn, as Rasa's Restarted event calls for it). Rasa's own starts the session
        over (the dialogue forgets what came before, as after a restart) and carries the
        slots over when the domain says so; a project's own runs on the action server: the
        slots it sets (a customer's profile) and what it says, the session started over
        when it says so (rasa-sdk's SessionStarted)."""
        if SESSION_START not in project.actions or self._server is None:
            if expired:
                carried = carried_slots(project, tracker)
                _start_over(tracker)
                tracker.extend(SlotSet(k, v) for k, v in carried.items())
            return
        try:
            outcome = await self._server.run(
                SESSION_START, context.conversation_id, tracker, project
            )
        except ActionServerError as error:
            # Rasa answers nothing to that first message; here the conversation goes on
            # with the domain's initial slots (or where it was).
            log.warning("action server failed", action=SESSION_START, error=str(error))
            return
        if expired and "session_started" in outcome.unsupported:
            _start_over(tracker)
        tracker.extend(e for e in outcome.events if isinstance(e, SlotSet))
        self._say(outcome.said, context, SESSION_START)

    def events(self, conversation_id: str) -> tuple[Event, ...]:
        """Every event of a conversation's kept tracker, those a restart or a rewind took
        back included (none if it is not kept)."""
        kept = self._trackers.get(conversation_id)
        return tuple(kept[1].log) if kept is not None else ()

    def slots(self, conversation_id: str) -> dict[str, Any]:
        """The slots of a conversation's kept tracker (none if it is not kept)."""
        kept = self._trackers.get(conversation_id)
        return dict(kept[1].slots) if kept is not None else {}

    def forget(self, conversation_id: str) -> None:
        """Drop a conversation's tracker (its next message rebuilds it from the history)."""
        self._trackers.pop(conversation_id, None)

    async def _tracker(
        self, project: Project, policy: DialoguePolicy, dialogue: Dialogue
    ) -> Tracker:
        """The kept tracker when it has seen exactly this history, else one rebuilt from it."""
        kept = self._trackers.get(dialogue.conversation_id)
        intents = _intents(dialogue.history)
        if kept is not None:
            seen, tracker = kept
            # The stored history is a bounded window: a long conversation's is its tail.
            if seen == intents or (len(intents) >= 5 and seen[-len(intents) :] == intents):
                return tracker
        return await rebuild(project, policy, dialogue.history)

    async def _run(
        self, project: Project, policy: DialoguePolicy, tracker: Tracker, context: ActionContext
    ) -> BotTurn:
        for _ in range(MAX_ACTIONS):
            if tracker.followup is not None:
                # As Rasa's processor: an action's FollowupAction runs next, unpredicted.
                prediction = Prediction(tracker.followup, "followup")
                tracker.followup = None
            else:
                prediction = policy.predict(tracker)
            action = prediction.action
            if action == ACTION_LISTEN:
                tracker.update(ActionExecuted(ACTION_LISTEN, hidden=prediction.hide))
                break
            context.slots.clear()
            context.slots.update(tracker.slots, **{LANGUAGE_SLOT: context.language})
            if action == SESSION_START:
                # After a restart, as Rasa runs it (Restarted's followup): the project's own
                # session start speaks and sets its slots again; Rasa's own carries none over
                # (none were set since the restart). Rasa predicts nothing after it.
                await self._start_session(project, tracker, context)
                tracker.update(ActionExecuted(ACTION_LISTEN))
                break
            if action == DEFAULT_FALLBACK:
                context.utter("utter_default", action=DEFAULT_FALLBACK)
                # As Rasa's default fallback: the message that was not understood is
                # forgotten (UserUtteranceReverted), so the dialogue resumes where it was.
                revert_last_message(tracker)
                break
            try:
                events = await self._act(project, tracker, context, prediction)
            except ActionRejected:
                break
            except ActionServerError as error:
                log.warning("action server failed", action=action, error=str(error))
                return BotTurn(tuple(context.messages), BOT_REQUESTED, f"{action}: {error}")
            except Exception as error:  # a broken action must not stop the conversation
                log.exception("custom action failed", action=action)
                return BotTurn(tuple(context.messages), BOT_REQUESTED, f"{action}: {error}")
            if events is None:
                if action in project.forms:
                    tracker.update(LoopRejected(action))
                    if tracker.active_loop == action:
                        continue  # the rules decide what follows instead
                    break  # a form refused as it starts: nothing to go back to
                log.warning("custom action not available in the embedded engine", action=action)
                return BotTurn(tuple(context.messages), BOT_REQUESTED, f"no action {action}")
            tracker.update(ActionExecuted(action, hidden=prediction.hide))
            tracker.extend(events)
            if context.handoff is not None:
                break
        return BotTurn(tuple(context.messages), context.handoff)

    async def _act(
        self, project: Project, tracker: Tracker, context: ActionContext, prediction: Prediction
    ) -> list[Event] | None:
        """Run one action; its events, or None when it cannot run (a form that declines,
        a custom action with nowhere to run)."""
        action = prediction.action
        form = project.forms.get(action)
        if form is not None:

            async def validate(
                candidates: Mapping[str, Any], before: Sequence[Event]
            ) -> list[Event] | None:
                name = f"validate_{form.name}"
                if self._server is None or name not in project.actions:
                    return None
                # Rasa's FormAction._temporary_tracker: the form's run, then the candidates
                # (rasa-sdk validates the slot events at the end of the tracker).
                trial = tracker.copy()
                trial.extend(before)
                asked = trial.slots.get(REQUESTED_SLOT) if trial.active_loop == form.name else None
                trial.extend(
                    [
                        SlotSet(REQUESTED_SLOT, asked),
                        ActionExecuted(form.name),
                        *(SlotSet(k, v) for k, v in candidates.items()),
                    ]
                )
                outcome = await self._server.run(name, context.conversation_id, trial, project)
                if outcome.rejected:
                    raise FormDeclined(name)
                self._say(outcome.said, context, action)
                return list(outcome.events)

            async def ask(slot: str, slots: Mapping[str, Any]) -> None:
                context.slots.update(slots)
                for source in ask_actions(form, slot):
                    if source in project.responses:
                        context.utter(source, action=action)
                        return
                    if source in project.actions and self._server is not None:
                        # A custom question (action_ask_<slot>) on the action server; what
                        # it sets is not kept, as Rasa keeps only its messages.
                        asking = Tracker(dict(slots), list(tracker.events))
                        asking.active_loop = form.name
                        asking.latest_message = tracker.latest_message
                        outcome = await self._server.run(
                            source, context.conversation_id, asking, project
                        )
                        self._say(outcome.said, context, action)
                        return

            async def extract_at_start(name: str) -> list[SlotSet]:
                # As Rasa's activation: action_extract_slots again (its custom mappings'
                # actions and global validation too), what they say not said.
                extraction = await extract(
                    project, tracker, self._server, context.conversation_id, active_loop=name
                )
                return extraction.events

            return await run_form(
                form,
                tracker,
                validate,
                ask,
                interrupted=prediction.policy == "loop_return",
                extract=extract_at_start,
            )
        if action in (RESTART, BACK) and action not in project.actions:
            return default_action(project, context, action)
        if action.startswith("utter_"):
            self._utter(project, tracker, context, action)
            return []
        if action in self._actions:
            before = dict(context.slots)
            await self._actions[action](context)
            return [
                SlotSet(name, value)
                for name, value in context.slots.items()
                if before.get(name) != value and name != LANGUAGE_SLOT
            ]
        if self._server is not None and action in project.actions:
            outcome = await self._server.run(action, context.conversation_id, tracker, project)
            if outcome.rejected:
                # Rasa predicts again without it; here the bot listens (a rejecting action
                # usually has nothing else to do).
                raise ActionRejected(action)
            if outcome.unsupported:
                log.warning(
                    "action server events the embedded engine does not apply",
                    action=action,
                    events=list(outcome.unsupported),
                )
            self._say(outcome.said, context, action)
            return list(outcome.events)
        return None

    @staticmethod
    def _say(said: Sequence[Said], context: ActionContext, action: str) -> None:
        for item in said:
            if item.response:
                context.utter(item.response, action=action, **item.values)
            else:
                buttons = tuple(Button(title, payload) for title, payload in item.buttons)
                context.messages.append(
                    BotMessage(item.text, action, item.custom, buttons=buttons, image=item.image)
                )

    @staticmethod
    def _utter(project: Project, tracker: Tracker, context: ActionContext, action: str) -> None:
        name = action.removeprefix("utter_")
        message = tracker.latest_message
        if name in project.retrieval_intents:
            # A retrieval action says the response of the message's sub-intent
            # (utter_faq -> utter_faq/ask_hours), as Rasa's ResponseSelector picks it.
            if message is None or message.base_intent != name:
                return
            context.utter(f"utter_{message.intent}", action=action)
        else:
            context.utter(action)


def _intents(history: Sequence[PastTurn]) -> tuple[str, ...]:
    return tuple(t.intent for t in history if t.intent is not None)


def _start_over(tracker: Tracker) -> None:
    """A new session, as Rasa's SessionStarted: the policies read the conversation from here
    on (a restart does the same to the events and slots), and the bot goes on to the
    message."""
    tracker.update(Restarted())
    tracker.followup = None
