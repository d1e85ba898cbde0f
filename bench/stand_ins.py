"""Telegram's Bot API and Slack's Web API as far as bench/webhooks.py needs them, on loopback
(neither service can be reached here), and the requests those services send us.

Only what a webhook run calls, with the documented shapes (https://core.telegram.org/bots/api,
https://api.slack.com/methods): Telegram's getMe, setWebhook and sendMessage (any other
method answers ``true``); Slack's auth.test and chat.postMessage, users.info finding nobody
(so the contact keeps the id, as in the runs before) and any other method answering ok. The
tests have fuller stand-ins of their own (tests/telegram_api.py, tests/slack_api.py); the
benchmark keeps its own so that it never depends on the test package.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bench.processes import free_port

TELEGRAM_TOKEN = "123456:BENCH-token"
SLACK_TOKEN = "xoxb-bench-token"
SLACK_SIGNING_SECRET = "bench-signing-secret-0123456789ab"
SLACK_TEAM = "T0BENCH"
BOT = {"id": 123456, "is_bot": True, "first_name": "Demo Shop", "username": "DemoShopBot"}


@dataclass
class Apis:
    """Where the stand-ins listen, and the webhook URL Switchboard registered (once it has)."""

    telegram_url: str = ""
    slack_url: str = ""
    webhook: str | None = None
    _message_id: int = 1000


async def request_params(request: Request) -> dict[str, Any]:
    """A Web API call's arguments, as Slack takes them: the query, then a JSON or form body."""
    body = await request.body()
    params: dict[str, Any] = {k: v[-1] for k, v in parse_qs(request.url.query).items()}
    if request.headers.get("content-type", "").startswith("application/json"):
        params.update(orjson.loads(body or b"{}"))
    elif body:
        params.update({k: v[-1] for k, v in parse_qs(body.decode()).items()})
    return params


def _telegram(apis: Apis) -> Starlette:
    async def method(request: Request) -> Response:
        params = await request_params(request)
        name = request.path_params["method"].lower()
        result: Any = True
        if name == "getme":
            result = BOT
        elif name == "setwebhook":
            apis.webhook = params.get("url") or None
        elif name == "sendmessage":
            apis._message_id += 1
            chat_id = int(params["chat_id"])
            result = {
                "message_id": apis._message_id,
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"},
                "from": BOT,
                "text": str(params["text"]),
            }
        return JSONResponse({"ok": True, "result": result})

    return Starlette(routes=[Route("/bot{token}/{method}", method, methods=["GET", "POST"])])


def _slack() -> Starlette:
    async def method(request: Request) -> Response:
        params = await request_params(request)
        name = request.path_params["method"]
        if name == "auth.test":
            return JSONResponse(
                {
                    "ok": True,
                    "url": "https://bench.slack.com/",
                    "team": "Bench",
                    "user": "support",
                    "team_id": SLACK_TEAM,
                    "user_id": "U0BOT",
                    "bot_id": "B0BOT",
                }
            )
        if name == "users.info":
            return JSONResponse({"ok": False, "error": "user_not_found"})
        if name == "chat.postMessage":
            ts = f"{time.time():.6f}"
            text = str(params.get("text"))
            return JSONResponse(
                {
                    "ok": True,
                    "channel": params.get("channel"),
                    "ts": ts,
                    "message": {"type": "message", "text": text, "ts": ts, "bot_id": "B0BOT"},
                }
            )
        return JSONResponse({"ok": True})

    return Starlette(routes=[Route("/api/{method}", method, methods=["GET", "POST"])])


@contextlib.asynccontextmanager
async def serving(app: Starlette) -> AsyncIterator[str]:
    """Serve ``app`` on a free loopback port in this event loop; yields its base URL."""
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_config=None, lifespan="off", access_log=False
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:  # uvicorn only exposes a flag, no event to await
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@contextlib.asynccontextmanager
async def apis() -> AsyncIterator[Apis]:
    """Both stand-ins, listening."""
    found = Apis()
    async with serving(_telegram(found)) as telegram, serving(_slack()) as slack:
        found.telegram_url, found.slack_url = telegram, slack
        yield found


def telegram_update(update_id: int, text: str, user_id: int) -> dict[str, Any]:
    """An update as Telegram sends it for a private message."""
    user = {"id": user_id, "is_bot": False, "first_name": "Ada", "language_code": "en"}
    message = {
        "message_id": update_id,
        "date": int(time.time()),
        "chat": {"id": user_id, "type": "private", "first_name": "Ada"},
        "from": {**user, "last_name": "Lovelace", "username": f"ada{user_id}"},
        "text": text,
    }
    return {"update_id": update_id, "message": message}


def slack_event(n: int, text: str, user: str) -> dict[str, Any]:
    """An Events API callback for a top-level channel message (a new thread each time)."""
    ts = f"{1700000000 + n}.{n:06d}"
    return {
        "token": "legacy",
        "team_id": SLACK_TEAM,
        "api_app_id": "A0APP",
        "type": "event_callback",
        "event_id": f"Ev{n:08d}",
        "event_time": 1700000000 + n,
        "event": {
            "type": "message",
            "user": user,
            "text": text,
            "ts": ts,
            "channel": "C0SUPPORT",
            "event_ts": ts,
            "channel_type": "channel",
        },
    }


def slack_signed(body: bytes) -> dict[str, str]:
    """The headers Slack sends with an event: its timestamp and v0 signature (HMAC-SHA256 of
    ``v0:<timestamp>:<body>`` with the signing secret)."""
    stamp = str(int(time.time()))
    base = b"v0:" + stamp.encode() + b":" + body
    digest = hmac.new(SLACK_SIGNING_SECRET.encode(), base, hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": f"v0={digest}",
        "Content-Type": "application/json",
    }
