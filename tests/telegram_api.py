"""A stand-in for Telegram's Bot API on loopback (api.telegram.org cannot be reached here).

It implements the methods Switchboard calls with the shapes of the Bot API documentation
(https://core.telegram.org/bots/api): every answer is ``{"ok": true, "result": ...}`` or
``{"ok": false, "error_code": N, "description": "...", "parameters": {...}}``; getUpdates
long-polls and treats an offset as confirming every earlier update; getUpdates while a webhook
is set is a 409 Conflict; flood control is a 429 with ``parameters.retry_after``. Files are
served from ``/file/bot<token>/<path>``. Aiogram is pointed at it with its custom API server.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.harness import serving

TOKEN = "123456:TEST-token"
BOT = {
    "id": 123456,
    "is_bot": True,
    "first_name": "Demo Shop",
    "username": "DemoShopBot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}


BAD_GATEWAY = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)

OTHER_TOKEN = "654321:OTHER-token"
MAX_TEXT = 4096
OTHER_BOT = {**BOT, "id": 654321, "first_name": "Acme Help", "username": "AcmeHelpBot"}


@dataclass
class BotApi:
    base_url: str = ""
    bots: dict[str, dict[str, Any]] = field(
        default_factory=lambda: {TOKEN: BOT, OTHER_TOKEN: OTHER_BOT}
    )
    webhooks: dict[str, str | None] = field(default_factory=dict)
    updates: list[dict[str, Any]] = field(default_factory=list)
    confirmed: int = 0
    webhook: str | None = None
    sent: list[dict[str, Any]] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)
    # Files the bot sent (sendDocument), in order.
    documents: list[dict[str, Any]] = field(default_factory=list)
    # Each sendMessage attempt, with when it came: (monotonic time, chat id, text, answered).
    attempts: list[tuple[float, int, str, int]] = field(default_factory=list)
    # How many sendMessage calls to answer 429 next (after `flood_after` more succeed), and
    # with which retry_after.
    flood: int = 0
    flood_after: int = 0
    flood_retry_after: int = 1
    files: dict[str, bytes] = field(default_factory=dict)
    # The callback_query ids answered (answerCallbackQuery), in order.
    answered_callbacks: list[str] = field(default_factory=list)
    # Every call answered as api.telegram.org's front proxy answers while the Bot API behind
    # it is down: 502 with nginx's HTML page, not the API's JSON.
    down: bool = False
    # Set at teardown: long polls answer at once, so the server can stop.
    closing: bool = False
    # getUpdates calls per bot token (the newest one wins), and how many were cut off by a
    # newer one: two nodes polling one bot.
    _polls: dict[str, int] = field(default_factory=dict)
    conflicts: int = 0
    _new: asyncio.Event = field(default_factory=asyncio.Event)
    _next_id: int = 1000

    def push(self, update: dict[str, Any]) -> None:
        self.updates.append(update)
        self._new.set()

    def message_id(self) -> int:
        self._next_id += 1
        return self._next_id

    async def handle(self, request: Request) -> Response:
        if self.down:
            return Response(BAD_GATEWAY, status_code=502, media_type="text/html")
        token, method = request.path_params["token"], request.path_params["method"]
        if token not in self.bots:
            return _error(401, "Unauthorized")
        params = await _params(request)
        params["_token"], params["_request"] = token, request
        handler = getattr(self, f"_{method.lower()}", None)
        if handler is None:
            return _error(404, "Not Found: method not found")
        result: Response = await handler(params)
        return result

    async def _getme(self, params: dict[str, Any]) -> Response:
        return _ok(self.bots[params["_token"]])

    async def _setwebhook(self, params: dict[str, Any]) -> Response:
        self.webhooks[params["_token"]] = params.get("url") or None
        if params["_token"] == TOKEN:
            self.webhook = params.get("url") or None
        return _ok(True, description="Webhook was set")

    async def _deletewebhook(self, params: dict[str, Any]) -> Response:
        self.webhooks[params["_token"]] = None
        if params["_token"] == TOKEN:
            self.webhook = None
        return _ok(True, description="Webhook was deleted")

    async def _getupdates(self, params: dict[str, Any]) -> Response:
        if self.webhook:
            return _error(
                409,
                "Conflict: can't use getUpdates method while webhook is active;"
                " use deleteWebhook to delete the webhook first",
            )
        # As Telegram: a second getUpdates for a bot ends the one in flight with a 409.
        token = params["_token"]
        generation = self._polls.get(token, 0) + 1
        self._polls[token] = generation
        offset = int(params.get("offset") or 0)
        if offset:
            self.confirmed = max(self.confirmed, offset - 1)
        limit = int(params.get("limit") or 100)
        deadline = time.monotonic() + float(params.get("timeout") or 0)
        while True:
            if await params["_request"].is_disconnected():
                # The poller hung up (a node stopping): no longer a getUpdates in flight, as
                # for Telegram, so a newer one is no conflict with it.
                return _ok([])
            if self._polls[token] != generation:
                self.conflicts += 1
                return _error(
                    409,
                    "Conflict: terminated by other getUpdates request;"
                    " make sure that only one bot instance is running",
                )
            pending = [u for u in self.updates if u["update_id"] > self.confirmed]
            if pending or self.closing or time.monotonic() >= deadline:
                return _ok(pending[:limit])
            self._new.clear()
            with contextlib.suppress(TimeoutError):
                wait = min(deadline - time.monotonic(), 0.1)
                await asyncio.wait_for(self._new.wait(), wait)

    async def _sendmessage(self, params: dict[str, Any]) -> Response:
        chat_id, text = int(params["chat_id"]), str(params["text"])
        # The Bot API's limit: 1-4096 characters (counted in UTF-16 code units).
        if not text.strip() or len(text.encode("utf-16-le")) // 2 > MAX_TEXT:
            self.attempts.append((time.monotonic(), chat_id, text, 400))
            reason = "message is too long" if text.strip() else "message text is empty"
            return _error(400, f"Bad Request: {reason}")
        if self.flood > 0 and self.flood_after > 0:
            self.flood_after -= 1
        elif self.flood > 0:
            self.flood -= 1
            self.attempts.append((time.monotonic(), chat_id, text, 429))
            return _error(
                429,
                f"Too Many Requests: retry after {self.flood_retry_after}",
                parameters={"retry_after": self.flood_retry_after},
            )
        self.attempts.append((time.monotonic(), chat_id, text, 200))
        message = {
            "message_id": self.message_id(),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"},
            "from": self.bots[params["_token"]],
            "text": text,
            "via": params["_token"],
        }
        if "message_thread_id" in params:
            message["message_thread_id"] = int(params["message_thread_id"])
            message["is_topic_message"] = True
        if params.get("reply_markup"):
            # Sent as a JSON-serialized field (InlineKeyboardMarkup), as the Bot API takes it.
            markup = params["reply_markup"]
            message["reply_markup"] = orjson.loads(markup) if isinstance(markup, str) else markup
        self.sent.append(message)
        return _ok(message)

    async def _answercallbackquery(self, params: dict[str, Any]) -> Response:
        self.answered_callbacks.append(str(params["callback_query_id"]))
        return _ok(True)

    async def _senddocument(self, params: dict[str, Any]) -> Response:
        chat_id = int(params["chat_id"])
        document = params.get("document")
        if isinstance(document, str) and document.startswith("attach://"):
            # The documented way to upload: the field names the multipart part with the file.
            document = params.get(document.removeprefix("attach://"))
        if not isinstance(document, tuple):
            return _error(400, "Bad Request: there is no document in the request")
        filename, content = document
        self.attempts.append((time.monotonic(), chat_id, f"document:{filename}", 200))
        message = {
            "message_id": self.message_id(),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"},
            "from": self.bots[params["_token"]],
            "document": {
                "file_id": f"sent-{len(self.documents)}",
                "file_unique_id": f"u-sent-{len(self.documents)}",
                "file_name": filename,
                "file_size": len(content),
            },
            "via": params["_token"],
        }
        if "message_thread_id" in params:
            message["message_thread_id"] = int(params["message_thread_id"])
        self.documents.append({"chat_id": chat_id, "filename": filename, "content": content})
        self.sent.append({**message, "text": f"document:{filename}"})
        return _ok(message)

    async def _sendchataction(self, params: dict[str, Any]) -> Response:
        action = {"chat_id": int(params["chat_id"]), "action": params["action"]}
        if "message_thread_id" in params:
            action["message_thread_id"] = int(params["message_thread_id"])
        self.actions.append(action)
        return _ok(True)

    async def _getfile(self, params: dict[str, Any]) -> Response:
        file_id = str(params["file_id"])
        if file_id not in self.files:
            return _error(400, "Bad Request: invalid file_id")
        return _ok(
            {
                "file_id": file_id,
                "file_unique_id": f"u-{file_id}",
                "file_size": len(self.files[file_id]),
                "file_path": f"documents/{file_id}",
            }
        )

    async def download(self, request: Request) -> Response:
        if request.path_params["token"] not in self.bots:
            return Response(status_code=401)
        file_id = request.path_params["path"].rsplit("/", 1)[-1]
        if file_id not in self.files:
            return Response(status_code=404)
        return Response(self.files[file_id], media_type="application/octet-stream")


async def _params(request: Request) -> dict[str, Any]:
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        # aiogram uploads files as multipart: fields as text, files as (name, bytes).
        form = await request.form()
        params: dict[str, Any] = {}
        for name, value in form.multi_items():
            if isinstance(value, str):
                params[name] = value
            else:
                params[name] = (value.filename, await value.read())
        await form.close()
        return params
    body = await request.body()
    if request.headers.get("content-type", "").startswith("application/json"):
        loaded: dict[str, Any] = orjson.loads(body or b"{}")
        return loaded
    fields = parse_qs(body.decode(), keep_blank_values=True)
    params = {k: v[-1] for k, v in fields.items()}
    params.update({k: v[-1] for k, v in parse_qs(request.url.query).items()})
    return params


def _ok(result: Any, description: str | None = None) -> Response:
    body: dict[str, Any] = {"ok": True, "result": result}
    if description:
        body["description"] = description
    return JSONResponse(body)


def _error(code: int, description: str, parameters: dict[str, Any] | None = None) -> Response:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return JSONResponse(body, status_code=code)


@contextlib.asynccontextmanager
async def bot_api() -> AsyncIterator[BotApi]:
    api = BotApi()
    app = Starlette(
        routes=[
            Route("/bot{token}/{method}", api.handle, methods=["GET", "POST"]),
            Route("/file/bot{token}/{path:path}", api.download, methods=["GET"]),
        ]
    )
    async with serving(app) as base_url:
        api.base_url = base_url
        try:
            yield api
        finally:
            # Long polls answer at once, so the stand-in can stop.
            api.closing = True
            api._new.set()


def message_update(
    update_id: int,
    text: str | None = "Hello",
    *,
    user_id: int = 777,
    chat: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """An update as Telegram sends it for a message."""
    message: dict[str, Any] = {
        "message_id": update_id,
        "date": int(time.time()),
        "chat": chat or {"id": user_id, "type": "private", "first_name": "Ada"},
        "from": {
            "id": user_id,
            "is_bot": False,
            "first_name": "Ada",
            "last_name": "Lovelace",
            "username": f"ada{user_id}",
            "language_code": "en",
        },
        **extra,
    }
    if text is not None:
        message["text"] = text
    return {"update_id": update_id, "message": message}


def callback_update(
    update_id: int, data: str, message: dict[str, Any], *, user_id: int = 777
) -> dict[str, Any]:
    """An update as Telegram sends it when a user presses an inline keyboard button under
    ``message`` (one the bot sent)."""
    return {
        "update_id": update_id,
        "callback_query": {
            "id": f"cq-{update_id}",
            "from": {
                "id": user_id,
                "is_bot": False,
                "first_name": "Ada",
                "last_name": "Lovelace",
                "username": f"ada{user_id}",
                "language_code": "en",
            },
            "message": {k: v for k, v in message.items() if k != "via"},
            "chat_instance": "-1234567890",
            "data": data,
        },
    }
