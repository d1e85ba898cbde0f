"""``POST /channels/telegram/webhook``: Telegram's updates, answered only once stored.

aiogram's own webhook handler answers 200 in the background even when the handler fails, so a
failing handler would lose the update. Here the answer waits for the store: 200 once stored
(as a message, or held until the bot has connected, or known already), 401 without the
configured secret token, 413 for a body over MAX_BODY, 400 for a body that is not an update,
503 while the store is down — Telegram then delivers the update again, and its update_id
keeps it from being stored twice.
"""

from __future__ import annotations

import hmac

import structlog
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from channels.base import Busy
from channels.telegram.port import TelegramBackend
from channels.telegram.translate import NotAnUpdate, parse
from channels.webhook import TooLarge, busy_answer, capped_body

log = structlog.get_logger(__name__)

WEBHOOK_PATH = "/channels/telegram/webhook"
SECRET_HEADER = "x-telegram-bot-api-secret-token"
# An update is a few kilobytes (a message's text is at most 4,096 characters); a megabyte
# leaves room for the largest and refuses what cannot be one.
MAX_BODY = 1024 * 1024


def routes(backend: TelegramBackend, secret: str | None, path: str = WEBHOOK_PATH) -> list[Route]:
    async def webhook(request: Request) -> Response:
        """
        summary: Telegram Bot API webhook (updates, answered once stored)
        responses:
          200: {description: stored (or held until the bot connects), a duplicate, or not for us}
          400: {description: not an update}
          401: {description: missing or wrong secret token}
          413: {description: body too large}
          503: {description: storage down, or at capacity (Retry-After); Telegram retries}
        """
        if secret is not None:
            supplied = request.headers.get(SECRET_HEADER, "")
            if not hmac.compare_digest(supplied.encode(), secret.encode()):
                return JSONResponse({"error": "wrong or missing secret token"}, 401)
        try:
            update = parse(await capped_body(request, MAX_BODY))
        except TooLarge:
            return JSONResponse({"error": "body too large"}, 413)
        except NotAnUpdate as exc:
            return JSONResponse({"error": f"not a Telegram update: {exc}"}, 400)
        try:
            await backend.receive(update)
        except Busy as busy:
            return busy_answer(busy)
        except Exception:
            log.exception("storing a Telegram update failed", update_id=update.update_id)
            return JSONResponse({"error": "could not store the update; retry"}, 503)
        return JSONResponse({"ok": True})

    return [Route(path, webhook, methods=["POST"])]
