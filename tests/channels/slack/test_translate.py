"""Slack events read as customers' messages: the events endpoint's quick question
(``carries_message``) gives the answer the drainer's full reading (``to_incoming``) gives."""

from __future__ import annotations

from typing import Any

import pytest

from channels.slack.translate import carries_message, to_incoming
from tests.slack_api import message_event

FILE = {"id": "F1", "name": "a.txt", "mimetype": "text/plain", "url_private": "https://f/1"}

BODIES: list[tuple[str, dict[str, Any]]] = [
    ("a person's message", message_event(1, "where is my order?")),
    ("an app mention", message_event(2, "<@U0APP> help", kind="app_mention")),
    ("only a mention of the app", message_event(3, "<@U0APP>  ", kind="app_mention")),
    ("a file with no words", message_event(4, "", files=[FILE], subtype="file_share")),
    ("a file without an id", message_event(5, "", files=[{"name": "x"}], subtype="file_share")),
    ("a thread broadcast", message_event(6, "also here", subtype="thread_broadcast")),
    ("a bot's message", message_event(7, "beep", bot_id="B0BOT")),
    ("an edit", message_event(8, "changed", subtype="message_changed")),
    ("a join", message_event(9, "joined", subtype="channel_join")),
    ("a reaction", {**message_event(10, "x"), "event": {"type": "reaction_added"}}),
    ("no user", {**message_event(11, "x"), "event": {"type": "message", "text": "hi"}}),
    ("not a callback", {"type": "app_rate_limited", "minute_rate_limited": 1}),
    ("a callback without an event", {"type": "event_callback", "event_id": "Ev1"}),
    ("blank words", message_event(12, "   ")),
]


@pytest.mark.parametrize(("what", "body"), BODIES, ids=[what for what, _ in BODIES])
def test_the_endpoints_question_agrees_with_the_full_reading(
    what: str, body: dict[str, Any]
) -> None:
    assert carries_message(body) == (to_incoming(body) is not None)


def test_a_mention_of_the_app_is_taken_out_of_the_words() -> None:
    incoming = to_incoming(message_event(2, "<@U0APP> help", kind="app_mention"))
    assert incoming is not None
    assert incoming.text == "help"
