"""Telegram updates to the neutral message model, and back: pure functions over aiogram's types.

An update reaches the server as a ``RawUpdate`` (its JSON bytes, checked by ``parse`` at the
edge); ``incoming`` turns one into a customer's message once the bot's username is known.

What becomes a message: a private chat's messages; in groups, only what is addressed to the bot
(a mention, a reply to the bot, a command), so a group's small talk is not a support queue.
A private chat is one conversation per customer (like the widget); a group is a thread of its
own, and in a forum group each topic is. Photos and documents travel as file references the
adapter downloads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson
from aiogram.types import Message, Update
from pydantic import ValidationError

from channels.base import FILE_ONLY_TEXT, safe_filename
from channels.telegram.port import RawUpdate

# Telegram's own limit for one text message; longer replies are split.
MAX_TEXT = 4096
# The rating question's inline keyboard (one row, 1 to 5): each button's callback_data says
# which; a press comes back as a callback_query, read as the customer's answer "<n>".
RATING_PREFIX = "csat:"
RATING_BUTTONS: tuple[tuple[str, str], ...] = tuple(
    (str(n), f"{RATING_PREFIX}{n}") for n in range(1, 6)
)


# The yes/no keyboard under the bot's knowledge-base answer ("Did this answer your
# question?"): a press comes back as the word a customer would have typed.
KB_PREFIX = "kb:"
KB_WORDS = {"en": ("Yes", "No"), "fr": ("Oui", "Non")}


def kb_buttons(language: str | None) -> tuple[tuple[str, str], ...]:
    """The keyboard's two buttons, labelled in the customer's language (English otherwise)."""
    yes, no = KB_WORDS.get(language or "en", KB_WORDS["en"])
    return ((yes, f"{KB_PREFIX}yes"), (no, f"{KB_PREFIX}no"))


@dataclass(frozen=True, slots=True)
class FileRef:
    file_id: str
    filename: str
    content_type: str


@dataclass(frozen=True, slots=True)
class Incoming:
    """A customer's Telegram message, not yet stored (files still to download)."""

    update_id: int
    chat_id: int
    user_id: int
    name: str | None
    username: str | None
    text: str
    # None in a private chat (the customer's one conversation); the group's id otherwise.
    thread: str | None
    files: tuple[FileRef, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)


def external_id(bot_id: int, update_id: int) -> str:
    """A message's id in the store: update ids are unique per bot, and a redelivered update
    carries the same one, so it is stored once."""
    return f"{bot_id}:{update_id}"


class NotAnUpdate(Exception):
    """The bytes are not a Telegram update (not JSON, or not an Update's shape)."""


def parse(body: bytes) -> RawUpdate:
    """Check that the bytes are a JSON object with an update_id, what storing the update once
    needs, and keep them as they came. Raises NotAnUpdate. aiogram reads the rest only once
    the update is stored (``incoming``): its model costs twenty times the JSON parse, and
    the webhook answers only what it must (the bench's Telegram part)."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise NotAnUpdate("JSONDecodeError") from None
    update_id = data.get("update_id") if isinstance(data, dict) else None
    # bool is an int to Python, not to Telegram; ids fit a bigint column.
    if type(update_id) is not int or not 0 <= update_id < 2**63:
        raise NotAnUpdate("no update_id")
    return RawUpdate(update_id, body)


def raw(update: Update) -> RawUpdate:
    """An update aiogram has parsed (long polling), as the bytes Telegram sent: the fields
    that came, under their API names (``from``, not ``from_user``)."""
    body = update.model_dump_json(exclude_unset=True, by_alias=True).encode()
    return RawUpdate(update.update_id, body)


def incoming(update: RawUpdate, bot_username: str) -> Incoming | None:
    """The update as a customer's message (see ``to_incoming``). Raises NotAnUpdate for bytes
    that ``parse`` would have refused."""
    return to_incoming(_update(update.body), bot_username)


def _update(body: bytes) -> Update:
    try:
        return Update.model_validate(orjson.loads(body))
    except (orjson.JSONDecodeError, ValidationError) as exc:
        raise NotAnUpdate(exc.__class__.__name__) from None


def to_incoming(update: Update, bot_username: str) -> Incoming | None:
    """The update as a customer's message, or None when it is not one for us (an edit, a
    group message not addressed to the bot, a bot's own message, a service message)."""
    if update.callback_query is not None:
        return _rating(update) or _kb_answer(update)
    message = update.message
    if message is None or message.from_user is None or message.from_user.is_bot:
        return None
    private = message.chat.type == "private"
    if not private and not _addressed_to(message, bot_username):
        return None
    text = message.text or message.caption or ""
    meta: dict[str, Any] = {"chat_id": message.chat.id, "message_id": message.message_id}
    command, _, payload = text.partition(" ")
    if command.split("@")[0] == "/start":
        # t.me/<bot>?start=<payload>: where the customer came from (a campaign, an order page).
        meta["start"] = payload.strip() or None
        text = f"/start {payload}".strip()
    thread = None
    if not private:
        mention = f"@{bot_username}"
        text = text.replace(mention, "").strip() if mention.lower() in text.lower() else text
        meta["group"] = message.chat.title
        thread = f"chat:{message.chat.id}"
        # is_topic_message, not message_thread_id alone: a reply in a plain supergroup
        # carries a thread id too, and is still the group's one conversation.
        if message.is_topic_message and message.message_thread_id is not None:
            meta["topic"] = message.message_thread_id
            thread += f":topic:{message.message_thread_id}"
    files = _files(message)
    if not text and not files:
        return None  # stickers, locations, polls...: nothing an agent can read yet
    user = message.from_user
    name = " ".join(part for part in (user.first_name, user.last_name) if part) or None
    return Incoming(
        update_id=update.update_id,
        chat_id=message.chat.id,
        user_id=user.id,
        name=name,
        username=user.username,
        text=text or FILE_ONLY_TEXT,
        thread=thread,
        files=files,
        meta=meta,
    )


