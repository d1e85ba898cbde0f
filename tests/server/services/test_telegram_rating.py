"""Telegram's rating question: on resolve the customer gets the closing message, then the
question with an inline keyboard 1-5; pressing a button (a callback_query) rates the
conversation, the press is answered (answerCallbackQuery) and the customer thanked. Against
the Bot API stand-in, which speaks the documented JSON."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from server.services import demo
from server.store import brand_texts
from tests import harness, telegram_api
from tests.telegram_api import BotApi, callback_update, message_update
from tests.web_console.brands import person, signed_in


@pytest.fixture
async def api() -> AsyncIterator[BotApi]:
    async with telegram_api.bot_api() as running:
        yield running


def _settings(dsn: str, tmp: Path, api: BotApi) -> Any:
    return harness.settings_for(
        dsn,
        tmp,
        telegram_bot_token=telegram_api.TOKEN,
        telegram_api_url=api.base_url,
        delivery_retry_seconds=0.2,
    )


async def test_a_button_under_the_rating_question_rates_the_conversation(
    dsn: str, tmp_path: Path, api: BotApi
) -> None:
    async with harness.run_server(_settings(dsn, tmp_path, api)) as running:
        telegram = running.services.telegram
        assert telegram is not None

        async def connected() -> bool:
            return bool(telegram.state()["status"] == "connected")

        await harness.until(connected, 20)
        api.push(message_update(1, "Where is my order?"))
        pool = running.services.pool

        async def opened() -> bool:
            return bool(
                await pool.fetchval("SELECT count(*) FROM conversations WHERE channel = 'telegram'")
            )

        await harness.until(opened, 15)
        await running.services.pipeline.settled()
        conversation = str(
            await pool.fetchval("SELECT id FROM conversations WHERE channel = 'telegram'")
        )
        sam = await signed_in(running, await person(running, demo.BRAND_SLUG, "supervisor"))
        path = f"/console/api/conversations/{conversation}"
        assert (await sam.post(f"{path}/claim")).status_code == 200
        assert (await sam.post(f"{path}/resolve")).status_code == 200

        def keyed() -> list[dict[str, Any]]:
            return [m for m in api.sent if "reply_markup" in m]

        async def asked() -> bool:
            closing = brand_texts.DEFAULTS["closing"]["en"]
            return bool(keyed()) and any(m["text"] == closing for m in api.sent)

        await harness.until(asked, 15)
        [question] = keyed()
        assert question["reply_markup"] == {
            "inline_keyboard": [
                [{"text": str(n), "callback_data": f"csat:{n}"} for n in range(1, 6)]
            ]
        }
        texts = [m["text"] for m in api.sent]
        # The closing message comes first, with no keyboard; then the question.
        closing = texts.index(brand_texts.DEFAULTS["closing"]["en"])
        assert closing == texts.index(question["text"]) - 1
        assert "How did we do?" in question["text"]

        api.push(callback_update(2, "csat:4", question))

        async def rated() -> bool:
            rating = await pool.fetchval(
                "SELECT rating FROM csat WHERE conversation_id = $1::uuid", conversation
            )
            return rating == 4 and api.answered_callbacks == ["cq-2"]

        await harness.until(rated, 15)

        async def thanked() -> bool:
            return any(m["text"] == "Thank you for your feedback!" for m in api.sent)

        await harness.until(thanked, 15)
        messages = await pool.fetchval("SELECT count(*) FROM messages")
        # A second press (another button, or the same one again) is answered and changes
        # nothing: the survey has its answer.
        api.push(callback_update(3, "csat:2", question))

        async def second_answered() -> bool:
            return api.answered_callbacks == ["cq-2", "cq-3"]

        await harness.until(second_answered, 15)
        assert await pool.fetchval("SELECT count(*) FROM messages") == messages
        assert (
            await pool.fetchval(
                "SELECT rating FROM csat WHERE conversation_id = $1::uuid", conversation
            )
            == 4
        )
        # Answered in the resolved conversation: no new one opened by the press.
        assert (
            await pool.fetchval("SELECT count(*) FROM conversations WHERE channel = 'telegram'")
            == 1
        )
        assert (
            await pool.fetchval(
                "SELECT status FROM conversations WHERE id = $1::uuid", conversation
            )
            == "resolved"
        )
        await sam.aclose()
