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


class IdentityRefused(Exception):
    """The session named an identifier whose hash does not vouch for it (a wrong hash, or an
    inbox without an identity secret); ``str()`` says which. Never downgraded to a visitor
    without one: the embedding site has a bug to fix, and the visitor would lose their history."""


class SessionKeyUsed(Exception):
    """A session key's visitor was made longer ago than a retry could be: the key is spent
    (the client makes a new one), never a way back to an old visitor without its token."""


class EmailCodeRefused(Exception):
    """A one-time email code not sent or not accepted; ``str()`` says why and ``status`` is
    the HTTP status that says so (409 already verified, 410 expired or used up, 422 wrong,
    429 asked too often, 503 no mail relay)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


class UnknownFile(Exception):
    """No such file in the visitor's conversations (or not theirs): a 404 that says no more."""


@dataclass(frozen=True, slots=True)
class VisitorDetails:
    """What a session request says about its visitor (channels/webchat/identity.py).

    ``name`` and ``email`` are what the visitor (or the page) typed: kept on the visitor's own
    contact, unverified. ``identifier`` counts only with an ``identifier_hash`` that matches it.
    """

    name: str | None = None
    email: str | None = None
    identifier: str | None = None
    identifier_hash: str | None = None


@dataclass(frozen=True, slots=True)
class Visitor:
    """A widget visitor: a contact identity in one inbox. ``identifier`` is the embedding
    site's user the visitor was verified as, if any; ``verified`` whether its contact is
    verified (by that, a proved email address, or an agent's Link)."""

    visitor_id: str
    inbox_id: str
    inbox_address: str
    contact_id: str
    identifier: str | None = None
    verified: bool = False


# Earlier conversations' messages a new page is shown (the newest of them).
HISTORY_MESSAGES = 200


class WebchatBackend(Protocol):
    """Storage and pipeline operations the widget's endpoints call."""

    async def open_visitor(
        self,
        inbox_address: str,
        visitor_id: str,
        details: VisitorDetails,
        *,
        keyed_within: float | None = None,
    ) -> Visitor:
        """Create or update the visitor's contact identity: with a verified identifier, joined
        to the contact holding it; otherwise a contact of its own, never an existing one.
        Opening one ``visitor_id`` again is the same visitor, with no second contact.
        ``keyed_within``: the id came from a client's session key, which may open it again
        only this many seconds after it was made (else SessionKeyUsed). Raise UnknownInbox,
        or IdentityRefused for an identifier its hash does not vouch for."""
        ...

    async def send_email_code(self, visitor: Visitor, email: str) -> int:
        """Mail a one-time code to ``email`` for the visitor to prove it is theirs; return
        how many seconds it is good for. Raise EmailCodeRefused."""
        ...

    async def confirm_email_code(self, visitor: Visitor, code: str) -> Visitor:
        """With the right code, join the visitor to the verified contact with the proved
        address (or verify its own contact with it). Raise EmailCodeRefused."""
        ...

    async def find_visitor(self, inbox_address: str, visitor_id: str) -> Visitor:
        """The stored visitor; raise UnknownVisitor or UnknownInbox."""
        ...

    async def greet(self, inbox_address: str, visitor_id: str) -> tuple[Visitor, str | None]:
        """What a socket's hello needs, in one read: the stored visitor and its open (else
        latest) conversation in the inbox, if any. A reconnect storm is thousands of hellos
        at once. Raise UnknownVisitor or UnknownInbox."""
        ...

    async def history(self, visitor: Visitor, current: str | None) -> Sequence[Mapping[str, Any]]:
        """The visitor's messages in the inbox from conversations other than ``current``,
        oldest first: the latest HISTORY_MESSAGES of them."""
        ...

    async def greeting(self, visitor: Visitor, language: str | None) -> str:
        """What the widget says first: the inbox's brand's greeting in the language (or
        the nearest the brand has)."""
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
