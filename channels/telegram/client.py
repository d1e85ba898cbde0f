"""The Bot API as Switchboard uses it, through aiogram (pointed at any Bot API server:
Telegram's, a self-hosted one, or the tests' stand-in).

Outgoing calls respect Telegram's limits (about 30 messages a second per bot, one a second per
chat) with aiolimiter, and flood-control answers become a DeliveryError carrying
``retry_after``, so the outbox waits at least that long before trying again.
"""

from __future__ import annotations

import io
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)
from aiogram.types import (
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)
from aiolimiter import AsyncLimiter

from channels.base import Attachment, DeliveryError
from channels.telegram.port import RawUpdate
from channels.telegram.translate import MAX_TEXT, raw

PER_BOT_PER_SECOND = 30
PER_CHAT_PER_SECOND = 1
# Chats whose limiter is remembered; older ones start afresh (a limiter is a few hundred bytes).
CHAT_LIMITERS = 10_000


class TelegramClient:
    def __init__(self, token: str, api_url: str, timeout: float = 30.0) -> None:
        session = AiohttpSession(api=TelegramAPIServer.from_base(api_url), timeout=timeout)
        self.bot = Bot(token=token, session=session)
        self._bot_limit = AsyncLimiter(PER_BOT_PER_SECOND, 1)
        self._chat_limits: OrderedDict[int, AsyncLimiter] = OrderedDict()

    @property
    def bot_id(self) -> int:
        """The bot's id, known without asking Telegram: the token is ``<bot id>:<secret>``."""
        return self.bot.id

    async def username(self) -> str:
        """The bot's username (getMe), or its id for a bot without one: its inbox's address."""
        me = await self.bot.get_me()
        return me.username or str(me.id)

    async def updates(self, offset: int | None, wait_seconds: int) -> list[RawUpdate]:
        """Long polling: updates after ``offset``; asking with an offset confirms the ones
        before it, so the caller passes it only once those are stored."""
        updates = await self.bot.get_updates(
            offset=offset, timeout=wait_seconds, request_timeout=wait_seconds + 10
        )
        return [raw(update) for update in updates]

    async def set_webhook(self, url: str, secret: str | None) -> None:
        await self.bot.set_webhook(url, secret_token=secret, drop_pending_updates=False)

    async def delete_webhook(self) -> None:
        await self.bot.delete_webhook(drop_pending_updates=False)

    async def download(self, file_id: str) -> bytes:
        file = await self.bot.get_file(file_id)
        if file.file_path is None:
            raise LookupError(f"Telegram has no file path for {file_id}")
        buffer = io.BytesIO()
        await self.bot.download_file(file.file_path, destination=buffer)
        return buffer.getvalue()

    async def send_text(
        self,
        chat_id: int,
        text: str,
        topic: int | None = None,
        buttons: Sequence[tuple[str, str]] = (),
    ) -> int:
        """Send one message (into a forum topic when given), with ``buttons`` (label,
        callback data) as one row of an inline keyboard; returns Telegram's message id.
        Raises DeliveryError."""
        if len(text) > MAX_TEXT:
            raise DeliveryError(f"longer than Telegram's {MAX_TEXT} characters", permanent=True)
        keyboard = (
            InlineKeyboardMarkup(
                inline_keyboard=[
                    [
                        InlineKeyboardButton(text=label, callback_data=data)
                        for label, data in buttons
                    ]
                ]
            )
            if buttons
            else None
        )
        return await self._send(
            chat_id,
            lambda: self.bot.send_message(
                chat_id, text, message_thread_id=topic, reply_markup=keyboard
            ),
        )

    async def answer_callback(self, callback_query_id: str, text: str | None = None) -> None:
        """Tell Telegram a button press is handled (the client stops its spinner), with a
        short notice when ``text`` is given."""
        async with self._bot_limit:
            await self.bot.answer_callback_query(callback_query_id, text=text)

    async def send_file(self, chat_id: int, file: Attachment, topic: int | None = None) -> int:
        """Send one file as a document (kept as sent, whatever its type); returns Telegram's
        message id. Raises DeliveryError."""
        document = BufferedInputFile(file.content, filename=file.filename)
        return await self._send(
            chat_id, lambda: self.bot.send_document(chat_id, document, message_thread_id=topic)
        )

    async def _send(self, chat_id: int, call: Callable[[], Awaitable[Message]]) -> int:
        """One sending call within the bot's and the chat's rates, its errors as
        DeliveryError: permanent or not, with Telegram's retry_after."""
        async with self._bot_limit, self._chat_limit(chat_id):
            try:
                sent = await call()
            except TelegramRetryAfter as exc:
                raise DeliveryError(
                    f"flood control: retry after {exc.retry_after} s",
                    permanent=False,
                    retry_after=float(exc.retry_after),
                ) from None
            except (TelegramForbiddenError, TelegramNotFound, TelegramBadRequest) as exc:
                # Blocked by the user, chat gone, bad request: retrying cannot help.
                raise DeliveryError(exc.message, permanent=True) from None
            except TelegramUnauthorizedError as exc:
                raise DeliveryError(f"bot token refused: {exc.message}", permanent=False) from None
            except (TelegramAPIError, OSError, TimeoutError) as exc:
                raise DeliveryError(f"Bot API unreachable: {exc}", permanent=False) from None
        return sent.message_id

    async def typing(self, chat_id: int, topic: int | None = None) -> None:
        async with self._bot_limit:
            await self.bot.send_chat_action(chat_id, "typing", message_thread_id=topic)

    def _chat_limit(self, chat_id: int) -> AsyncLimiter:
        limiter = self._chat_limits.pop(chat_id, None) or AsyncLimiter(PER_CHAT_PER_SECOND, 1)
        self._chat_limits[chat_id] = limiter
        while len(self._chat_limits) > CHAT_LIMITERS:
            self._chat_limits.popitem(last=False)
        return limiter

    async def close(self) -> None:
        await self.bot.session.close()
