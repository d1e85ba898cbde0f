"""What the web chat channel needs from the server, as a small port the server implements."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from channels.base import InboundMessage


class UnknownInbox(Exception):
    """No web chat inbox has that address."""


class UnknownVisitor(Exception):
    """The token is genuine but its visitor is not (or no longer) stored."""


class UnknownFile(Exception):
    """No such file in the visitor's conversations (or not theirs): a 404 that says no more."""


@dataclass(frozen=True, slots=True)
class Visitor:
    """A widget visitor: a contact identity in one inbox."""

    visitor_id: str
    inbox_id: str
    inbox_address: str
    contact_id: str


class WebchatBackend(Protocol):
    """Storage and pipeline operations the widget's endpoints call."""

    async def open_visitor(
        self, inbox_address: str, visitor_id: str, name: str | None, email: str | None
    ) -> Visitor:
        """Create or update the visitor's contact identity; raise UnknownInbox."""
        ...

    async def find_visitor(self, inbox_address: str, visitor_id: str) -> Visitor:
        """The stored visitor; raise UnknownVisitor or UnknownInbox."""
        ...

    async def current_conversation(self, visitor: Visitor) -> str | None:
        """The visitor's open (else latest) conversation in the inbox."""
        ...

    async def messages_after(
        self, conversation_id: str, after_seq: int
    ) -> Sequence[Mapping[str, Any]]:
        """Stored messages with seq > after_seq, in order (at most a page)."""
        ...

    async def receive(self, message: InboundMessage) -> tuple[Mapping[str, Any], bool]:
        """Store a customer's message (once) and return it with whether it was a duplicate."""
        ...

    async def typing(self, conversation_id: str, active: bool) -> None:
        """Tell the agent side the customer is (no longer) typing."""
        ...

    async def attachment(
        self, visitor: Visitor, message_id: int, position: int
    ) -> tuple[str, str, bytes]:
        """(file name, content type, bytes) of a file in one of the visitor's own
        conversations in their inbox; raise UnknownFile for any other."""
        ...
