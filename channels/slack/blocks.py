"""Block Kit for the rating question: pure functions from our words to Slack's JSON.

The question goes out as its text (section blocks) above an actions block of five buttons,
1 to 5; each button's ``action_id`` says which (``csat:<n>``), and a press comes back through
Slack's interactivity endpoint (``channels.slack.interactivity``). Once rated, the message is
updated: the same text, and in place of the buttons the rating chosen, so it cannot be pressed
again. The ``text`` posted beside the blocks stays the whole question: it is what Slack shows
in notifications, and "reply with a number" still works under it.

A button carries only the number, where a typed reply ("4 - quick and kind") carries the
comment too; so the rated question also holds a one-line input for the comment (an ``input``
block with ``dispatch_action``: Enter, or the arrow Slack draws beside it, posts a
``block_actions`` payload with the typed ``value``). Once a comment is kept it is shown under
the rating in place of the input.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from channels.segments import segments

RATING_BLOCK = "csat"
RATING_PREFIX = "csat:"
RATINGS = range(1, 6)
COMMENT_BLOCK = "csat-comment"
COMMENT_ACTION = "csat-comment"
# What server/store/csat.py keeps of a comment (Slack allows up to 3000 in an input).
COMMENT_MAX = 2000
# Slack's limit for a section's text (https://api.slack.com/reference/block-kit/blocks).
SECTION_TEXT = 3000
# The input's words, in the question's language (server/pipeline/survey.py asks in en or fr).
COMMENT_LABEL = {"en": "A comment (optional)", "fr": "Un commentaire (facultatif)"}
COMMENT_HINT = {
    "en": "Press Enter to send it with your rating.",
    "fr": "Appuyez sur Entrée pour l'envoyer avec votre note.",
}

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


def _context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "plain_text", "text": text}]}


def comment_input(language: str | None) -> Block:
    """The one-line input for the comment; Enter sends it (``dispatch_action``)."""
    words = language if language in COMMENT_LABEL else "en"
    return {
        "type": "input",
        "block_id": COMMENT_BLOCK,
        "dispatch_action": True,
        "label": {"type": "plain_text", "text": COMMENT_LABEL[words]},
        "hint": {"type": "plain_text", "text": COMMENT_HINT[words]},
        "element": {
            "type": "plain_text_input",
            "action_id": COMMENT_ACTION,
            "max_length": COMMENT_MAX,
            "dispatch_action_config": {"trigger_actions_on": ["on_enter_pressed"]},
        },
    }


def rated_blocks(
    question: Sequence[Block],
    text: str,
    rating: int,
    *,
    comment: str | None = None,
    ask_comment: bool = False,
    language: str | None = None,
) -> list[Block]:
    """The question as Slack gave it back with the press (its text's sections; its text when
    it has none), its buttons replaced by the rating; then the comment kept, or, with
    ``ask_comment`` and none kept yet, the input for one (labelled in ``language``)."""
    # Only the question's own text is kept: what followed it (buttons, a rating shown
    # earlier, the input) is drawn again from the stored answer.
    kept = [b for b in question if b.get("type") == "section"] or question_blocks(text)[:-1]
    blocks = [*kept, _context(stars(rating))]
    if comment is not None:
        blocks.append(_context(f"“{comment}”"))
    elif ask_comment:
        blocks.append(comment_input(language))
    return blocks
