"""A Rasa server as far as Switchboard calls it, that can be made unwell on purpose.

``/model/parse`` understands every text as a confident ``greet``; the REST channel answers
with one bot message, ``Hello!`` and the customer's text. ``mode`` makes it ``ok``, ``slow``
(answers after ``delay`` seconds, past Switchboard's 2 s timeout), ``error`` (500 on every
call) or ``down`` (the process is stopped: connections are refused).

It runs as a process of its own (``python -m bench.chaos.fake_rasa PORT DELAY``), told its
mode over HTTP (``POST /_fake/mode``). Every customer message the three nodes route asks it
once or twice; served from a thread of the harness's own process, as it first was, it waited
for the GIL behind the traffic's event loop (hundreds of widgets and consoles decoding every
frame), so it answered late and the nodes' routing backlog measured the harness, not them.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import sys
import time
from typing import Any

import httpx
import orjson
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bench.processes import ROOT, free_port, stop

MODES = ("ok", "slow", "error")
MODE_PATH = "/_fake/mode"


class FakeRasa:
    """The fake's process, from the harness: ``start``, ``set(mode)``, ``stop``."""

    def __init__(self, delay: float = 5.0) -> None:
        self.mode = "ok"
        self.delay = delay
        self.port = free_port()
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "bench.chaos.fake_rasa", str(self.port), str(self.delay)],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while True:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), 0.2),
            ):
                break
            if self._proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the fake Rasa did not listen on port {self.port}")
            time.sleep(0.05)
        if self.mode != "down":
            self._tell(self.mode)

    def stop(self) -> None:
        if self._proc is not None:
            stop(self._proc, grace=5)
            self._proc = None

    def set(self, mode: str) -> None:
        """ok, slow, error or down (down stops the process; any other mode starts it again)."""
        if mode == "down":
            self.stop()
            self.mode = mode
            return
        self.mode = mode
        if self._proc is None:
            self.start()
        else:
            self._tell(mode)

    def _tell(self, mode: str) -> None:
        httpx.post(f"{self.url}{MODE_PATH}", json={"mode": mode}, timeout=10).raise_for_status()


def app(delay: float) -> Starlette:
    """The fake itself, in its own process."""
    state = {"mode": "ok"}

    async def set_mode(request: Request) -> Response:
        mode = orjson.loads(await request.body()).get("mode")
        if mode not in MODES:
            return JSONResponse({"error": f"mode: one of {', '.join(MODES)}"}, 422)
        state["mode"] = mode
        return JSONResponse({"mode": mode})

    async def answer(request: Request) -> Response:
        if state["mode"] == "slow":
            await asyncio.sleep(delay)
        if state["mode"] == "error":
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
            # The customer's text (its mark) in the answer: the harness follows each reply to
            # the channel's far side (bench/chaos/outbound.py).
            text = f"Hello! {body.get('message', '')}"
            return JSONResponse([{"recipient_id": body.get("sender"), "text": text}])
        return JSONResponse({})

    return Starlette(
        routes=[
            Route(MODE_PATH, set_mode, methods=["POST"]),
            Route("/{path:path}", answer, methods=["GET", "POST"]),
        ]
    )


def main() -> None:
    import uvicorn

    port, delay = int(sys.argv[1]), float(sys.argv[2])
    uvicorn.run(app(delay), host="127.0.0.1", port=port, log_config=None, access_log=False)


if __name__ == "__main__":
    main()
