"""A message the bot was not built for, through the live web chat and the embedded engine:
it is not understood (the fallback, never a confident wrong answer), and the stored
interpretation says how far out of scope it was and why, for the console to show."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from server.store.views import message_view
from tests import harness
from tests.channels.webchat_client import hello, new_session, open_socket
from tests.e2e.test_bot import Customer, bot_settings, said


@pytest.fixture(scope="module")
def nlu_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One embedded model for the module (trained on first use)."""
    return tmp_path_factory.mktemp("nlu-cache")


@pytest.fixture
async def customer(dsn: str, tmp_path: Path, nlu_cache: Path) -> AsyncIterator[Customer]:
    settings = bot_settings("embedded", dsn, tmp_path, nlu_cache, None)
    async with harness.run_server(settings) as running:
        session = await new_session(running.base_url)
        async with await open_socket(running.ws_url) as ws:
            await hello(ws, session["token"])
            yield Customer(running, ws)


async def test_gibberish_gets_the_honest_not_understood_path(customer: Customer) -> None:
    replies = await customer.say("asdf qwerty zxcv")
    pool = customer.server.services.pool
    conversation_id = uuid.UUID(customer.conversation_id)
    stored = await pool.fetchrow(
        "SELECT nlu FROM messages WHERE conversation_id = $1 AND author_kind = 'customer'",
        conversation_id,
    )
    assert stored is not None
    understood = stored["nlu"]
    assert understood["intent"] == "nlu_fallback"
    assert understood["scope"]["out_of_scope"] is True
    assert understood["scope"]["score"] > 0.9
    assert "0% of its words appear in the training examples" in understood["scope"]["reasons"]
    # The console's view of the message says why, beside it in the transcript.
    row = await pool.fetchrow(
        "SELECT * FROM messages WHERE conversation_id = $1 AND author_kind = 'customer'",
        conversation_id,
    )
    assert row is not None
    shown = message_view(row)["nlu"]
    assert shown is not None
    assert shown["out_of_scope"] == understood["scope"]["reasons"]
    # The not-understood answer, and nothing an in-scope intent would have said.
    actions = await pool.fetchval(
        "SELECT array_agg(meta->>'action' ORDER BY seq) FROM messages"
        " WHERE conversation_id = $1 AND author_kind = 'bot'",
        conversation_id,
    )
    assert actions in (["utter_default"], ["action_default_fallback"]), said(replies)
    conversation = await customer.conversation()
    assert conversation["bot_fallbacks"] == 1


async def test_an_in_scope_message_is_answered_and_judged_in_scope(customer: Customer) -> None:
    replies = await customer.say("where is my order 10234?")
    assert "10234" in said(replies)
    understood = await customer.server.services.pool.fetchval(
        "SELECT nlu FROM messages WHERE conversation_id = $1 AND author_kind = 'customer'",
        uuid.UUID(customer.conversation_id),
    )
    assert understood["intent"] == "order_status"
    assert understood["scope"]["out_of_scope"] is False
    assert understood["scope"]["reasons"] == []
