"""Slack's Events API over HTTP: one Starlette route, acknowledged once the event is on disk.

Each request's signature is checked first (slack_sdk's verifier: v0 HMAC-SHA256 of
``v0:<timestamp>:<body>`` with the signing secret, the timestamp within Slack's five
minutes); then the body is read as JSON (orjson), url_verification answered, and an event
that carries a customer's message handed to the backend to keep as it came (``hold``), one
commit shared by the events that arrived together, before Slack is answered 200. Reading it
follows, after the answer (``receive``): its files fetched under one deadline, the message
stored through the pipeline, who wrote it (users.info) looked up. So a failing store is a 503
Slack retries, never a lost event, and the answer costs a check, a parse and a share of one
commit. Slack's event_id keeps a retried event held once; the message's own ``ts`` keeps it,
and the ``app_mention`` twin of a ``message``, stored once (by the backend).

Not through slack-bolt: its middleware chain (request verification, authorization, self
events, listener matching) cost more than the store itself on every event, while the only
thing needed before the answer is the signature (the bench's Slack part: 0.03 of a bare
endpoint through bolt). Bolt also answered a payload that is not JSON with a 500.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import orjson
import structlog
from slack_sdk.signature import SignatureVerifier
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from channels.base import Busy
from channels.slack.port import SlackBackend
from channels.slack.translate import to_incoming
from channels.slack.web import SlackWeb
from channels.webhook import TooLarge, busy_answer, capped_body

log = structlog.get_logger(__name__)

EVENTS_PATH = "/channels/slack/events"
# A message's files are fetched within this in all (they are no longer waited for before
# the answer, but one slow file server must not hold a drain for long).
FILES_SECONDS = 2.0
# An event is a few kilobytes (a message's text is at most 40,000 characters); a megabyte
# leaves room for the largest and refuses what cannot be one.
MAX_BODY = 1024 * 1024
# Slack's event ids are short ("Ev0PV52K25"); anything far longer is not one.
MAX_EVENT_ID = 100


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status)


class SlackEvents:
    """Signed events in, each customer's message held by the backend before Slack is
    answered, and read (``receive``) afterwards."""

    def __init__(
        self,
        backend: SlackBackend,
        web: SlackWeb,
        *,
        signing_secret: str,
        files_seconds: float = FILES_SECONDS,
    ) -> None:
        self._backend = backend
        self._web = web
        self._files_seconds = files_seconds
        self._verifier = SignatureVerifier(signing_secret)

    def routes(self) -> list[Route]:
        return [Route(EVENTS_PATH, self._events, methods=["POST"])]

    async def _events(self, request: Request) -> Response:
        """
        summary: Slack Events API (signed; acknowledged once kept)
        responses:
          200: {description: kept, a duplicate, nothing for us, or url_verification}
          400: {description: signed, but not JSON or not an event callback Slack would send}
          401: {description: bad, stale or malformed signature or timestamp}
          413: {description: body too large}
          503: {description: not kept (at capacity, with Retry-After; or the store failed)}
        """
        try:
            body = await capped_body(request, MAX_BODY)
        except TooLarge:
            return _error(413, "body too large")
        stamp = request.headers.get("x-slack-request-timestamp", "")
        # The verifier does int(timestamp): anything but digits would be a 500 there.
        if not stamp.isdigit() or len(stamp) > 12:
            return _error(401, "invalid request timestamp")
        if not self._verifier.is_valid(body, stamp, request.headers.get("x-slack-signature")):
            return _error(401, "invalid signature")
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            return _error(400, "the body is not JSON")
        if not isinstance(payload, dict):
            return _error(400, "the body is not a JSON object")
        kind = payload.get("type")
        if kind == "url_verification":
            challenge = payload.get("challenge")
            if not isinstance(challenge, str):
                return _error(400, "url_verification without a challenge")
            return JSONResponse({"challenge": challenge})
        if request.headers.get("x-slack-retry-num") is not None:
            self._backend.retried()
        if kind != "event_callback" or to_incoming(payload) is None:
            # Another kind of callback (app_rate_limited...), or an event that is not a
            # customer's message (a bot's, an edit, a join): nothing to keep.
            return Response(status_code=200)
        event_id = payload.get("event_id")
        if not isinstance(event_id, str) or not 0 < len(event_id) <= MAX_EVENT_ID:
            return _error(400, "an event callback without an event_id")
        try:
            await self._backend.hold(event_id, body)
        except Busy as busy:
            return busy_answer(busy)
        except Exception:
            log.exception("keeping a Slack event failed", event_id=event_id)
            return _error(503, "could not keep the event; retry")
        return Response(status_code=200)

    async def receive(self, body: dict[str, Any]) -> bool:
        """Hand the event's message, with its files, to the backend; False when the event is
        not a customer's message."""
        incoming = to_incoming(body)
        if incoming is None:
            return False
        fetched = await self._web.fetch_files(incoming.team, incoming.files, self._files_seconds)
        if fetched.missing:
            meta = {**incoming.meta, "missing_files": list(fetched.missing)}
            incoming = dataclasses.replace(incoming, meta=meta)
        await self._backend.store(incoming, fetched.attachments)
        return True
