"""What the Slack adapter needs from the rest of Switchboard, as a port the server implements."""

from __future__ import annotations

from typing import Protocol

from channels.base import Attachment
from channels.slack.translate import Comment, Incoming, Rating


class SlackBackend(Protocol):
    async def store(self, incoming: Incoming, attachments: tuple[Attachment, ...]) -> None:
        """Persist a customer's message durably; the event is acknowledged only after this
        returns. ``attachments`` are the files fetched in time; the names of the others are in
        ``incoming.meta["missing_files"]``. A message already stored (Slack's retry, the
        ``app_mention`` twin of a ``message``) is not stored again. Raises on failure, which
        Slack is told as a 5xx, so it sends the event again."""
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
        """Raise channels.base.Busy when Switchboard is at capacity: checked before the event
        is read, and answered 503 with Retry-After, so Slack sends it again later."""
        ...

    def retried(self) -> None:
        """Slack sent an event again (it saw no answer in time): counted for the metrics."""
        ...
