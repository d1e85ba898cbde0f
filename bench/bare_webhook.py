"""The webhook baseline: the same stack (uvicorn, Starlette, aiogram's Update model) answering
200 to each update it can parse, storing nothing.

Run as ``python -m bench.bare_webhook``; prints ``port N`` once listening.
"""

from __future__ import annotations

import socket

import orjson
import uvicorn
from aiogram.types import Update
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


async def webhook(request: Request) -> Response:
    Update.model_validate(orjson.loads(await request.body()))
    return JSONResponse({"ok": True})


def main() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    print(f"port {sock.getsockname()[1]}", flush=True)
    app = Starlette(routes=[Route("/channels/telegram/webhook", webhook, methods=["POST"])])
    config = uvicorn.Config(app, log_config=None, lifespan="off", access_log=False)
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
