"""What to do with a conversation when its customer writes.

A pure function over values, so it is tested without a database. Until the NLU layer lands
there is no bot able to answer, so every new conversation is acknowledged at once and queued
for a human; later, the NLU interpretation becomes an input and ``BotReply`` joins the outcomes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ConversationStatus = Literal["bot", "queued", "assigned", "resolved"]

# Why a conversation went to a human; stored with the handoff and shown in the console.
NO_BOT = "no_bot"


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome: the conversation's next status, an automatic reply, and why."""

    status: ConversationStatus
    reply: str | None = None
    handoff_reason: str | None = None


def decide(status: ConversationStatus, *, opened_now: bool, ack_text: str) -> Decision:
    """Decide for a customer message in a conversation currently in ``status``.

    ``opened_now`` is true when this message opened the conversation: only then is it
    acknowledged, so a customer writing five lines gets one acknowledgement, not five.
    """
    if status == "bot":
        return Decision(
            status="queued", reply=ack_text if opened_now else None, handoff_reason=NO_BOT
        )
    # A human is involved (or the conversation waits for one): the bot stays silent.
    return Decision(status=status)
