"""An httpx transport that keeps HTTP/1.1 connections open to a service, cheaply: the Rasa
client's (nlu/rasa.py).

Why not httpx's own (httpcore over anyio): each request cost the caller 0.97 ms of CPU through
it, 0.15 ms through this one (32 callers, 2,000 parses to the chaos harness's fake Rasa over
16 connections, uvloop, 2026-12-06 on the 2-core EPYC). The bot's answer to one message is
three requests (parse, the language slot, the REST channel), so under the chaos traffic
(100 messages a second over three nodes) httpcore alone was about a quarter of a core.

What it does: HTTP/1.1 over asyncio protocols, responses read by httptools (uvicorn's parser,
installed with ``uvicorn[standard]``), at most ``connections`` requests in flight, idle
connections reused for ``keepalive`` seconds. What it leaves out, since Rasa needs none of it:
HTTP/2, streamed bodies (both are read whole), HEAD, CONNECT, upgrades and proxies (httpx
ignores the environment's proxies when given a transport: the Rasa client takes httpx's own
transport when one applies, nlu/rasa.py). Its errors
are httpx's (PoolTimeout, ConnectError, ConnectTimeout, ReadTimeout, RemoteProtocolError), so
callers catch what they caught before, and httpx's timeouts (``timeout=``) bound each step.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections import defaultdict
from typing import cast

import httptools
import httpx

# httpx's own default for idle connections; a server's keep-alive (uvicorn's and Sanic's,
# under Rasa: 5 s) closes them about then, and a request sent on one it is closing fails.
KEEPALIVE_SECONDS = 5.0
# Statuses whose response has no body, even without a Content-Length.
_BODILESS = frozenset({204, 304})

Origin = tuple[str, str, int]


class _Connection(asyncio.Protocol):
    """One connection: one request at a time, its response read as it arrives."""

    def __init__(self) -> None:
        self._transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._answered: asyncio.Future[None] | None = None
        self._headers: list[tuple[bytes, bytes]] = []
        self._body: list[bytes] = []
        self._headers_read = False
        self._until_close = False
        self._done = False  # the answer is whole: what follows is out of step
        self._status = 0
        self.reusable = True
        self.idle_since = 0.0

    # -- asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport's subclasses, but have its methods.
        self._transport = cast(asyncio.Transport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.reusable = False
        if self._answered is None or self._answered.done():
            return
        if self._headers_read and self._until_close:
            self._answered.set_result(None)  # a body that ends with the connection
        else:
            self._answered.set_exception(
                httpx.RemoteProtocolError("the server closed the connection before its answer")
            )

    def data_received(self, data: bytes) -> None:
        if self._answered is None or self._answered.done():
            # Bytes nobody asked for: the connection is out of step, never to be reused.
            self.close()
            return
        try:
            self._parser.feed_data(data)
        except (httptools.HttpParserError, httptools.HttpParserUpgrade) as exc:
            self.close()
            if not self._answered.done():
                self._answered.set_exception(httpx.RemoteProtocolError(f"bad answer: {exc}"))

    # -- httptools' callbacks

    def on_message_begin(self) -> None:
        if self._done:
            # A second answer in the same read (the server is out of step): it must not
            # change the first, and the connection is not reused.
            self.reusable = False

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self._done:
            self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        self._headers_read = True
        names = {name.lower() for name, _ in self._headers}
        status = self._parser.get_status_code()
        self._until_close = (
            b"content-length" not in names
            and b"transfer-encoding" not in names
            and status >= 200
            and status not in _BODILESS
        )

    def on_body(self, body: bytes) -> None:
        if not self._done:
            self._body.append(body)

    def on_message_complete(self) -> None:
        if self._done:
            return
        if self._parser.get_status_code() < 200:
            # An interim answer (100 Continue, 103 Early Hints): the final one follows.
            self._headers, self._body, self._headers_read = [], [], False
            return
        self._done = True
        self._status = self._parser.get_status_code()
        if not self._parser.should_keep_alive():
            self.reusable = False
        if self._answered is not None and not self._answered.done():
            self._answered.set_result(None)

    # -- the caller's side

    async def exchange(self, request: bytes) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """Send ``request`` (head and body), wait for the whole answer: status, headers,
        body. A caller that stops waiting closes the connection: the answer may still come."""
        assert self._transport is not None
        self._headers, self._body, self._headers_read, self._done = [], [], False, False
        self._answered = asyncio.get_running_loop().create_future()
        self._transport.write(request)
        await self._answered
        self._answered = None
        return self._status, self._headers, b"".join(self._body)

    def close(self) -> None:
        self.reusable = False
        if self._transport is not None:
            self._transport.close()


class KeepAliveTransport(httpx.AsyncBaseTransport):
    """At most ``connections`` requests in flight; idle connections kept ``keepalive`` s."""

    def __init__(self, connections: int, keepalive: float = KEEPALIVE_SECONDS) -> None:
        self._slots = asyncio.Semaphore(connections)
        self._keepalive = keepalive
        # Most recently used last: the freshest is taken first, the stale ones age out.
        self._idle: defaultdict[Origin, list[_Connection]] = defaultdict(list)
        self._tls: ssl.SSLContext | None = None
        self._closed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method in ("HEAD", "CONNECT"):
            raise httpx.UnsupportedProtocol(f"{request.method} is not supported here")
        url = request.url
        if url.scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(f"{url.scheme!r} URLs are not supported")
        origin = (url.scheme, url.host, url.port or (443 if url.scheme == "https" else 80))
        timeouts = request.extensions.get("timeout", {})
        message = _message(request, await request.aread())
        try:
            async with asyncio.timeout(timeouts.get("pool")):
                await self._slots.acquire()
        except TimeoutError:
            raise httpx.PoolTimeout("every connection stayed busy") from None
        try:
            conn = self._reuse(origin)
            if conn is None:
                try:
                    async with asyncio.timeout(timeouts.get("connect")):
                        conn = await self._connect(origin)
                except TimeoutError:
                    raise httpx.ConnectTimeout(f"no connection to {origin[1]} in time") from None
            try:
                async with asyncio.timeout(timeouts.get("read")):
                    status, headers, body = await conn.exchange(message)
            except TimeoutError:
                conn.close()
                raise httpx.ReadTimeout("no answer in time") from None
            except BaseException:  # cancelled too: the answer may still come, out of step
                conn.close()
                raise
            if conn.reusable and not self._closed:
                conn.idle_since = time.monotonic()
                self._idle[origin].append(conn)
            else:
                conn.close()
        finally:
            self._slots.release()
        return httpx.Response(
            status,
            headers=headers,
            stream=httpx.ByteStream(body),
            extensions={"http_version": b"HTTP/1.1"},
        )

    def _reuse(self, origin: Origin) -> _Connection | None:
        idle = self._idle[origin]
        expired = time.monotonic() - self._keepalive
        while idle and idle[0].idle_since < expired:
            idle.pop(0).close()
        while idle:
            conn = idle.pop()
            if conn.reusable:
                return conn
        return None

    async def _connect(self, origin: Origin) -> _Connection:
        scheme, host, port = origin
        tls = None
        if scheme == "https":
            # The context httpx itself would use (certifi's roots, SSL_CERT_FILE).
            tls = self._tls = self._tls or httpx.create_ssl_context()
        try:
            _, conn = await asyncio.get_running_loop().create_connection(
                _Connection, host, port, ssl=tls
            )
        except OSError as exc:
            raise httpx.ConnectError(str(exc)) from exc
        return conn

    async def aclose(self) -> None:
        self._closed = True
        for idle in self._idle.values():
            for conn in idle:
                conn.close()
        self._idle.clear()


def _message(request: httpx.Request, body: bytes) -> bytes:
    """The request's bytes: its line, its headers (the body's length, since it is sent
    whole), its body."""
    lines = [b"%s %s HTTP/1.1" % (request.method.encode(), request.url.raw_path)]
    lines += [
        b"%s: %s" % (name, value)
        for name, value in request.headers.raw
        if name.lower() not in (b"content-length", b"transfer-encoding")
    ]
    if body or request.method in ("POST", "PUT", "PATCH"):
        lines.append(b"content-length: %d" % len(body))
    return b"\r\n".join(lines) + b"\r\n\r\n" + body
