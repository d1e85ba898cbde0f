"""A project's custom actions on a rasa-sdk action server (``SWITCHBOARD_ACTION_SERVER_URL``),
called as Rasa calls it: POST the webhook with ``next_action``, ``sender_id``, the tracker
(slots, latest message, events, active loop) and the domain; the answer is events (slots
set, loops) and responses to say. A 400 answer rejects the action (a form's validation may).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import httpx
import orjson

from nlu.project import Project
from nlu.tracker import (
    ActionExecuted,
    ActionReverted,
    ActiveLoop,
    AllSlotsReset,
    Event,
    FollowupAction,
    Restarted,
    SlotSet,
    Tracker,
    UserUtteranceReverted,
    UserUttered,
)

# rasa-sdk's events that take the conversation back, by their name in the webhook's answer.
RESETS: dict[str, Event] = {
    "restart": Restarted(),
    "rewind": UserUtteranceReverted(),
    "undo": ActionReverted(),
}

# What Rasa itself sends as its version; rasa-sdk only warns when it differs.
RASA_VERSION = "3.6.21"
TIMEOUT = 10.0


class ActionServerError(Exception):
    """The action server could not run the action (unreachable, 5xx, a bad answer)."""


@dataclass(frozen=True, slots=True)
class Said:
    """A response the action asks the bot to say: a domain response by name, or text."""

    response: str | None
    text: str | None
    buttons: tuple[tuple[str, str], ...] = ()
    image: str | None = None
    custom: dict[str, Any] | None = None
    values: dict[str, Any] = field(default_factory=dict)  # a response's extra placeholders


@dataclass(frozen=True, slots=True)
class ActionOutcome:
    events: tuple[Event, ...]
    said: tuple[Said, ...]
    rejected: bool = False
    unsupported: tuple[str, ...] = ()  # event kinds the engine does not apply


class ActionServer:
    """A client of the rasa-sdk webhook."""

    def __init__(self, url: str, client: httpx.AsyncClient | None = None) -> None:
        self._url = url
        self._client = client or httpx.AsyncClient(timeout=TIMEOUT)

    async def run(
        self, action: str, sender_id: str, tracker: Tracker, project: Project
    ) -> ActionOutcome:
        body = {
            "next_action": action,
            "sender_id": sender_id,
            "tracker": tracker_json(sender_id, tracker),
            "domain": project.domain,
            "version": _rasa_version(),
        }
        try:
            answer = await self._client.post(
                self._url,
                content=orjson.dumps(body, default=str),
                headers={"content-type": "application/json"},
            )
        except httpx.HTTPError as error:
            raise ActionServerError(f"{type(error).__name__}: {error}") from error
        if answer.status_code == 400:
            return ActionOutcome((), (), rejected=True)
        if answer.status_code != 200:
            raise ActionServerError(f"the action server answered {answer.status_code}")
        try:
            data = answer.json()
        except ValueError as error:
            raise ActionServerError("the action server's answer is not JSON") from error
        if not isinstance(data, dict):
            raise ActionServerError("the action server's answer is not an object")
        events, unsupported = _events(data.get("events") or [])
        return ActionOutcome(events, _said(data.get("responses") or []), False, unsupported)

    async def close(self) -> None:
        await self._client.aclose()


def _rasa_version() -> str:
    try:
        return version("rasa")
    except PackageNotFoundError:
        return RASA_VERSION


def _events(raw: list[Any]) -> tuple[tuple[Event, ...], tuple[str, ...]]:
    events: list[Event] = []
    unsupported: list[str] = []
    for item in raw:
        kind = item.get("event") if isinstance(item, dict) else None
        if kind == "slot":
            events.append(SlotSet(str(item["name"]), item.get("value")))
        elif kind == "active_loop":
            events.append(ActiveLoop(item.get("name")))
        elif kind == "reset_slots":
            events.append(AllSlotsReset())
        elif kind == "followup" and isinstance(item.get("name"), str):
            events.append(FollowupAction(item["name"]))
        elif kind in RESETS:
            events.append(RESETS[kind])
        else:
            unsupported.append(str(kind))
    return tuple(events), tuple(unsupported)


def _said(raw: list[Any]) -> tuple[Said, ...]:
    said = []
    for item in raw:
        if not isinstance(item, dict):
            continue
        name = item.get("response") or item.get("template")
        buttons = tuple(
            (str(b["title"]), str(b.get("payload") or b["title"]))
            for b in item.get("buttons") or []
            if isinstance(b, dict) and b.get("title")
        )
        known = {"text", "response", "template", "buttons", "image", "custom", "recipient_id"}
        known |= {"attachment", "elements", "quick_replies"}
        said.append(
            Said(
                str(name) if name else None,
                item.get("text"),
                buttons,
                item.get("image"),
                item.get("custom") or item.get("json_message") or None,
                {k: v for k, v in item.items() if k not in known},
            )
        )
    return tuple(said)


def tracker_json(sender_id: str, tracker: Tracker) -> dict[str, Any]:
    """The tracker as Rasa serialises it for the action server."""
    now = time.time()
    events: list[dict[str, Any]] = []
    for event in tracker.events:
        if isinstance(event, UserUttered):
            events.append({"event": "user", "timestamp": now, **_message(event)})
        elif isinstance(event, ActionExecuted):
            events.append({"event": "action", "timestamp": now, "name": event.name})
        elif isinstance(event, SlotSet):
            events.append(
                {"event": "slot", "timestamp": now, "name": event.name, "value": event.value}
            )
        elif isinstance(event, ActiveLoop):
            events.append({"event": "active_loop", "timestamp": now, "name": event.name})
    message = tracker.latest_message
    return {
        "sender_id": sender_id,
        "slots": dict(tracker.slots),
        "latest_message": _message(message)["parse_data"] if message else {},
        "latest_event_time": now,
        "followup_action": None,
        "paused": False,
        "events": events,
        "latest_input_channel": None,
        "active_loop": {"name": tracker.active_loop} if tracker.active_loop else {},
        "latest_action": {"action_name": tracker.latest_action} if tracker.latest_action else {},
        "latest_action_name": tracker.latest_action,
    }


def _message(event: UserUttered) -> dict[str, Any]:
    entities = [
        {
            "entity": e.entity,
            "value": e.value,
            "start": e.start,
            "end": e.end,
            "extractor": e.extractor,
            **({"role": e.role} if e.role else {}),
            **({"group": e.group} if e.group else {}),
        }
        for e in event.entities
    ]
    intent = {"name": event.base_intent, "confidence": 1.0}
    parse: dict[str, Any] = {"intent": intent, "entities": entities, "text": event.text}
    if event.base_intent != event.intent:
        parse["response_selector"] = {
            event.base_intent: {"response": {"intent_response_key": event.intent}}
        }
    return {"text": event.text, "parse_data": parse}
