"""Slack events to the neutral message model: pure functions over the Events API's JSON.

What becomes a message: people's messages in channels the app is in, app mentions and direct
messages; not bots (ourselves included), edits, deletions or joins. A channel thread is a
conversation of its own (its key keeps ``thread_ts``); a direct message is the customer's one
conversation, like the widget. Slack sends a mention twice (``message`` and ``app_mention``)
and retries events: the message's own ``ts`` names it, so each is stored once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

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


def to_incoming(body: dict[str, Any]) -> Incoming | None:
    """The event callback's message, or None when it is not a customer's message."""
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
    team = str(body.get("team_id") or event.get("team") or "")
    direct = event.get("channel_type") == "im" or channel.startswith("D")
    thread_ts = event.get("thread_ts") or ts
    text = _MENTION.sub("", str(event.get("text") or "")).strip()
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
