"""A Rasa server as far as Switchboard calls it, that can be made unwell on purpose.

``/model/parse`` understands every text as a confident ``greet``; the REST channel answers
with one bot message, ``Hello!`` and the customer's text. ``mode`` makes it ``ok``, ``slow``
(answers after ``delay`` seconds, past Switchboard's 2 s timeout), ``error`` (500 on every
call) or ``down`` (the listener is closed: connections are refused). It runs in a thread of
its own, so the cluster's nodes (other processes) reach it whatever the caller's event loop
is doing.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bench.chaos.serving import ThreadedApp


class FakeRasa:
    def __init__(self, delay: float = 5.0) -> None:
        self.mode = "ok"
        self.delay = delay
        self.calls = 0
        self._served = ThreadedApp(self._app())

    @property
    def url(self) -> str:
        return self._served.url

    def start(self) -> None:
        self._served.start()

    def stop(self) -> None:
        self._served.stop()

    def set(self, mode: str) -> None:
        """ok, slow, error or down (down stops the listener; any other mode restarts it)."""
        if mode == "down":
            self._served.stop()
        elif not self._served.running:
            self._served.start()
        self.mode = mode

    def _app(self) -> Starlette:
        async def answer(request: Request) -> Response:
            self.calls += 1
            if self.mode == "slow":
                await asyncio.sleep(self.delay)
            if self.mode == "error":
                return JSONResponse({"error": "the fake Rasa is unwell"}, 500)
            try:
                body: Any = orjson.loads(await request.body() or b"null")
            except ClientDisconnect:  # Switchboard gave up waiting (the slow mode)
                return Response(status_code=499)
            path = request.url.path
            if path == "/model/parse":
                text = str(body.get("text", ""))
                intent = {"name": "greet", "confidence": 0.99}
                return JSONResponse(
                    {"text": text, "intent": intent, "entities": [], "intent_ranking": [intent]}
                )
            if path == "/webhooks/rest/webhook":
                # The customer's text (its mark) in the answer: the harness follows each
                # reply to the channel's far side (bench/chaos/outbound.py).
                text = f"Hello! {body.get('message', '')}"
                return JSONResponse([{"recipient_id": body.get("sender"), "text": text}])
            return JSONResponse({})

        return Starlette(routes=[Route("/{path:path}", answer, methods=["GET", "POST"])])
