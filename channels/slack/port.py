"""What the Slack adapter needs from the rest of Switchboard, as a port the server implements."""

from __future__ import annotations

from typing import Protocol

from channels.base import Attachment
from channels.slack.translate import Comment, Incoming, Rating


class SlackBackend(Protocol):
    async def hold(self, event_id: str, body: bytes) -> None:
        """Keep a signed event that carries a customer's message, as Slack posted it, durably
        and once per event_id, before Slack is answered; it is read (``store``) afterwards.
        Raises channels.base.Busy at capacity (Slack is answered 503 with Retry-After), or
        on failure (a 503 too), so Slack sends it again."""
        ...

    async def store(self, incoming: Incoming, attachments: tuple[Attachment, ...]) -> None:
        """Persist a customer's message durably, once: an event held earlier, read.
        ``attachments`` are the files fetched in time; the names of the others are in
        ``incoming.meta["missing_files"]``. A message already stored (Slack's retry, the
        ``app_mention`` twin of a ``message``) is not stored again. Raises on failure (the
        event stays held, and is read again)."""
        ...

    async def rate(self, rating: Rating) -> None:
        """Persist a press on the rating question's buttons as the customer's answer, before
        Slack is answered: once per survey, however often Slack sends it, the customer
        presses, or they had answered by typing a number; then show the rating in place of
        the buttons (after, best effort). Raises on failure, answered as a 5xx."""
        ...

    async def comment(self, comment: Comment) -> None:
        """Persist a comment typed under a rated question with its rating, before Slack is
        answered: once per survey (a second one, one on a question not rated, or one too late
        is not kept); then show the question as it now stands (after, best effort). Raises on
        failure, answered as a 5xx."""
        ...

    def admit(self) -> None:
        """Raise channels.base.Busy when Switchboard is at capacity: checked before an
        interaction is stored, and answered 503 with Retry-After, so Slack sends it again."""
        ...

    def retried(self) -> None:
        """Slack sent an event again (it saw no answer in time): counted for the metrics."""
        ...
