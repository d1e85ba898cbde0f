"""What the review inbox and bot health (issue 19) ask of the server: the console's side of
``server/services/bot_review.py``. The answers are dataclasses the endpoints write as JSON
(orjson writes dataclasses as objects), so their fields are the API's."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from web_console.port import Agent


@dataclass(frozen=True, slots=True)
class InboxFilter:
    """The inbox's filters as the endpoint checked them; None is "any"."""

    brand: str | None = None  # a slug
    intent: str | None = None
    band: str | None = None  # low, medium, high
    language: str | None = None
    channel: str | None = None
    status: str = "open"  # open, reviewed, ignored, all
    reason: str | None = None  # low_confidence, fallback, handoff, flagged
    start: date | None = None
    end: date | None = None  # included
    before: int | None = None
    limit: int = 50


@dataclass(frozen=True, slots=True)
class Annotation:
    """An entity a trainer marked over a message's text."""

    start: int
    end: int
    entity: str
    value: str = ""


class BotReviewPort(Protocol):
    """The trainer review inbox, the agents' flag and the bot's health over time. Every call
    is scoped to the brands the agent may review (designers' brands; admins every brand);
    another brand's message is ``Unknown``."""

    async def brands(self, agent: Agent) -> object:
        """The brands whose messages the agent reviews and whose health they read."""
        ...

    async def items(self, agent: Agent, wanted: InboxFilter) -> object:
        """A page of the inbox, newest first, near-duplicates grouped."""
        ...

    async def item(self, agent: Agent, message_id: int) -> object:
        """One item with its whole conversation (what came before and after)."""
        ...

    async def label(
        self,
        agent: Agent,
        message_ids: Sequence[int],
        intent: str | None,
        entities: Sequence[Annotation],
    ) -> object:
        """Give the messages an intent (their training examples are written) or, with
        ``intent`` None, mark them "not for the bot"."""
        ...

    async def retrain(self, agent: Agent) -> object:
        """Train on the project as it now is and measure the reviewed set before and after."""
        ...

    async def health(
        self, agent: Agent, brand: str, start: date | None, end: date | None, tz: str
    ) -> object:
        """Containment, fallbacks, handoffs by reason and accuracy, per week and per intent;
        and each retrain's effect."""
        ...

    async def flag(self, agent: Agent, message_id: int, intent: str | None, note: str) -> object:
        """An agent's "the bot got this wrong" on a customer message they may see."""
        ...
