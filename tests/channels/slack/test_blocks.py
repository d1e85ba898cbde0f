"""The rating question's Block Kit: five buttons under the text, and once rated the text with
the rating in their place (pure functions over Slack's JSON)."""

from __future__ import annotations

from channels.slack.blocks import question_blocks, rated_blocks, stars


def test_a_long_question_is_cut_into_sections_slack_accepts() -> None:
    blocks = question_blocks("word " * 1000)
    sections = [b for b in blocks if b["type"] == "section"]
    assert len(sections) == 2
    assert all(len(b["text"]["text"]) <= 3000 for b in sections)
    assert [e["action_id"] for e in blocks[-1]["elements"]] == [f"csat:{n}" for n in range(1, 6)]


def test_rated_keeps_the_text_and_drops_the_buttons() -> None:
    question = question_blocks("How did we do?")
    rated = rated_blocks(question, "ignored", 2)
    assert rated[0] == question[0]
    chosen = {"type": "context", "elements": [{"type": "plain_text", "text": stars(2)}]}
    assert rated[1:] == [chosen]
    assert stars(2) == "★★☆☆☆ 2/5"


def test_rated_rebuilds_the_text_when_slack_gave_no_blocks() -> None:
    rated = rated_blocks((), "How did we do?", 5)
    assert rated[0] == {"type": "section", "text": {"type": "plain_text", "text": "How did we do?"}}
    assert rated[-1]["elements"][0]["text"] == "★★★★★ 5/5"
