"""What the Telegram channel hands the rest of Switchboard, as a port the server implements.

Only neutral values cross it: an update travels as Telegram sent it (its JSON bytes and its
update_id), never as an aiogram object, so the server never sees the library. The webhook
route and the long-polling client both produce ``RawUpdate``; ``translate.incoming`` turns one
into a customer's message once the bot's username is known.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class RawUpdate:
    """One update as Telegram sent it: checked to be an update, not yet interpreted."""

    update_id: int
    body: bytes


class TelegramBackend(Protocol):
    """The server side of the webhook (one per bot). One method, not the usual two to five:
    the webhook needs nothing else from the server, and a method no caller uses would only
    be one more thing for every implementation (and fake) to carry."""

    async def receive(self, update: RawUpdate) -> None:
        """Store the update durably, once (its update_id dedupes): as a message when the bot
        has connected, otherwise held until it has. Returns only once stored, so the webhook
        can answer 200; raises when it could not be stored (the webhook answers 503 and
        Telegram delivers the update again)."""
        ...
