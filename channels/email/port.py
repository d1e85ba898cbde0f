"""What the SMTP server needs from the rest of Switchboard, as a port the server implements."""

from __future__ import annotations

from typing import Protocol


class MailBackend(Protocol):
    async def accepts(self, recipient: str) -> bool:
        """Whether the address (plus part and all) is one of our inboxes."""
        ...

    async def store_raw(self, peer: str, mail_from: str, rcpt_tos: list[str], raw: bytes) -> int:
        """Persist the raw message durably (before the 250) and return its receipt id; parsing
        happens afterwards. Raises on failure, or channels.base.Busy at capacity, which the client
        is told as a 451."""
        ...
