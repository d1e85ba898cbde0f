"""What an action run by the embedded engine sees and can do (``ActionContext``), the
in-process custom actions (``CustomAction``: the server's order lookup, the project's
``action_handoff``).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from nlu.base import BotMessage, Button
from nlu.dialogue import choose_response, fill, render
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
        at random), the ``{placeholders}`` of its text, buttons' titles and payloads, image
        and custom payload filled from the slots and ``values``, as Rasa 3.6 fills them."""
        variation = choose_response(
            self.responses.get(response, []), self.slots, self.channel, self.rng
        )
        if variation is None:
            return
        filled = {**self.slots, **values}
        self.messages.append(
            BotMessage(
                render(variation.text, filled) if variation.text else None,
                action or response,
                fill(variation.custom, filled) if variation.custom is not None else None,
                buttons=tuple(
                    Button(render(b.title, filled), render(b.payload, filled))
                    for b in variation.buttons
                ),
                image=render(variation.image, filled) if variation.image else None,
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
