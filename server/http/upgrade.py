"""A WebSocket upgrade taken from httptools' parse (server/http/sockets.py), without the
steps uvicorn repeats for each handshake: a reconnect storm is thousands a second (issue 21).

uvicorn's httptools protocol parses the upgrade request, writes it out again, and hands the
bytes to websockets, whose parser reads them once more in Python, a regular expression a
header line. Here httptools' headers become websockets' ``Request`` directly. httptools
(llhttp) has already refused what websockets' parser would for any line: a header name that
is not a token, a control character in a value, a path that is not ASCII; the request line is
always written out as HTTP/1.1, so websockets never saw another version. What httptools takes
and websockets would not (a body, more or longer header lines than websockets allows) is not
taken here: ``parsed`` says None, and websockets parses and answers it as before.

And once websockets has checked the request (``accepted``), the 101 response is built without
the date websockets' ``accept()`` gives it, which uvicorn removed (a slow delete) to add its
own, and the ASGI scope takes httptools' header bytes instead of encoding websockets' strings
back into the same bytes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from uvicorn._types import WebSocketScope
from websockets.datastructures import Headers
from websockets.http11 import MAX_LINE_LENGTH, MAX_NUM_HEADERS, Request, Response
from websockets.protocol import Protocol
from websockets.server import ServerProtocol


@dataclass(frozen=True, slots=True)
class Handshake:
    """An upgrade request as websockets reads it, with httptools' header bytes."""

    request: Request
    raw_headers: list[tuple[bytes, bytes]]


def parsed(method: str, url: bytes, headers: list[tuple[bytes, bytes]]) -> Handshake | None:
    """httptools' parse of an upgrade request (its lower-cased names, values without trailing
    spaces: uvicorn's on_header), or None for a request websockets must parse itself."""
    # websockets' limits, its line ending included (MAX_LINE_LENGTH is a line's whole length):
    # "GET /path HTTP/1.1\r\n" is the method and the path and 12 bytes.
    if len(headers) > MAX_NUM_HEADERS or len(method) + len(url) + 12 > MAX_LINE_LENGTH:
        return None
    request_headers = Headers()
    for name, value in headers:
        if (
            name == b"content-length"
            or name == b"transfer-encoding"
            or len(name) + len(value) + 4 > MAX_LINE_LENGTH
        ):
            return None
        # As websockets' parser decodes them: a token is ASCII, a value ISO-8859-1.
        request_headers.set_insecure(name.decode("ascii"), value.decode("iso-8859-1"))
    return Handshake(Request(url.decode("ascii"), request_headers, method), headers)


def skip_request(conn: ServerProtocol) -> None:
    """websockets' protocol, its request read elsewhere: its parser reads frames from here.
    (``ServerProtocol.parse`` reads the request, then ``yield from super().parse()``.)"""
    conn.parser = Protocol.parse(conn)
    next(conn.parser)


def accepted(conn: ServerProtocol, request: Request) -> Response | None:
    """The 101 response ``conn.accept(request)`` would give, but undated; None when it would
    refuse the request (its refusals are then built by ``accept`` itself)."""
    try:
        accept_header, extensions_header, protocol_header = conn.process_request(request)
    except Exception:
        return None
    conn.accept_called = True
    headers = Headers()
    # accept()'s headers in its order; its values, built by websockets and not the client's.
    headers.set_insecure("Upgrade", "websocket")
    headers.set_insecure("Connection", "Upgrade")
    headers.set_insecure("Sec-WebSocket-Accept", accept_header)
    if extensions_header is not None:
        headers.set_insecure("Sec-WebSocket-Extensions", extensions_header)
    if protocol_header is not None:
        headers.set_insecure("Sec-WebSocket-Protocol", protocol_header)
    return Response(101, "Switching Protocols", headers)


def add_headers(
    response: Response, headers: Iterable[tuple[bytes, bytes]], subprotocol: str | None
) -> None:
    """uvicorn's own headers (the date, any configured) and the app's, and the subprotocol
    the app chose, as uvicorn's accept adds them (values checked, as ``update`` does)."""
    for name, value in headers:
        response.headers[name.decode("latin-1").lower()] = value.decode("latin-1")
    if subprotocol:
        response.headers["Sec-WebSocket-Protocol"] = subprotocol


def scope(
    handshake: Handshake,
    asgi_version: Any,
    scheme: Any,
    server: tuple[str, int | None] | None,
    client: tuple[str, int] | None,
    root_path: str,
    app_state: dict[str, Any],
) -> WebSocketScope:
    """The ASGI scope uvicorn's ``handle_connect`` builds (websockets-sansio, 0.55)."""
    request = handshake.request
    raw_path, _, query_string = request.path.partition("?")
    subprotocols: list[str] = []
    for header in request.headers.get_all("Sec-WebSocket-Protocol"):
        subprotocols.extend([token.strip() for token in header.split(",")])
    return {
        "type": "websocket",
        "asgi": {"version": asgi_version, "spec_version": "2.4"},
        "http_version": "1.1",
        "scheme": scheme,
        "server": server,
        "client": client,
        "root_path": root_path,
        "path": root_path + unquote(raw_path),
        "raw_path": root_path.encode("ascii") + raw_path.encode("ascii"),
        "query_string": query_string.encode("ascii"),
        # What uvicorn encodes back from websockets' strings: the same bytes.
        "headers": handshake.raw_headers,
        "subprotocols": subprotocols,
        "state": app_state.copy(),
        "extensions": {"websocket.http.response": {}},
    }
