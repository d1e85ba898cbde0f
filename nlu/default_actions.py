"""Rasa's default actions that the embedded engine runs itself, wherever a conversation is
answered or rebuilt: ``action_restart`` and ``action_back`` (unless the project defines its
own), ``action_default_fallback``'s forgetting of the message it did not understand, and the
name of ``action_extract_slots``, under which the global slot validation speaks."""

from __future__ import annotations

from nlu.actions import ActionContext
from nlu.dialogue import RESTART
from nlu.project import Project
from nlu.tracker import Event, MessageForgotten, Restarted, Tracker, UserUtteranceReverted

# Rasa's action that fills slots after each message; what the global slot validation says
# is said under it (a custom mapping's action's words are dropped, as Rasa drops them).
EXTRACT_SLOTS = "action_extract_slots"


def default_action(project: Project, context: ActionContext | None, action: str) -> list[Event]:
    """Rasa's action_restart and action_back (unless the project has its own): the
    utter_restart or utter_back response when the domain has one, then the conversation
    starts over, or goes back two messages."""
    response = "utter_" + action.removeprefix("action_")
    if context is not None and response in project.responses:
        context.utter(response, action=action)
    if action == RESTART:
        return [Restarted()]
    return [UserUtteranceReverted(), UserUtteranceReverted()]


def revert_last_message(tracker: Tracker) -> None:
    """Forget the latest message and what followed it, and the listen before it."""
    tracker.update(MessageForgotten())
