"""A node that leaves on purpose (SIGTERM: a rolling restart, a scale-down) without errors.

uvicorn alone, on SIGTERM, closes its listening socket at once and the connections it holds
soon after, while the proxy still counts the node as ready until its health checks fail
(HAProxy here: ``inter 1s fall 2``, so up to about 2 s). Requests sent to the node in that
time are refused or cut: the rolling restart's 502s on the widget's session POST (issue 21).

A draining node instead:

1. answers ``/readyz`` 503 (``"draining": true``) at once, and serves everything else as
   before, so the proxy marks it down and sends new requests to the other nodes;
2. after ``drain_seconds`` (longer than the proxy takes to notice: two checks a second
   apart and one in flight, so 3 s by default), lets uvicorn shut down: the listening socket
   closes, requests in flight finish (up to its graceful timeout), and each WebSocket is
   closed with 1012 (service restart), which widgets and consoles answer by reconnecting,
   with jitter, through the proxy to a ready node; then the services stop.

A second signal stops at once (uvicorn's own behaviour). With ``drain_seconds`` 0 the first
signal does.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from types import FrameType

import structlog
import uvicorn
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

log = structlog.get_logger(__name__)

READINESS_PATH = "/readyz"


@dataclass
class Drain:
    """Whether this node is leaving, and when it stops serving."""

    seconds: float
    deadline: float | None = None

    @property
    def draining(self) -> bool:
        return self.deadline is not None

    def begin(self) -> None:
        """Start draining (once): called from a signal handler, so it only sets a time."""
        if self.deadline is None:
            self.deadline = time.monotonic() + self.seconds

    def over(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline


def not_ready_while_draining(app: ASGIApp, drain: Drain) -> ASGIApp:
    """The app, but for ``/readyz`` answering 503 once the node drains (the database, bus
    and NLU may all be well: the node is leaving)."""
    unready = JSONResponse({"ready": False, "draining": True}, status_code=503)

    async def readiness(scope: Scope, receive: Receive, send: Send) -> None:
        if drain.draining and scope["type"] == "http" and scope["path"] == READINESS_PATH:
            await unready(scope, receive, send)
        else:
            await app(scope, receive, send)

    return readiness


class DrainingServer(uvicorn.Server):
    """uvicorn's server, draining on the first SIGTERM or SIGINT before it shuts down."""

    def __init__(self, config: uvicorn.Config, drain: Drain) -> None:
        super().__init__(config)
        self.drain = drain
        self._told = False

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.drain.draining or self.drain.seconds <= 0:
            super().handle_exit(sig, frame)  # a second signal: stop now
            return
        self.drain.begin()

    async def on_tick(self, counter: int) -> bool:
        # uvicorn's main loop ticks every 0.1 s: the drain's end is seen within that.
        if self.drain.draining and not self._told:
            self._told = True
            log.info("draining: /readyz answers 503; stopping soon", seconds=self.drain.seconds)
        if self.drain.over():
            self.should_exit = True
        return await super().on_tick(counter)
