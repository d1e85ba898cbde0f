"""The webhook baseline: the same stack (uvicorn, Starlette, orjson) answering 200 to each
webhook it accepts, storing nothing. What it checks is what Switchboard checks before its
answer, and what any receiver must: Telegram's secret token and a JSON object with an
integer update_id (Switchboard no longer builds aiogram's Update model before the answer, so
neither does the baseline: it cost twenty times the JSON parse); Slack's v0 signature
(HMAC-SHA256 of ``v0:<timestamp>:<body>``, the timestamp within five minutes) and the JSON
body.

Run as ``python -m bench.bare_webhook TELEGRAM_SECRET``; prints ``port N`` once listening.
"""

from __future__ import annotations

import hashlib
import hmac
import socket
import sys
import time
from collections.abc import Awaitable, Callable

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bench.stand_ins import SLACK_SIGNING_SECRET

SLACK_MAX_AGE = 300  # seconds, as Slack's documentation and slack-bolt have it


def telegram(secret: str) -> Callable[[Request], Awaitable[Response]]:
    async def webhook(request: Request) -> Response:
        if request.headers.get("x-telegram-bot-api-secret-token") != secret:
            return Response(status_code=401)
        update = orjson.loads(await request.body())
        if not isinstance(update, dict) or type(update.get("update_id")) is not int:
            return Response(status_code=400)
        return JSONResponse({"ok": True})

    return webhook


async def slack(request: Request) -> Response:
    body = await request.body()
    stamp = request.headers.get("x-slack-request-timestamp", "")
    if not stamp.isdigit() or abs(time.time() - int(stamp)) > SLACK_MAX_AGE:
        return Response(status_code=401)
    base = b"v0:" + stamp.encode() + b":" + body
    expected = "v0=" + hmac.new(SLACK_SIGNING_SECRET.encode(), base, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, request.headers.get("x-slack-signature", "")):
        return Response(status_code=401)
    orjson.loads(body)
    return Response()


def main() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    # Listening before saying so: a client that connects at once waits in the backlog until
    # uvicorn accepts, instead of being refused.
    sock.listen(2048)
    print(f"port {sock.getsockname()[1]}", flush=True)
    app = Starlette(
        routes=[
            Route("/channels/telegram/webhook", telegram(sys.argv[1]), methods=["POST"]),
            Route("/channels/slack/events", slack, methods=["POST"]),
        ]
    )
    config = uvicorn.Config(app, log_config=None, lifespan="off", access_log=False)
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
