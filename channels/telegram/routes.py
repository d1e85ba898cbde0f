"""``POST /channels/telegram/webhook``: Telegram's updates, answered only once stored.

aiogram's own webhook handler answers 200 in the background even when the handler fails, so a
failing handler would lose the update. Here the answer waits for the store: 200 once stored
(or known already), 401 without the configured secret token, 400 for a body that is not an
update, 503 while the bot is still connecting or the store is down — Telegram then delivers
the update again, and its update_id keeps it from being stored twice.
"""

from __future__ import annotations

import hmac
from typing import Protocol

import orjson
import structlog
from aiogram.types import Update
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

log = structlog.get_logger(__name__)

WEBHOOK_PATH = "/channels/telegram/webhook"
SECRET_HEADER = "x-telegram-bot-api-secret-token"
MAX_BODY = 1024 * 1024


class NotReady(Exception):
    """The bot has not connected yet (its username, the inbox, are unknown)."""


class TelegramBackend(Protocol):
    async def receive(self, update: Update) -> bool:
        """Store the update's message (once); False when it carried nothing for us. Raises
        NotReady before the bot has connected."""
        ...


def routes(backend: TelegramBackend, secret: str | None, path: str = WEBHOOK_PATH) -> list[Route]:
    async def webhook(request: Request) -> Response:
        """
        summary: Telegram Bot API webhook (updates, answered once stored)
        responses:
          200: {description: stored, a duplicate, or nothing for us}
          400: {description: not an update}
          401: {description: missing or wrong secret token}
          413: {description: body too large}
          503: {description: not connected yet or storage down; Telegram retries}
        """
        if secret is not None:
            supplied = request.headers.get(SECRET_HEADER, "")
            if not hmac.compare_digest(supplied.encode(), secret.encode()):
                return JSONResponse({"error": "wrong or missing secret token"}, 401)
        body = await request.body()
        if len(body) > MAX_BODY:
            return JSONResponse({"error": "body too large"}, 413)
        try:
            update = Update.model_validate(orjson.loads(body))
        except (orjson.JSONDecodeError, ValidationError) as exc:
            return JSONResponse({"error": f"not a Telegram update: {exc.__class__.__name__}"}, 400)
        try:
            await backend.receive(update)
        except NotReady:
            return JSONResponse({"error": "the bot is still connecting"}, 503)
        except Exception:
            log.exception("storing a Telegram update failed", update_id=update.update_id)
            return JSONResponse({"error": "could not store the update; retry"}, 503)
        return JSONResponse({"ok": True})

    return [Route(path, webhook, methods=["POST"])]
