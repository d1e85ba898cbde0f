"""Rasa's default actions the embedded engine runs itself (nlu/default_actions.py)."""

from __future__ import annotations

from nlu.actions import ActionContext
from nlu.default_actions import default_action, revert_last_message
from nlu.dialogue import BACK, RESTART
from nlu.project import load_project
from nlu.tracker import (
    ACTION_LISTEN,
    ActionExecuted,
    Restarted,
    Tracker,
    UserUtteranceReverted,
    UserUttered,
)
from tests.nlu.dialogue_twin import PROJECTS


def test_restart_says_utter_restart_when_the_domain_has_it_and_starts_over() -> None:
    project = load_project(PROJECTS / "pizza")
    context = ActionContext("c1", "en", {}, project.responses)
    assert default_action(project, context, RESTART) == [Restarted()]
    assert [m.action for m in context.messages] == [RESTART]
    # Replayed from the stored history: nothing is said again.
    assert default_action(project, None, RESTART) == [Restarted()]


def test_back_takes_two_messages_back_and_says_nothing_without_utter_back() -> None:
    project = load_project(PROJECTS / "clinic")
    context = ActionContext("c1", "en", {}, project.responses)
    assert default_action(project, context, BACK) == [
        UserUtteranceReverted(),
        UserUtteranceReverted(),
    ]
    assert context.messages == []


def test_the_fallback_forgets_the_message_and_the_listen_before_it() -> None:
    project = load_project(PROJECTS / "clinic")
    tracker = Tracker.start(project)
    tracker.extend([ActionExecuted(ACTION_LISTEN), UserUttered("greet", (), "hello")])
    tracker.extend([ActionExecuted("utter_welcome"), ActionExecuted(ACTION_LISTEN)])
    tracker.update(UserUttered("inform", (), "zzz"))
    revert_last_message(tracker)
    assert tracker.latest_message == UserUttered("greet", (), "hello")
    assert tracker.events[-1] == ActionExecuted("utter_welcome")
