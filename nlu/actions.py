"""What an action run by the embedded engine sees and can do (``ActionContext``), the
in-process custom actions (``CustomAction``: the server's order lookup, the project's
``action_handoff``).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from nlu.base import BotMessage
from nlu.dialogue import choose_response, render
from nlu.project import Response

HANDOFF_ACTION = "action_handoff"
BOT_REQUESTED = "bot_requested"


@dataclass
class ActionContext:
    """What an action sees and can do: the slots, say a response, ask for a human."""

    conversation_id: str
    language: str
    slots: dict[str, Any]
    responses: Mapping[str, list[Response]]
    messages: list[BotMessage] = field(default_factory=list)
    handoff: str | None = None
    channel: str | None = None
    # Chooses among a response's variations, as Rasa does; None: always the first.
    rng: random.Random | None = None

    def utter(self, response: str, action: str | None = None, **values: Any) -> None:
        """Say one of the domain's responses (a variation the slots and the channel select,
        at random), its ``{placeholders}`` filled from the slots and ``values``."""
        variation = choose_response(
            self.responses.get(response, []), self.slots, self.channel, self.rng
        )
        if variation is None:
            return
        text = render(variation.text, {**self.slots, **values}) if variation.text else None
        self.messages.append(
            BotMessage(
                text,
                action or response,
                variation.custom,
                buttons=variation.buttons,
                image=variation.image,
            )
        )

    def request_handoff(self, reason: str) -> None:
        self.handoff = reason


class CustomAction(Protocol):
    """A custom action the embedded engine runs in-process (the server's order lookup)."""

    async def __call__(self, context: ActionContext) -> None: ...


async def handoff_action(context: ActionContext) -> None:
    """The project's ``action_handoff``: bring in a human."""
    context.request_handoff(BOT_REQUESTED)
