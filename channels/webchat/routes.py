"""HTTP and WebSocket routes of the web chat channel: sessions, the socket, files both ways,
the widget's own files and the demo page."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import structlog
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from channels.base import Attachment, safe_filename
from channels.webchat import protocol as p
from channels.webchat.hub import WebchatHub
from channels.webchat.port import UnknownFile, WebchatBackend
from channels.webchat.protocol import WEBSOCKET_PATH
from channels.webchat.requests import Webchat, WebchatScope, check_origin, visitor_of, webchat_of
from channels.webchat.sessions import confirm_email_code, create_session, post_email_code
from channels.webchat.token import VisitorTokens

log = structlog.get_logger(__name__)

STATIC = Path(__file__).parent / "static"
BIGINT_MAX = 2**63 - 1  # messages.id is a bigint
POSITION_MAX = 2**31 - 1  # attachments.position is an integer

__all__ = ["WEBSOCKET_PATH", "routes"]


async def post_file(request: Request) -> Response:
    """
    summary: Send a file from the widget
    description: >
      The body is the file's bytes, its Content-Type the file's type; `client_id` (yours,
      as for a text message: sending it again stores nothing twice) and `filename` go in
      the query; the visitor token as `Authorization: Bearer <token>`. The file becomes a
      message of its own in the visitor's conversation, echoed on the socket like any.
    parameters:
      - name: client_id
        in: query
        required: true
        schema: {type: string, pattern: "^[A-Za-z0-9_-]{1,64}$"}
      - {name: filename, in: query, required: true, schema: {type: string, maxLength: 255}}
    requestBody:
      required: true
      content:
        "*/*": {schema: {type: string, format: binary}}
    responses:
      201: {description: stored; the same fields as the socket's ack}
      200: {description: that client_id was stored before}
      401: {description: no token, or an invalid or expired one}
      403: {description: Origin not allowed}
      413: {description: over 10 MiB}
      429: {description: more than 10 files a minute (Retry-After says when to try again)}
      422: {description: a missing or invalid client_id or filename, or an empty file}
      503: {description: not stored (the database is down); send it again}
    """
    webchat = webchat_of(request)
    check_origin(webchat.hub, request)
    visitor = await visitor_of(request)
    if not await webchat.hub.take_upload(visitor.visitor_id):
        retry = max(1, round(60 / p.UPLOADS_PER_MINUTE))
        raise HTTPException(
            429,
            f"more than {p.UPLOADS_PER_MINUTE} files a minute; slow down",
            {"Retry-After": str(retry)},
        )
    client_id = request.query_params.get("client_id", "")
    name = request.query_params.get("filename", "")
    if not p.CLIENT_ID.match(client_id):
        raise HTTPException(422, "client_id: 1-64 of A-Z a-z 0-9 _ -")
    if not name.strip() or len(name) > 255:
        raise HTTPException(422, "filename: 1-255 characters")
    too_large = f"the file is over {p.MAX_FILE_BYTES // 2**20} MiB"
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > p.MAX_FILE_BYTES:
        raise HTTPException(413, too_large)
    content = bytearray()
    async for chunk in request.stream():
        content += chunk
        if len(content) > p.MAX_FILE_BYTES:
            raise HTTPException(413, too_large)
    if not content:
        raise HTTPException(422, "the file is empty")
    content_type = request.headers.get("content-type") or "application/octet-stream"
    file = Attachment(safe_filename(name, content_type, 1), content_type, bytes(content))
    inbound = p.file_inbound(
        file,
        client_id=client_id,
        inbox_address=visitor.inbox_address,
        visitor_id=visitor.visitor_id,
    )
    try:
        message, duplicate = await webchat.backend.receive(inbound)
    except Exception:
        # Not stored, so not acknowledged: the widget may send it again.
        log.exception("webchat file not stored", visitor_id=visitor.visitor_id)
        raise HTTPException(503, "file not stored; send it again") from None
    return JSONResponse(
        {
            "client_id": client_id,
            "message_id": message["id"],
            "conversation_id": message["conversation_id"],
            "seq": message["seq"],
            "duplicate": duplicate,
        },
        status_code=200 if duplicate else 201,
    )


async def get_attachment(request: Request) -> Response:
    """
    summary: Download a file of the visitor's conversation
    description: >
      The widget sends its visitor token as `Authorization: Bearer <token>` (never in the
      URL, where logs and the Referer would keep it). Served as a download (attachment,
      nosniff, sandboxed), never rendered.
    responses:
      200: {description: the file}
      401: {description: no token, or an invalid or expired one}
      404: {description: no such file in this visitor's conversations}
    """
    visitor = await visitor_of(request)
    message_id, position = request.path_params["message_id"], request.path_params["n"]
    if message_id > BIGINT_MAX or position > POSITION_MAX:
        raise HTTPException(404, "no such file")
    try:
        filename, _type, content = await webchat_of(request).backend.attachment(
            visitor, message_id, position
        )
    except UnknownFile:
        raise HTTPException(404, "no such file") from None
    return Response(
        content,
        media_type="application/octet-stream",
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename, safe='')}",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox",
        },
    )


# The demo shop's page runs only our files (the widget included): no inline script or style,
# not framed; what a shop's own page would send to keep the widget's host safe.
DEMO_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


async def demo_page(request: Request) -> Response:
    return FileResponse(
        STATIC / "demo.html",
        headers={"content-security-policy": DEMO_POLICY, "x-frame-options": "DENY"},
    )


def routes(
    hub: WebchatHub, backend: WebchatBackend, tokens: VisitorTokens, origins: frozenset[str]
) -> list[BaseRoute]:
    """The demo page, the widget's files, its REST API (CORS for the brand's sites) and its
    WebSocket."""
    # The widget is embedded on the brand's own sites: let those origins call the API.
    cors = Middleware(
        CORSMiddleware,
        allow_origins=sorted(origins),
        allow_methods=["GET", "POST"],
        allow_headers=["authorization", "content-type"],
        expose_headers=["content-disposition"],
    )
    scope = Middleware(WebchatScope, webchat=Webchat(hub, backend, tokens))
    return [
        Route("/", demo_page, include_in_schema=False),
        Mount(
            "/api/webchat",
            routes=[
                Route("/sessions", create_session, methods=["POST"]),
                Route("/files", post_file, methods=["POST"]),
                Route("/email-code", post_email_code, methods=["POST"]),
                Route("/email-code/confirm", confirm_email_code, methods=["POST"]),
                Route(
                    "/messages/{message_id:int}/attachments/{n:int}",
                    get_attachment,
                    methods=["GET"],
                ),
            ],
            middleware=[cors, scope],
        ),
        WebSocketRoute(WEBSOCKET_PATH, hub.endpoint),
        Mount("/widget", StaticFiles(directory=STATIC), name="widget"),
    ]
