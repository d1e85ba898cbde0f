"""Block Kit for the rating question: pure functions from our words to Slack's JSON.

The question goes out as its text (section blocks) above an actions block of five buttons,
1 to 5; each button's ``action_id`` says which (``csat:<n>``), and a press comes back through
Slack's interactivity endpoint (``channels.slack.interactivity``). Once rated, the message is
updated: the same text, and in place of the buttons the rating chosen, so it cannot be pressed
again. The ``text`` posted beside the blocks stays the whole question: it is what Slack shows
in notifications, and "reply with a number" still works under it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from channels.segments import segments

RATING_BLOCK = "csat"
RATING_PREFIX = "csat:"
RATINGS = range(1, 6)
# Slack's limit for a section's text (https://api.slack.com/reference/block-kit/blocks).
SECTION_TEXT = 3000

Block = dict[str, Any]


def rating_action(n: int) -> str:
    return f"{RATING_PREFIX}{n}"


def _sections(text: str) -> list[Block]:
    # plain_text: our words are shown as they are, never read as mrkdwn or links.
    return [
        {"type": "section", "text": {"type": "plain_text", "text": part}}
        for part in segments(text, SECTION_TEXT)
    ]


def question_blocks(text: str) -> list[Block]:
    """The question's text, then one row of five buttons."""
    buttons = [
        {
            "type": "button",
            "action_id": rating_action(n),
            "text": {"type": "plain_text", "text": str(n)},
            "value": str(n),
        }
        for n in RATINGS
    ]
    return [*_sections(text), {"type": "actions", "block_id": RATING_BLOCK, "elements": buttons}]


def stars(rating: int) -> str:
    """ "★★★★☆ 4/5": the rating in no language in particular (the question was in theirs)."""
    return "★" * rating + "☆" * (5 - rating) + f" {rating}/5"


def rated_blocks(question: Sequence[Block], text: str, rating: int) -> list[Block]:
    """The question as Slack gave it back with the press (its blocks; its text when they are
    missing), its buttons replaced by the rating."""
    shown = question or question_blocks(text)
    kept = [b for b in shown if b.get("block_id") != RATING_BLOCK and b.get("type") != "actions"]
    chosen = {"type": "context", "elements": [{"type": "plain_text", "text": stars(rating)}]}
    return [*kept, chosen]
