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
- The upgrade request was parsed twice, by httptools and then, written out again, by
  websockets' parser in Python, and the WebSocket protocol asked the socket for both
  addresses again; its response got a date that uvicorn then replaced, and the scope's
  headers were encoded back from websockets' strings (upgrade.py).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, cast

from uvicorn._types import ASGISendEvent
from uvicorn.config import Config
from uvicorn.logging import TRACE_LOG_LEVEL
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.protocols.utils import ClientDisconnected
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from uvicorn.server import ServerState

from server.http import upgrade

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
    """uvicorn's websockets-sansio protocol with the handshake lines never built, taking a
    handshake request httptools has parsed (``upgrade``)."""

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
        # Set by upgrade(): the response to send when the app accepts, without a date.
        self._undated = False

    def upgrade(self, http: HttpToolsProtocol, handshake: upgrade.Handshake) -> None:
        """The socket's upgrade, from the HTTP protocol that parsed its request: as
        ``connection_made`` and ``data_received`` would, without asking the socket for its
        addresses again or parsing the request again."""
        self.connections.add(self)
        self.transport = http.transport
        self.server, self.client = http.server, http.client
        self.scheme = "wss" if http.scheme == "https" else "ws"
        if self.logger.level <= TRACE_LOG_LEVEL:
            prefix = f"{self.client[0]}:{self.client[1]} - " if self.client else ""
            self.logger.log(TRACE_LOG_LEVEL, "%sWebSocket connection made", prefix)
        upgrade.skip_request(self.conn)
        response = upgrade.accepted(self.conn, handshake.request)
        if response is None:
            # Refused: websockets' accept() gives the answer, as uvicorn's handle_connect.
            self.handle_connect(handshake.request)
            return
        self._undated = True
        self.request, self.response = handshake.request, response
        self.handshake_initiated = True
        self.scope = upgrade.scope(
            handshake, self.asgi_version, self.scheme, self.server, self.client,
            self.root_path, self.app_state,
        )  # fmt: skip
        self.queue.put_nowait({"type": "websocket.connect"})
        task = self.loop.create_task(self.run_asgi())
        task.add_done_callback(self.on_task_complete)
        self.tasks.add(task)

    async def send(self, message: ASGISendEvent) -> None:
        if (
            self._undated
            and message["type"] == "websocket.accept"
            and not self.handshake_complete
            and self.initial_response is None
        ):
            # uvicorn's accept, but for the date: websockets' accept() would have dated the
            # response, and uvicorn deleted that date (a slow delete) to add its own.
            await self.writable.wait()
            if self.disconnected:
                raise ClientDisconnected()
            upgrade.add_headers(
                self.response,
                [*self.default_headers, *message.get("headers", [])],
                message.get("subprotocol"),
            )
            if not self.transport.is_closing():
                self.handshake_complete = True
                self.conn.send_response(self.response)
                self.transport.write(b"".join(self.conn.data_to_send()))
                self.start_keepalive()
            return
        await super().send(message)


class HttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, handing its parse of an upgrade to the WebSocket
    protocol and letting go of its parser once a socket is upgraded."""

    def handle_websocket_upgrade(self) -> None:
        handshake = upgrade.parsed(self.scope["method"], self.url, self.headers)
        if handshake is None or self.ws_protocol_class is not SocketProtocol:
            super().handle_websocket_upgrade()
        else:
            self.connections.discard(self)
            protocol = SocketProtocol(self.config, self.server_state, self.app_state)
            self.transport.set_protocol(protocol)
            protocol.upgrade(self, handshake)
        # The socket is the WebSocket protocol's now; nothing parses HTTP here again.
        self.parser = None  # type: ignore[assignment]
