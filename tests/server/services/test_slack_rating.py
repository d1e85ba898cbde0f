"""Slack's rating question: on resolve the customer gets the closing message, then the question
with five Block Kit buttons; a press comes through the interactivity URL (signed, form-encoded
with a ``payload`` JSON field), rates the conversation exactly once however often Slack sends
it or the customer presses, and the question then shows the rating instead of its buttons,
and an input for the comment a button cannot carry; a comment sent from it is kept with the
rating (shown in the console's context panel and the transcript) and then shown in place of
the input. Replying with a number still rates. Against the Web API stand-in, which speaks the
documented JSON (chat.postMessage with blocks, chat.update, block_actions payloads)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from channels.slack.blocks import comment_input
from server.services import demo
from server.store import brand_texts
from tests import harness, slack_api
from tests.slack_api import (
    SlackApi,
    block_actions,
    input_sent,
    interaction,
    message_event,
    signed,
)
from tests.web_console.brands import person, signed_in

EVENTS = "/channels/slack/events"
INTERACTIVITY = "/channels/slack/interactivity"
FORM = "application/x-www-form-urlencoded"


@pytest.fixture
async def api() -> AsyncIterator[SlackApi]:
    async with slack_api.slack_api() as running:
        yield running


@pytest.fixture
async def running(dsn: str, tmp_path: Path, api: SlackApi) -> AsyncIterator[harness.RunningServer]:
    settings = harness.settings_for(
        dsn,
        tmp_path,
        slack_signing_secret=slack_api.SIGNING_SECRET,
        slack_bot_token=slack_api.TOKEN,
        slack_api_url=api.base_url + "/api/",
        delivery_retry_seconds=0.2,
    )
    async with harness.run_server(settings) as server:
        slack = server.services.slack
        assert slack is not None

        async def connected() -> bool:
            return bool(slack.state()["status"] == "connected")

        await harness.until(connected, 15)
        yield server


def _press_headers(body: bytes, **overrides: str) -> dict[str, str]:
    return {**signed(body), "Content-Type": FORM, **overrides}


async def _resolved_with_question(
    server: harness.RunningServer, api: SlackApi, event: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """The customer writes, a supervisor resolves: the conversation and the question posted."""
    body = orjson.dumps(event)
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        assert (await http.post(EVENTS, content=body, headers=signed(body))).status_code == 200
    assert server.services.slack is not None
    await server.services.slack.settled()
    await server.services.pipeline.settled()
    pool = server.services.pool
    conversation = str(
        await pool.fetchval(
            "SELECT c.id FROM conversations c JOIN messages m ON m.conversation_id = c.id"
            " WHERE m.external_id LIKE '%' || $1",
            event["event"]["ts"],
        )
    )
    sam = await signed_in(server, await person(server, demo.BRAND_SLUG, "supervisor"))
    path = f"/console/api/conversations/{conversation}"
    assert (await sam.post(f"{path}/claim")).status_code == 200
    assert (await sam.post(f"{path}/resolve")).status_code == 200
    await sam.aclose()
    known = len(api.posted)

    async def asked() -> bool:
        return any("blocks" in p for p in api.posted[known:])

    await harness.until(asked, 15)
    [question] = [p for p in api.posted if "blocks" in p]
    return conversation, question


async def _rating(server: harness.RunningServer, conversation: str) -> Any:
    return await server.services.pool.fetchval(
        "SELECT rating FROM csat WHERE conversation_id = $1::uuid", conversation
    )


async def test_a_button_under_the_question_rates_once_and_the_question_shows_the_rating(
    running: harness.RunningServer, api: SlackApi
) -> None:
    event = message_event(1, "<@U0BOT> where is my parcel?")
    conversation, question = await _resolved_with_question(running, api, event)
    texts = [p["text"] for p in api.posted]
    closing = texts.index(brand_texts.DEFAULTS["closing"]["en"])
    assert closing == texts.index(question["text"]) - 1  # the closing words, then the question
    assert "How did we do?" in question["text"]
    assert question["thread_ts"] == event["event"]["ts"]  # in the customer's thread
    assert question["blocks"] == [
        {"type": "section", "text": {"type": "plain_text", "text": question["text"]}},
        {
            "type": "actions",
            "block_id": "csat",
            "elements": [
                {
                    "type": "button",
                    "action_id": f"csat:{n}",
                    "text": {"type": "plain_text", "text": str(n)},
                    "value": str(n),
                }
                for n in range(1, 6)
            ],
        },
    ]

    press = interaction(block_actions(question, "csat:4"))
    async with httpx.AsyncClient(base_url=running.base_url) as http:
        first = await http.post(INTERACTIVITY, content=press, headers=_press_headers(press))
        assert first.status_code == 200
        # Stored before Slack was answered.
        assert await _rating(running, conversation) == 4
        # Slack sending it again, and a second press before the buttons are gone.
        again = {**_press_headers(press), "X-Slack-Retry-Num": "1"}
        assert (await http.post(INTERACTIVITY, content=press, headers=again)).status_code == 200
        other = interaction(block_actions(question, "csat:2"))
        assert (
            await http.post(INTERACTIVITY, content=other, headers=_press_headers(other))
        ).status_code == 200
    pool = running.services.pool
    assert await _rating(running, conversation) == 4
    answers = await pool.fetch(
        "SELECT text FROM messages WHERE direction = 'in' AND meta ? 'csat'"
        " AND conversation_id = $1::uuid",
        conversation,
    )
    assert [a["text"] for a in answers] == ["4"]

    async def shown() -> bool:
        thanked = any(p["text"] == "Thank you for your feedback!" for p in api.posted)
        return thanked and bool(api.updated)

    await harness.until(shown, 15)
    # Each press on the answered question shows the stored rating again (never the 2), and
    # the input for a comment.
    for update in api.updated:
        assert (update["channel"], update["ts"]) == (question["channel"], question["ts"])
        assert update["blocks"] == [
            question["blocks"][0],
            {"type": "context", "elements": [{"type": "plain_text", "text": "★★★★☆ 4/5"}]},
            comment_input("en"),
        ]
    thanks = next(p for p in api.posted if p["text"] == "Thank you for your feedback!")
    assert thanks["thread_ts"] == event["event"]["ts"]
    # Answered in the resolved conversation: no new one opened by the presses.
    assert await pool.fetchval("SELECT count(*) FROM conversations WHERE channel = 'slack'") == 1


async def test_a_press_in_a_direct_message_rates_that_conversation(
    running: harness.RunningServer, api: SlackApi
) -> None:
    event = message_event(2, "my card was charged twice", channel="D0ADA")
    conversation, question = await _resolved_with_question(running, api, event)
    assert question["thread_ts"] is None
    press = interaction(block_actions(question, "csat:5"))
    async with httpx.AsyncClient(base_url=running.base_url) as http:
        response = await http.post(INTERACTIVITY, content=press, headers=_press_headers(press))
    assert response.status_code == 200
    assert await _rating(running, conversation) == 5


async def test_replying_with_a_number_still_rates_and_a_later_press_changes_nothing(
    running: harness.RunningServer, api: SlackApi
) -> None:
    event = message_event(3, "<@U0BOT> the zip is stuck")
    conversation, question = await _resolved_with_question(running, api, event)
    reply = message_event(4, "3 slow but fine", thread_ts=event["event"]["ts"])
    body = orjson.dumps(reply)
    press = interaction(block_actions(question, "csat:5"))
    async with httpx.AsyncClient(base_url=running.base_url) as http:
        assert (await http.post(EVENTS, content=body, headers=signed(body))).status_code == 200
        assert running.services.slack is not None
        await running.services.slack.settled()  # the reply is read after the 200
        assert await _rating(running, conversation) == 3
        # The buttons are still there: a press now is not a second answer, nor a message.
        response = await http.post(INTERACTIVITY, content=press, headers=_press_headers(press))
        assert response.status_code == 200
    pool = running.services.pool
    assert await _rating(running, conversation) == 3
    assert await pool.fetchval("SELECT count(*) FROM conversations WHERE channel = 'slack'") == 1
    assert await pool.fetchval("SELECT count(*) FROM messages WHERE text = '5'") == 0

    async def shown() -> bool:
        return bool(api.updated)

    await harness.until(shown, 15)
    # The rating, and the comment typed with it (so no input for another).
    rated, commented = api.updated[-1]["blocks"][-2:]
    assert rated["elements"][0]["text"] == "★★★☆☆ 3/5"
    assert commented["elements"][0]["text"] == "“slow but fine”"


async def test_bad_presses_are_refused_precisely_and_store_nothing(
    running: harness.RunningServer, api: SlackApi
) -> None:
    event = message_event(5, "<@U0BOT> refund please")
    conversation, question = await _resolved_with_question(running, api, event)
    press = interaction(block_actions(question, "csat:1"))
    missing = block_actions(question, "csat:1")
    del missing["user"]
    unknown = block_actions(question, "csat:1")
    unknown["actions"][0]["action_id"] = "csat:9"
    with_input = {**question, "blocks": [*question["blocks"], comment_input("en")]}
    long_comment = input_sent(with_input, "x" * 2001)
    odd_comment = input_sent(with_input, "fine")
    odd_comment["actions"][0]["value"] = 5
    cases: list[tuple[bytes, dict[str, str], int, str]] = [
        (press, _press_headers(press, **signed(press, secret="wrong-secret")), 401, "signature"),
        (press, _press_headers(press, **signed(press, timestamp="170000000a")), 401, "timestamp"),
        (press, {**_press_headers(press), "X-Slack-Signature": "v0=00"}, 401, "signature"),
        (b"payload=%7Bnot+json", {}, 400, "payload is not JSON"),
        (b"payload=%5B1%2C2%5D", {}, 400, "payload is not a JSON object"),
        (b"other=1", {}, 400, "no payload field"),
        (b"payload=%ZZ&&=", {}, 400, "not a form"),
        (interaction(missing), {}, 400, "names its team, user, channel and message"),
        (interaction(unknown), {}, 400, "no rating '9'"),
        (interaction(long_comment), {}, 400, "a comment is at most 2000 characters"),
        (interaction(odd_comment), {}, 400, "a comment's value is text"),
        (press, {"Content-Type": "application/json"}, 400, FORM),
    ]
    async with httpx.AsyncClient(base_url=running.base_url) as http:
        for body, headers, status, says in cases:
            sent = headers if status == 401 else {**_press_headers(body), **headers}
            response = await http.post(INTERACTIVITY, content=body, headers=sent)
            assert (response.status_code, body) == (status, body)
            assert says in response.json()["error"], response.json()
        # Another app's button (not ours) is answered 200 and stores nothing.
        theirs = block_actions(question, "csat:1")
        theirs["actions"][0]["action_id"] = "approve_request"
        body = interaction(theirs)
        response = await http.post(INTERACTIVITY, content=body, headers=_press_headers(body))
        assert response.status_code == 200
        # A comment before any rating, and an empty one: answered 200, nothing kept.
        for text in ("great", "   "):
            body = interaction(input_sent(with_input, text))
            response = await http.post(INTERACTIVITY, content=body, headers=_press_headers(body))
            assert response.status_code == 200
    assert await _rating(running, conversation) is None
    pool = running.services.pool
    assert (
        await pool.fetchval(
            "SELECT comment FROM csat WHERE conversation_id = $1::uuid", conversation
        )
        is None
    )
    assert await pool.fetchval("SELECT count(*) FROM messages WHERE text = 'great'") == 0
    assert api.updated == []


async def test_a_comment_typed_under_the_rated_question_is_kept_with_the_rating(
    running: harness.RunningServer, api: SlackApi
) -> None:
    """A button carries only the number: the rated question offers an input, and what the
    customer sends from it is the rating's comment, in the console like a typed one."""
    event = message_event(6, "<@U0BOT> my invoice is wrong")
    conversation, question = await _resolved_with_question(running, api, event)
    press = interaction(block_actions(question, "csat:4"))
    async with httpx.AsyncClient(base_url=running.base_url) as http:
        response = await http.post(INTERACTIVITY, content=press, headers=_press_headers(press))
        assert response.status_code == 200

        async def offered() -> bool:
            return any(b["type"] == "input" for b in api.shown(question)["blocks"])

        await harness.until(offered, 15)
        now = api.shown(question)
        body = interaction(input_sent(now, "  Quick and kind, thanks Sam  "))
        response = await http.post(INTERACTIVITY, content=body, headers=_press_headers(body))
        assert response.status_code == 200
        pool = running.services.pool
        # Kept before Slack was answered.
        kept = await pool.fetchrow(
            "SELECT rating, comment FROM csat WHERE conversation_id = $1::uuid", conversation
        )
        assert kept is not None
        assert (kept["rating"], kept["comment"]) == (4, "Quick and kind, thanks Sam")
        # Sent again (Enter, then the arrow), or a second comment: the first one stays.
        again = input_sent(now, "Actually, slow")
        del again["actions"][0]["value"]  # this one only in state.values, as Slack also gives
        for sent in (body, interaction(again)):
            response = await http.post(INTERACTIVITY, content=sent, headers=_press_headers(sent))
            assert response.status_code == 200
    assert (
        await pool.fetchval(
            "SELECT comment FROM csat WHERE conversation_id = $1::uuid", conversation
        )
        == "Quick and kind, thanks Sam"
    )
    said = await pool.fetch(
        "SELECT text, meta->'csat_comment' AS comment FROM messages"
        " WHERE conversation_id = $1::uuid AND direction = 'in' ORDER BY seq",
        conversation,
    )
    assert [r["text"] for r in said][-2:] == ["4", "Quick and kind, thanks Sam"]
    assert said[-1]["comment"] is True
    assert await pool.fetchval("SELECT count(*) FROM conversations WHERE channel = 'slack'") == 1

    async def commented() -> bool:
        blocks = api.shown(question)["blocks"]
        return blocks[-1]["type"] == "context" and "Quick" in str(blocks[-1])

    await harness.until(commented, 15)
    assert api.shown(question)["blocks"][1:] == [
        {"type": "context", "elements": [{"type": "plain_text", "text": "★★★★☆ 4/5"}]},
        {
            "type": "context",
            "elements": [{"type": "plain_text", "text": "“Quick and kind, thanks Sam”"}],
        },
    ]
    # The console shows it with the rating, as a comment typed after the number.
    sam = await signed_in(running, await person(running, demo.BRAND_SLUG, "supervisor"))
    context = (await sam.get(f"/console/api/conversations/{conversation}/context")).json()
    await sam.aclose()
    assert (context["csat"]["rating"], context["csat"]["comment"]) == (
        4,
        "Quick and kind, thanks Sam",
    )


async def test_the_comment_input_speaks_the_customers_language(
    running: harness.RunningServer, api: SlackApi
) -> None:
    event = message_event(7, "Bonjour, ma commande n'est jamais arrivée, pouvez-vous m'aider ?")
    conversation, question = await _resolved_with_question(running, api, event)
    assert "Comment avons-nous fait" in question["text"]
    press = interaction(block_actions(question, "csat:5"))
    async with httpx.AsyncClient(base_url=running.base_url) as http:
        response = await http.post(INTERACTIVITY, content=press, headers=_press_headers(press))
        assert response.status_code == 200

    async def offered() -> bool:
        return any(b["type"] == "input" for b in api.shown(question)["blocks"])

    await harness.until(offered, 15)
    assert api.shown(question)["blocks"][-1] == comment_input("fr")
    assert comment_input("fr")["label"]["text"] == "Un commentaire (facultatif)"
    assert await _rating(running, conversation) == 5
