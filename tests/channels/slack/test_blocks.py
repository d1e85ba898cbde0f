"""The rating question's Block Kit: five buttons under the text, and once rated the text with
the rating in their place, then the comment or an input for one (pure functions over Slack's
JSON)."""

from __future__ import annotations

from channels.slack.blocks import comment_input, question_blocks, rated_blocks, stars


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


def test_rated_offers_an_input_for_the_comment_in_the_question_language() -> None:
    question = question_blocks("Comment avons-nous fait ?")
    rated = rated_blocks(question, "ignored", 4, ask_comment=True, language="fr")
    assert rated[:-1] == [question[0], rated_blocks(question, "", 4)[-1]]
    offered = rated[-1]
    assert offered == comment_input("fr")
    assert offered["type"] == "input"
    assert offered["dispatch_action"] is True
    assert offered["element"]["type"] == "plain_text_input"
    assert offered["element"]["max_length"] == 2000
    assert offered["label"]["text"] == "Un commentaire (facultatif)"
    # A language without words of its own gets the English ones.
    assert comment_input("de") == comment_input("en") == comment_input(None)


def test_a_kept_comment_replaces_the_input_and_nothing_is_shown_twice() -> None:
    question = question_blocks("How did we do?")
    offered = rated_blocks(question, "", 3, ask_comment=True, language="en")
    # Slack gives back the message as it is shown (rating and input): drawn again, not added.
    commented = rated_blocks(offered, "", 3, comment="slow <b>but</b> fine", ask_comment=True)
    assert commented == [
        question[0],
        {"type": "context", "elements": [{"type": "plain_text", "text": "★★★☆☆ 3/5"}]},
        {"type": "context", "elements": [{"type": "plain_text", "text": "“slow <b>but</b> fine”"}]},
    ]
