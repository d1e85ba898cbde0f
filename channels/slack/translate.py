"""Slack events to the neutral message model: pure functions over the Events API's JSON.

What becomes a message: people's messages in channels the app is in, app mentions and direct
messages; not bots (ourselves included), edits, deletions or joins. A channel thread is a
conversation of its own (its key keeps ``thread_ts``); a direct message is the customer's one
conversation, like the widget. Slack sends a mention twice (``message`` and ``app_mention``)
and retries events: the message's own ``ts`` names it, so each is stored once.

A press on the rating question's buttons comes through the interactivity endpoint as a
``block_actions`` payload (``to_rating``); it is stored as the number a customer would have
typed, so a rating by button and one by reply are the same answer. The comment typed in the
rated question's input comes the same way (``to_comment``), as a ``plain_text_input`` action
with its ``value``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from channels.slack.blocks import COMMENT_ACTION, COMMENT_MAX, RATING_PREFIX, RATINGS

# Message subtypes that are still a person writing.
_PERSON_SUBTYPES = {None, "file_share", "thread_broadcast"}
_MENTION = re.compile(r"<@[A-Z0-9]+>\s*")


@dataclass(frozen=True, slots=True)
class SlackFile:
    id: str
    name: str
    mimetype: str
    url: str | None


@dataclass(frozen=True, slots=True)
class Incoming:
    team: str
    channel: str
    user: str
    ts: str
    text: str
    # "<channel>:<thread ts>" in channels; None in a direct message.
    thread: str | None
    files: tuple[SlackFile, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)


def external_id(incoming: Incoming) -> str:
    return f"{incoming.team}:{incoming.channel}:{incoming.ts}"


def _person_event(body: Mapping[str, Any]) -> dict[str, Any] | None:
    """The callback's event if it may be a person's message (its kind, not a bot's, a
    person's subtype, with its user, channel and ts), else None."""
    event = body.get("event")
    if body.get("type") != "event_callback" or not isinstance(event, dict):
        return None
    if event.get("type") not in ("message", "app_mention"):
        return None
    if event.get("bot_id") or event.get("subtype") not in _PERSON_SUBTYPES:
        return None
    user, channel, ts = event.get("user"), event.get("channel"), event.get("ts")
    if not (isinstance(user, str) and isinstance(channel, str) and isinstance(ts, str)):
        return None
    return event


def _words(event: Mapping[str, Any]) -> str:
    """The message's words without the mentions of the app."""
    text = str(event.get("text") or "")
    return (_MENTION.sub("", text) if "<@" in text else text).strip()


def carries_message(body: Mapping[str, Any]) -> bool:
    """Whether ``to_incoming`` reads the callback as a customer's message, without building
    it: the events endpoint asks this of every event before it answers."""
    event = _person_event(body)
    if event is None:
        return False
    files = event.get("files") or []
    return bool(_words(event)) or any(isinstance(f, dict) and f.get("id") for f in files)


def to_incoming(body: dict[str, Any]) -> Incoming | None:
    """The event callback's message, or None when it is not a customer's message."""
    event = _person_event(body)
    if event is None:
        return None
    user, channel, ts = event["user"], event["channel"], event["ts"]
    team = str(body.get("team_id") or event.get("team") or "")
    direct = event.get("channel_type") == "im" or channel.startswith("D")
    thread_ts = event.get("thread_ts") or ts
    text = _words(event)
    files = tuple(
        SlackFile(
            id=str(f.get("id")),
            name=str(f.get("name") or f.get("title") or "file"),
            mimetype=str(f.get("mimetype") or "application/octet-stream"),
            url=f.get("url_private_download") or f.get("url_private"),
        )
        for f in event.get("files") or []
        if isinstance(f, dict) and f.get("id")
    )
    if not text and not files:
        return None
    return Incoming(
        team=team,
        channel=channel,
        user=user,
        ts=ts,
        text=text or "(file)",
        thread=None if direct else f"{channel}:{thread_ts}",
        files=files,
        meta={
            "channel": channel,
            "thread_ts": None if direct else thread_ts,
            "team": team,
            "event_id": body.get("event_id"),
        },
    )


class NotAPayload(Exception):
    """An interactivity request Slack would not send: no ``payload`` field, not a JSON
    object, or a rating button's press without the fields every press carries."""


@dataclass(frozen=True, slots=True)
class Rating:
    """A press on a rating question's button (Block Kit ``block_actions``)."""

    team: str
    channel: str
    user: str
    rating: int
    # The question message's ts: one answer per question, however often it is pressed.
    message_ts: str
    # "<channel>:<thread ts>" in channels; None in a direct message (as ``Incoming``).
    thread: str | None
    thread_ts: str | None
    # The question as Slack shows it (its blocks, and its text should they be missing), to
    # show the rating in place of the buttons.
    blocks: tuple[dict[str, Any], ...]
    text: str


def rating_external_id(rating: Rating) -> str:
    """The answer's id in the store: a retried request, or a second press on the same
    question before its buttons are gone, is the same answer, stored once."""
    return f"{rating.team}:{rating.channel}:{rating.message_ts}:rating"


def payload_of(form: Mapping[str, str]) -> dict[str, Any]:
    """The interactivity request's ``payload`` field as JSON. Raises NotAPayload."""
    raw = form.get("payload")
    if raw is None:
        raise NotAPayload("no payload field")
    try:
        payload = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise NotAPayload("payload is not JSON") from None
    if not isinstance(payload, dict):
        raise NotAPayload("payload is not a JSON object")
    return payload


_PRESS_FIELDS = ("team", "user", "channel", "container", "message")


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


@dataclass(frozen=True, slots=True)
class Comment:
    """A comment typed in the rated question's input and sent (Block Kit ``block_actions``
    of a ``plain_text_input`` with ``dispatch_action``)."""

    team: str
    channel: str
    user: str
    text: str
    # The question message's ts: one comment per question.
    message_ts: str
    thread: str | None
    thread_ts: str | None
    blocks: tuple[dict[str, Any], ...]
    # The question's text as Slack gives it back.
    question: str


def comment_external_id(comment: Comment) -> str:
    """The comment's id in the store: sent twice (Enter, then the arrow), it is kept once."""
    return f"{comment.team}:{comment.channel}:{comment.message_ts}:comment"


@dataclass(frozen=True, slots=True)
class _Place:
    """Where an interaction happened: who, in which team and channel, on which message."""

    team: str
    channel: str
    user: str
    message_ts: str
    thread: str | None
    thread_ts: str | None
    blocks: tuple[dict[str, Any], ...]
    text: str


def _place(payload: dict[str, Any], what: str) -> _Place:
    fields = {name: _object(payload.get(name)) for name in _PRESS_FIELDS}
    team = _text(fields["team"].get("id")) or _text(fields["user"].get("team_id"))
    user = _text(fields["user"].get("id"))
    channel = _text(fields["channel"].get("id")) or _text(fields["container"].get("channel_id"))
    message_ts = _text(fields["container"].get("message_ts")) or _text(fields["message"].get("ts"))
    if team is None or user is None or channel is None or message_ts is None:
        raise NotAPayload(f"a {what} names its team, user, channel and message")
    direct = channel.startswith("D") or fields["channel"].get("name") == "directmessage"
    thread_ts = _text(fields["message"].get("thread_ts")) or _text(
        fields["container"].get("thread_ts")
    )
    blocks = fields["message"].get("blocks")
    return _Place(
        team=team,
        channel=channel,
        user=user,
        message_ts=message_ts,
        thread=None if direct else f"{channel}:{thread_ts or message_ts}",
        thread_ts=None if direct else thread_ts or message_ts,
        blocks=tuple(b for b in blocks if isinstance(b, dict)) if isinstance(blocks, list) else (),
        text=str(fields["message"].get("text") or ""),
    )


def _action(payload: dict[str, Any], matches: Callable[[str], bool]) -> dict[str, Any] | None:
    """The payload's first action whose ``action_id`` matches, if it is a ``block_actions``."""
    actions = payload.get("actions")
    if payload.get("type") != "block_actions" or not isinstance(actions, list):
        return None
    return next(
        (a for a in actions if isinstance(a, dict) and matches(str(a.get("action_id", "")))),
        None,
    )


def to_rating(payload: dict[str, Any]) -> Rating | None:
    """The press of a rating button, or None for any other interaction (another button, a
    shortcut, a modal). Raises NotAPayload for a rating press missing what Slack always sends."""
    pressed = _action(payload, lambda action: action.startswith(RATING_PREFIX))
    if pressed is None:
        return None
    value = str(pressed["action_id"]).removeprefix(RATING_PREFIX)
    if value not in {str(n) for n in RATINGS}:
        raise NotAPayload(f"no rating {value!r}")
    place = _place(payload, "rating press")
    return Rating(
        team=place.team,
        channel=place.channel,
        user=place.user,
        rating=int(value),
        message_ts=place.message_ts,
        thread=place.thread,
        thread_ts=place.thread_ts,
        blocks=place.blocks,
        text=place.text,
    )


def to_comment(payload: dict[str, Any]) -> Comment | None:
    """The comment sent from the rated question's input, or None for any other interaction,
    or for an input sent empty (nothing to keep). Raises NotAPayload for one missing what
    Slack always sends, or longer than the input allows."""
    sent = _action(payload, lambda action: action == COMMENT_ACTION)
    if sent is None:
        return None
    value = sent.get("value")
    if value is None:
        # Slack also gives what the inputs hold in state.values[block_id][action_id].
        values = _object(_object(payload.get("state")).get("values"))
        value = _object(_object(values.get(str(sent.get("block_id")))).get(COMMENT_ACTION)).get(
            "value"
        )
    if value is not None and not isinstance(value, str):
        raise NotAPayload("a comment's value is text")
    text = (value or "").strip()
    if len(text) > COMMENT_MAX:
        raise NotAPayload(f"a comment is at most {COMMENT_MAX} characters")
    place = _place(payload, "comment")
    if not text:
        return None
    return Comment(
        team=place.team,
        channel=place.channel,
        user=place.user,
        text=text,
        message_ts=place.message_ts,
        thread=place.thread,
        thread_ts=place.thread_ts,
        blocks=place.blocks,
        question=place.text,
    )
