"""The channel-neutral message values and the ``Channel`` port.

Every adapter starts with pure ``to_inbound(native)`` / ``to_native(message)`` translations, so
no library type crosses into ``server``, ``nlu`` or ``routing``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

ChannelName = Literal["webchat", "email", "telegram", "slack"]
AuthorKind = Literal["customer", "bot", "agent", "system"]


@dataclass(frozen=True, slots=True)
class Sender:
    """Who wrote an inbound message, as the channel knows them."""

    external_id: str
    name: str | None = None
    email: str | None = None


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
    """What a channel can carry; the pipeline degrades or refuses the rest, never drops it."""

    text: bool = True
    attachments: bool = False
    buttons: bool = False
    typing: bool = False


class Channel(Protocol):
    """An outbound adapter: the pipeline hands it stored messages to deliver."""

    name: ChannelName
    capabilities: Capabilities

    async def send(self, message: OutboundMessage) -> None:
        """Deliver ``message``; raise on a failure the pipeline should record or retry."""
        ...
