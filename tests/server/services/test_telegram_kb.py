"""Telegram and the bot's knowledge-base answer: the articles as text with links, and a
yes/no inline keyboard under it; a press on "No" (a callback_query) is the customer's
answer, brings a person in with reason kb_not_helpful, and the press is answered. Against
the Bot API stand-in, with the embedded bot."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from server.services import demo
from server.services.kb import Author
from tests import harness, telegram_api
from tests.e2e.test_widget_knowledge import ARTICLES, QUESTION
from tests.telegram_api import BotApi, callback_update, message_update


@pytest.fixture
async def api() -> AsyncIterator[BotApi]:
    async with telegram_api.bot_api() as running:
        yield running


@pytest.fixture(scope="module")
def nlu_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("nlu-cache")


async def test_no_under_the_articles_brings_a_person(
    dsn: str, tmp_path: Path, api: BotApi, nlu_cache: Path
) -> None:
    settings = harness.settings_for(
        dsn,
        tmp_path,
        telegram_bot_token=telegram_api.TOKEN,
        telegram_api_url=api.base_url,
        delivery_retry_seconds=0.2,
        nlu_engine="embedded",
        nlu_cache_dir=nlu_cache,
        public_url="https://support.test",
    )
    async with harness.run_server(settings) as running:
        kb = running.services.kb
        assert kb is not None
        for draft in ARTICLES:
            await kb.create(demo.BRAND_SLUG, draft, Author(None, "Editor"))
        telegram = running.services.telegram
        assert telegram is not None

        async def connected() -> bool:
            return bool(telegram.state()["status"] == "connected")

        await harness.until(connected, 20)
        api.push(message_update(1, QUESTION))

        def keyed() -> list[dict[str, Any]]:
            return [m for m in api.sent if "reply_markup" in m]

        async def answered() -> bool:
            return bool(keyed())

        await harness.until(answered, 30)
        [question] = keyed()
        assert question["reply_markup"] == {
            "inline_keyboard": [
                [
                    {"text": "Yes", "callback_data": "kb:yes"},
                    {"text": "No", "callback_data": "kb:no"},
                ]
            ]
        }
        assert (
            "• Caring for leather boots: https://support.test/help/demo/en/caring-for-leather-boots"
            in question["text"]
        )
        assert question["text"].endswith("Did this answer your question? (yes / no)")

        api.push(callback_update(2, "kb:no", question))
        pool = running.services.pool

        async def handed_over() -> bool:
            reason = await pool.fetchval(
                "SELECT handoff_reason FROM conversations WHERE channel = 'telegram'"
            )
            return reason == "kb_not_helpful" and api.answered_callbacks == ["cq-2"]

        await harness.until(handed_over, 30)
        verdicts = await pool.fetch("SELECT outcome, source FROM kb_article_outcomes")
        assert {tuple(v) for v in verdicts} == {("not_helpful", "customer")}
