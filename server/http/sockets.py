"""The protocols the server hands uvicorn: its httptools and websockets-sansio ones, each
with a cost of every WebSocket handshake taken out (a reconnect storm is thousands of
handshakes a second: issue 21).

- Each handshake made two log records at INFO on ``uvicorn.error``, uvicorn's
  ``[accepted]`` line and websockets' ``connection open``, which server/logs.py's filter then
  dropped (the socket counts are in /metrics). A record is built (the caller's frame found,
  the time and thread read) before any filter sees it: 7-8 us each on this machine. Here the
  two lines are dropped before a record exists; every other line of the protocol (a refused
  handshake, an error in the app) is logged as before, through the same logger.
- The HTTP protocol a socket's upgrade came through and its parser point at each other (the
  parser calls the protocol's bound methods), so once the socket is handed over they were
  garbage only the cyclic collector could free: a dozen objects a handshake that filled the
  young generation, whose collections also walk every socket held. The parser is let go at
  the upgrade, and reference counting frees the rest at once.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, cast

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from uvicorn.server import ServerState

# The handshake's own lines, as uvicorn and websockets write them (their format strings).
HANDSHAKE_LINES = frozenset({'%s - "WebSocket %s" [accepted]', "connection open"})


class _Handshakes(logging.LoggerAdapter[logging.Logger]):
    """``uvicorn.error`` without the handshake lines; the rest goes to it unchanged."""

    def log(self, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        if level == logging.INFO and msg in HANDSHAKE_LINES:
            return
        super().log(level, msg, *args, **kwargs)

    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        return msg, kwargs  # no extra fields (LoggerAdapter's default adds ``extra``)

    @property
    def level(self) -> int:
        # uvicorn compares its logger's level with its TRACE level before its trace lines.
        return self.logger.level


_HANDSHAKES = cast(logging.Logger, _Handshakes(logging.getLogger("uvicorn.error")))


class SocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's websockets-sansio protocol with the handshake lines never built."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.logger = _HANDSHAKES
        # websockets' own protocol logs "connection open" through the logger it was given.
        self.conn.logger = _HANDSHAKES


class HttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, letting go of its parser once a socket is upgraded."""

    def handle_websocket_upgrade(self) -> None:
        super().handle_websocket_upgrade()
        # The socket is the WebSocket protocol's now; nothing parses HTTP here again.
        self.parser = None  # type: ignore[assignment]