def _rating(update: Update) -> Incoming | None:
    """A press on the rating question's keyboard, as the number a customer would have typed
    (``meta.callback_query_id``: the press to answer); None for any other button, or one
    whose message Telegram no longer gives (too old)."""
    query = update.callback_query
    assert query is not None
    data = query.data or ""
    if not data.startswith(RATING_PREFIX) or query.message is None:
        return None
    rating = data.removeprefix(RATING_PREFIX)
    if rating not in {n for n, _ in RATING_BUTTONS}:
        return None
    chat = query.message.chat
    user = query.from_user
    name = " ".join(part for part in (user.first_name, user.last_name) if part) or None
    thread = None if chat.type == "private" else f"chat:{chat.id}"
    return Incoming(
        update_id=update.update_id,
        chat_id=chat.id,
        user_id=user.id,
        name=name,
        username=user.username,
        text=rating,
        thread=thread,
        meta={
            "chat_id": chat.id,
            "callback_query_id": query.id,
            # The question pressed, as its delivery was recorded: a press on a survey that was
            # answered already (or closed) must not become a message.
            "rating_question": f"{chat.id}:{query.message.message_id}",
        },
    )


def _kb_answer(update: Update) -> Incoming | None:
    """A press on the knowledge-base answer's yes/no keyboard, as "yes" or "no"
    (``meta.callback_query_id``: the press to answer); None for any other button."""
    query = update.callback_query
    assert query is not None
    answer = (query.data or "").removeprefix(KB_PREFIX)
    if not (query.data or "").startswith(KB_PREFIX) or answer not in ("yes", "no"):
        return None
    if query.message is None:
        return None
    chat = query.message.chat
    user = query.from_user
    name = " ".join(part for part in (user.first_name, user.last_name) if part) or None
    return Incoming(
        update_id=update.update_id,
        chat_id=chat.id,
        user_id=user.id,
        name=name,
        username=user.username,
        text=answer,
        thread=None if chat.type == "private" else f"chat:{chat.id}",
        meta={
            "chat_id": chat.id,
            "callback_query_id": query.id,
            "kb_question": f"{chat.id}:{query.message.message_id}",
        },
    )


def _addressed_to(message: Message, bot_username: str) -> bool:
    text = (message.text or message.caption or "").lower()
    if f"@{bot_username.lower()}" in text:
        return True
    if text.startswith("/"):
        return True
    replied = message.reply_to_message
    return bool(replied and replied.from_user and replied.from_user.username == bot_username)


def _files(message: Message) -> tuple[FileRef, ...]:
    found: list[FileRef] = []
    if message.photo:
        largest = max(message.photo, key=lambda p: p.width * p.height)
        found.append(
            FileRef(
                largest.file_id,
                safe_filename(f"photo-{largest.file_unique_id}.jpg", "image/jpeg", 1),
                "image/jpeg",
            )
        )
    if message.document:
        doc = message.document
        found.append(
            FileRef(
                doc.file_id,
                safe_filename(doc.file_name, doc.mime_type or "", len(found) + 1),
                doc.mime_type or "application/octet-stream",
            )
        )
    return tuple(found)
