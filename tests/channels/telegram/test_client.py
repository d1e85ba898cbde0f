"""The Bot API client hands over neutral values: long polling's updates come back as the
bytes Telegram sent (no aiogram object leaves channels/), readable by ``translate.incoming``."""

from __future__ import annotations

from collections.abc import AsyncIterator

import orjson
import pytest

from channels.telegram.client import TelegramClient
from channels.telegram.port import RawUpdate
from channels.telegram.translate import incoming
from tests import telegram_api
from tests.telegram_api import BotApi, message_update


@pytest.fixture
async def client() -> AsyncIterator[tuple[TelegramClient, BotApi]]:
    async with telegram_api.bot_api() as api:
        client = TelegramClient(telegram_api.TOKEN, api.base_url)
        try:
            yield client, api
        finally:
            await client.close()


async def test_the_bot_is_known_by_its_token_and_by_getme(
    client: tuple[TelegramClient, BotApi],
) -> None:
    telegram, _ = client
    assert telegram.bot_id == telegram_api.BOT["id"]  # without asking Telegram
    assert await telegram.username() == telegram_api.BOT["username"]


async def test_polled_updates_are_the_json_telegram_sent(
    client: tuple[TelegramClient, BotApi],
) -> None:
    telegram, api = client
    forum = {"id": -200, "type": "supergroup", "title": "ACME forum", "is_forum": True}
    sent = [
        message_update(1, "/start order-10234"),
        message_update(
            2,
            None,
            caption="my receipt",
            document={
                "file_id": "doc-1",
                "file_unique_id": "u1",
                "file_name": "r.pdf",
                "mime_type": "application/pdf",
            },
        ),
        message_update(
            3, "@DemoShopBot refund?", chat=forum, message_thread_id=5, is_topic_message=True
        ),
        {"update_id": 4, "edited_message": message_update(4, "edited")["message"]},
    ]
    for update in sent:
        api.push(update)
    polled = await telegram.updates(None, wait_seconds=0)
    assert all(isinstance(u, RawUpdate) for u in polled)
    assert [u.update_id for u in polled] == [1, 2, 3, 4]
    assert [orjson.loads(u.body) for u in polled] == sent
    read = [incoming(u, "DemoShopBot") for u in polled]
    assert read[3] is None  # an edit is not a new message
    assert [(m.text, m.thread, m.meta.get("topic")) for m in read if m is not None] == [
        ("/start order-10234", None, None),
        ("my receipt", None, None),
        ("refund?", "chat:-200:topic:5", 5),
    ]
