"""A turn as the embedded engine runs it (nlu/conversation.py): here what follows a restart,
against the rasa-sdk protocol's shapes (httpx's MockTransport); the same turns against a real
Rasa 3.6.21 are in tests/nlu/test_dialogue_ledger.py."""

from __future__ import annotations

import json
from typing import Any

import httpx

from nlu.action_server import ActionServer
from nlu.base import Dialogue, Interpretation, PastTurn
from nlu.conversation import Conversations
from nlu.dialogue import DialoguePolicy
from nlu.project import SESSION_START, load_project
from nlu.tracker import ACTION_LISTEN, ActionExecuted, Restarted, SlotSet
from tests.nlu.dialogue_twin import PROJECTS


async def test_a_restart_starts_the_session_again_in_its_turn() -> None:
    """As Rasa's Restarted event calls for it: the project's own action_session_start runs
    right after action_restart (its slots set again on the emptied tracker), then the bot
    listens; the next message is answered with them."""
    ledger = load_project(PROJECTS / "ledger")
    policy = DialoguePolicy(ledger)
    asked: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body: dict[str, Any] = json.loads(request.content)
        asked.append(body["next_action"])
        assert body["next_action"] == SESSION_START
        slot = {"event": "slot", "name": "customer", "value": "Ada"}
        return httpx.Response(200, json={"events": [slot], "responses": []})

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    bot = Conversations({}, ActionServer("http://actions.test/webhook", client))
    history: list[PastTurn] = []

    async def say(intent: str, text: str) -> list[str]:
        message = Interpretation(text, intent, 0.99)
        turn = await bot.respond(ledger, policy, Dialogue("c1", message, "en", tuple(history)))
        history.append(PastTurn(intent, text=text, slots=turn.slots, events=turn.events))
        history.extend(PastTurn(action=m.action) for m in turn.messages)
        return [m.text or "" for m in turn.messages]

    assert await say("greet", "hello") == [
        "Hello Ada! I can search your spending or your earnings."
    ]
    assert await say("restart", "/restart") == []
    assert asked == [SESSION_START, SESSION_START]
    restarted = bot.events("c1")[-4:]
    assert restarted == (
        ActionExecuted("action_restart"),
        Restarted(),
        SlotSet("customer", "Ada"),
        ActionExecuted(ACTION_LISTEN),
    )
    assert await say("greet", "hello") == [
        "Hello Ada! I can search your spending or your earnings."
    ]
    assert asked == [SESSION_START, SESSION_START]
    await client.aclose()
