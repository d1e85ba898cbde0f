"""The channel-neutral message values and the ``Channel`` port.

Every adapter starts with pure ``to_inbound(native)`` / ``to_native(message)`` translations, so
no library type crosses into ``server``, ``nlu`` or ``routing``.
"""

from __future__ import annotations

import mimetypes
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

ChannelName = Literal["webchat", "email", "telegram", "slack"]
AuthorKind = Literal["customer", "bot", "agent", "system"]


NUL = "\x00"
NUL_REFUSED = "text may not contain the NUL character (U+0000)"


def holds_nul(value: object) -> bool:
    """Whether any text in a parsed JSON value holds U+0000, which Postgres cannot store in a
    text column: boundaries refuse it (422, close 4400) rather than fail at the database."""
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, Mapping):
        return any(holds_nul(k) or holds_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(holds_nul(v) for v in value)
    return False


@dataclass(frozen=True, slots=True)
class Sender:
    """Who wrote an inbound message, as the channel knows them."""

    external_id: str
    name: str | None = None
    email: str | None = None


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file that came with a message; ``filename`` is already safe to show and to save."""

    filename: str
    content_type: str
    content: bytes


_UNSAFE = re.compile(r"[^\w.\- ()+,@=]+")
# A name past this is cut, keeping its extension (".pdf") so the file still opens as what it is.
MAX_FILENAME = 150
_EXTENSION = re.compile(r"\.[A-Za-z0-9]{1,10}$")


# The text of a customer's message that is only a file (no caption, no words).
FILE_ONLY_TEXT = "(file)"


def safe_filename(name: str | None, content_type: str, n: int) -> str:
    """A name that is only a name: no directories, control characters, leading dots or
    reserved characters, at most ``MAX_FILENAME`` characters with its extension kept; one is
    made up from the content type when nothing is left."""
    cleaned = ""
    if name:
        base = re.split(r"[\\/]", unicodedata.normalize("NFC", name))[-1]
        base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C")
        cleaned = _UNSAFE.sub("_", base).strip(" ._")
        if len(cleaned) > MAX_FILENAME:
            found = _EXTENSION.search(cleaned)
            extension = found.group() if found else ""
            cleaned = cleaned[: MAX_FILENAME - len(extension)].rstrip(" ._") + extension
    if cleaned:
        return cleaned
    extension = mimetypes.guess_extension(content_type) or ".bin"
    return f"attachment-{n}{extension}"


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """A customer's message as it arrived, before it is stored.

    ``external_id`` is the message's id on its channel: a retried delivery carries the same one,
    which is how the pipeline stores it once.
    """

    channel: ChannelName
    inbox_address: str
    external_id: str
    sender: Sender
    text: str
    # The channel's thread the message belongs to (a mail thread, a Slack thread): each
    # thread is a conversation of its own, reopened when the customer writes in it again.
    # None: the sender's one open conversation in the inbox.
    thread: str | None = None
    subject: str | None = None
    attachments: tuple[Attachment, ...] = ()
    # Why a machine rather than a person sent it (an auto-reply, a mailing list): stored and
    # shown, but never answered automatically, so two robots cannot talk in a loop.
    automated: str | None = None
    # Channel details kept with the message (the mail's Message-ID, its full original text).
    meta: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """A stored bot, agent or system message on its way to the customer's channel."""

    channel: ChannelName
    conversation_id: str
    recipient_external_id: str
    seq: int
    author_kind: AuthorKind
    text: str


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a channel can carry; the pipeline degrades the rest (``degrade``), never drops it."""

    text: bool = True
    attachments: bool = False
    buttons: bool = False
    images: bool = False
    typing: bool = False


def degrade(
    text: str | None,
    options: Sequence[str],
    image: str | None,
    capabilities: Capabilities,
    *,
    choose: str,
) -> str:
    """The text a channel without buttons or images shows instead: the options numbered, one a
    line, then ``choose`` (how to answer: with the number), and the image as its link. What the
    channel can carry itself is left out of the text. The documented degradation of
    bot buttons and images."""
    parts = [text.strip()] if text and text.strip() else []
    if options and not capabilities.buttons:
        numbered = "\n".join(f"{n}. {title}" for n, title in enumerate(options, start=1))
        parts.append(f"{numbered}\n{choose}")
    if image and not capabilities.images:
        parts.append(image)
    return "\n\n".join(parts)


def chosen_option(text: str, count: int) -> int | None:
    """The option a customer picked by answering with its number ("2", " 2. "), if any."""
    digits = text.strip().rstrip(".)")
    if not digits.isdigit() or len(digits) > 3:
        return None
    n = int(digits)
    return n if 1 <= n <= count else None


class DeliveryError(Exception):
    """A channel could not deliver a message. ``permanent``: retrying cannot help (the address
    does not exist, the relay refused it); otherwise try again later, not before
    ``retry_after`` seconds when the channel said so."""

    def __init__(self, detail: str, *, permanent: bool, retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.permanent = permanent
        self.retry_after = retry_after


class Busy(Exception):
    """Switchboard is at capacity and stored nothing: the sender should try again after
    ``retry_after`` seconds. Each channel says so in its own terms: web chat an error frame
    the widget retries after, SMTP a 451, webhooks a 503 with Retry-After."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"at capacity; try again in {retry_after:g} s")
        self.retry_after = retry_after


class Channel(Protocol):
    """An outbound adapter: the pipeline hands it stored messages to deliver."""

    name: ChannelName
    capabilities: Capabilities

    async def send(self, message: OutboundMessage) -> None:
        """Deliver ``message``; raise on a failure the pipeline should record or retry."""
        ...
