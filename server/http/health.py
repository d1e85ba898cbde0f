"""The health port: ``/readyz``, ``/healthz`` and ``/metrics`` on a listener of their own
(``SWITCHBOARD_HEALTH_PORT``), for the proxy's checks and the scrapers (issue 21).

On the main port a check waits in the node's listen queue behind every connection that came
before it: during a reconnect storm (20,000 widget sockets over three nodes, under traffic)
that queue holds thousands of WebSocket upgrades, ``/healthz`` took 4.8-7.5 s at the median
while the nodes' event loops were only 23-40 ms late, and HAProxy took busy, healthy nodes out
48-60 times a storm ("Layer7 timeout"), sending their share to the others. A listener of its
own has a queue of its own, which nothing but checks and scrapes join: the check waits for
the event loop, not for the storm.

The answers are the main port's, asked of the same ASGI app (a draining node's ``/readyz``
is 503 here too, server/http/shutdown.py). It is HTTP/1.x reduced to what checks send: one
GET or HEAD a connection, no body, answered with ``Connection: close``. Every other path is
404: no customer's or agent's data is served here.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog
from starlette.types import ASGIApp, Message

log = structlog.get_logger(__name__)

PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
# A check's request line and headers: HAProxy sends a few dozen bytes.
HEAD_LIMIT = 8 * 1024
# How long a client may take to send them; an answer may take as long as /readyz does.
REQUEST_SECONDS = 5.0
# Connections served at once; past it a new one is closed unanswered (a bound, rule 17: the
# port is not for crowds, and a proxy checks each node once a second per process).
MAX_CONNECTIONS = 64
REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    503: "Service Unavailable",
}


class HealthPort:
    """Serves ``app``'s operator paths on ``host``:``port`` (0: a free one) from ``start()``
    to ``stop()``; ``port`` is the bound one once started."""

    def __init__(self, app: ASGIApp, host: str, port: int) -> None:
        self.app = app
        self.host = host
        self.port = port
        self._server: asyncio.Server | None = None
        self._open = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._serve, self.host, self.port, limit=HEAD_LIMIT, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("health port listening", host=self.host, port=self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(REQUEST_SECONDS):
                    await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._open >= MAX_CONNECTIONS:
            writer.close()
            return
        self._open += 1
        try:
            async with asyncio.timeout(REQUEST_SECONDS):
                head = await reader.readuntil(b"\r\n\r\n")
            status, headers, body = await self._answer(head, writer)
            writer.write(_response(status, headers, body, head.startswith(b"HEAD ")))
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass  # a client that sent no whole request, or too much: closed unanswered
        except OSError:
            pass  # the client left
        except Exception:
            # The app's bug (Starlette has answered 500 and re-raised it): logged, not left
            # to asyncio's "unhandled exception in client_connected_cb".
            log.exception("health port: answering failed")
        finally:
            self._open -= 1
            writer.close()

    async def _answer(
        self, head: bytes, writer: asyncio.StreamWriter
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        try:
            method, target, version = head.split(b"\r\n", 1)[0].decode("ascii").split(" ")
        except (UnicodeDecodeError, ValueError):
            return 400, [], b""
        if not version.startswith("HTTP/1."):
            return 400, [], b""
        path, _, query = target.partition("?")
        if path not in PATHS:
            return 404, [], b""
        if method not in ("GET", "HEAD"):
            return 405, [(b"allow", b"GET, HEAD")], b""
        return await self._ask(method, path, query, writer)

    async def _ask(
        self, method: str, path: str, query: str, writer: asyncio.StreamWriter
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """``app``'s answer to ``method path``, as if it had come on the main port."""
        peer = writer.get_extra_info("peername")
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": [(b"host", f"{self.host}:{self.port}".encode())],
            "client": tuple(peer[:2]) if peer else None,
            "server": (self.host, self.port),
        }
        answer: list[Message] = []
        chunks: list[bytes] = []
        requested = False

        async def receive() -> Message:
            nonlocal requested
            if not requested:
                requested = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await asyncio.Future()  # as a client that stays: never disconnects
            raise AssertionError  # unreachable

        async def send(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer.append(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, send)
        start = answer[0]
        headers = [
            (bytes(k), bytes(v))
            for k, v in start.get("headers", [])
            if bytes(k).lower() not in (b"content-length", b"connection")
        ]
        return int(start["status"]), headers, b"".join(chunks)


def _response(
    status: int, headers: list[tuple[bytes, bytes]], body: bytes, head: bool = False
) -> bytes:
    """The answer's bytes (a HEAD's without its body, but with its length)."""
    lines = [f"HTTP/1.1 {status} {REASONS.get(status, '')}".rstrip().encode()]
    lines += [k + b": " + v for k, v in headers]
    lines += [b"content-length: " + str(len(body)).encode(), b"connection: close"]
    return b"\r\n".join(lines) + b"\r\n\r\n" + (b"" if head else body)
