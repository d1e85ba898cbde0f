"""``POST /channels/telegram/webhook``: Telegram's updates, answered only once stored.

aiogram's own webhook handler answers 200 in the background even when the handler fails, so a
failing handler would lose the update. Here the answer waits for the store: 200 once stored
(as a message, or held until the bot has connected, or known already), 401 without the
configured secret token, 413 for a body over MAX_BODY, 400 for a body that is not an update,
503 while the store is down — Telegram then delivers the update again, and its update_id
keeps it from being stored twice.

The endpoint is a plain ASGI callable (``channels.webhook``): a flood of updates is this
server's busiest HTTP path, and Starlette's request and response objects cost about as much
as the check, the parse and the share of a commit that the answer needs.
"""

from __future__ import annotations

import hmac

import structlog
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from channels.base import Busy
from channels.telegram.port import TelegramBackend
from channels.telegram.translate import NotAnUpdate, parse
from channels.webhook import (
    Disconnected,
    TooLarge,
    answer,
    answer_busy,
    answer_error,
    headers_of,
    read_body,
)

log = structlog.get_logger(__name__)

WEBHOOK_PATH = "/channels/telegram/webhook"
SECRET_HEADER = "x-telegram-bot-api-secret-token"
# An update is a few kilobytes (a message's text is at most 4,096 characters); a megabyte
# leaves room for the largest and refuses what cannot be one.
MAX_BODY = 1024 * 1024
# The headers read, in one pass over the request's.
_HEADERS = (SECRET_HEADER.encode(), b"content-length")
_OK = b'{"ok":true}'


class TelegramWebhook:
    """
    summary: Telegram Bot API webhook (updates, answered once stored)
    responses:
      200: {description: "stored (or held until the bot connects), a duplicate, or not for us"}
      400: {description: not an update}
      401: {description: missing or wrong secret token}
      413: {description: body too large}
      503: {description: "storage down, or at capacity (Retry-After); Telegram retries"}
    """

    def __init__(self, backend: TelegramBackend, secret: str | None) -> None:
        self._backend = backend
        self._secret = secret.encode() if secret is not None else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        supplied, declared = headers_of(scope, _HEADERS)
        if self._secret is not None and not hmac.compare_digest(supplied or b"", self._secret):
            await answer_error(send, 401, "wrong or missing secret token")
            return
        try:
            update = parse(await read_body(receive, declared, MAX_BODY))
        except TooLarge:
            await answer_error(send, 413, "body too large")
            return
        except NotAnUpdate as exc:
            await answer_error(send, 400, f"not a Telegram update: {exc}")
            return
        except Disconnected:
            return
        try:
            await self._backend.receive(update)
        except Busy as busy:
            await answer_busy(send, busy)
            return
        except Exception:
            log.exception("storing a Telegram update failed", update_id=update.update_id)
            await answer_error(send, 503, "could not store the update; retry")
            return
        await answer(send, 200, _OK)


def routes(backend: TelegramBackend, secret: str | None, path: str = WEBHOOK_PATH) -> list[Route]:
    return [Route(path, TelegramWebhook(backend, secret), methods=["POST"])]
