"""Rasa's conversation sessions (the domain's ``session_config``): a conversation whose
latest message is older than ``session_expiration_time`` minutes starts a new session at its
next message, as Rasa's processor starts one (``action_session_start``), and the slots of
the session that ended carry over when ``carry_over_slots_to_new_session`` says so (Rasa's
default: 60 minutes, slots carried; 0 minutes: sessions never expire)."""

from __future__ import annotations

from typing import Any

from nlu.project import Project
from nlu.tracker import Tracker

DEFAULT_EXPIRATION_MINUTES = 60.0


def _config(project: Project) -> dict[str, Any]:
    config = project.domain.get("session_config")
    return config if isinstance(config, dict) else {}


def expiration_minutes(project: Project) -> float:
    value = _config(project).get("session_expiration_time")
    try:
        return DEFAULT_EXPIRATION_MINUTES if value is None else float(value)
    except (TypeError, ValueError):
        return DEFAULT_EXPIRATION_MINUTES


def session_expired(project: Project, last_message_at: float | None, now: float) -> bool:
    """Whether the session has expired since the conversation's latest message (never when
    its time is unknown, or when the domain turns sessions off)."""
    minutes = expiration_minutes(project)
    if last_message_at is None or minutes <= 0:
        return False
    return (now - last_message_at) / 60 > minutes


def carried_slots(project: Project, tracker: Tracker) -> dict[str, Any]:
    """The slots the new session starts with besides the domain's initial values: those the
    ended session set (Rasa's ActionSessionStart carries its SlotSet events over), or none."""
    if _config(project).get("carry_over_slots_to_new_session", True) is False:
        return {}
    return {k: v for k, v in tracker.slots.items() if v != tracker.initial.get(k)}
