"""Slack's Events API over HTTP: one route, acknowledged once the event is on disk.

Each request's signature is checked first (``signed_by``: v0 HMAC-SHA256 of
``v0:<timestamp>:<body>`` with the signing secret, the timestamp within Slack's five
minutes, as slack_sdk's verifier checks it); then the body is read as JSON (orjson),
url_verification answered, and an event that carries a customer's message handed to the
backend to keep as it came (``hold``), one commit shared by the events that arrived
together, before Slack is answered 200. Reading it follows, after the answer (``receive``):
its files fetched under one deadline, the message stored through the pipeline, who wrote it
(users.info) looked up. So a failing store is a 503 Slack retries, never a lost event, and
the answer costs a check, a parse and a share of one commit. Slack's event_id keeps a
retried event held once; the message's own ``ts`` keeps it, and the ``app_mention`` twin of
a ``message``, stored once (by the backend).

Not through slack-bolt: its middleware chain (request verification, authorization, self
events, listener matching) cost more than the store itself on every event, while the only
thing needed before the answer is the signature (the bench's Slack part: 0.03 of a bare
endpoint through bolt). Bolt also answered a payload that is not JSON with a 500.
"""

from __future__ import annotations

import dataclasses
import hmac
import time
from typing import Any

import orjson
import structlog
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from channels.base import Busy
from channels.slack.port import SlackBackend
from channels.slack.translate import carries_message, to_incoming
from channels.slack.web import SlackWeb
from channels.webhook import (
    Disconnected,
    TooLarge,
    answer,
    answer_busy,
    answer_error,
    headers_of,
    read_body,
)

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


# The headers read, in one pass over the request's.
_HEADERS = (
    b"content-length",
    b"x-slack-request-timestamp",
    b"x-slack-signature",
    b"x-slack-retry-num",
)
# How far a request's timestamp may be from now (Slack's five minutes, as slack_sdk's
# verifier and bolt have it): an older signed request is a replay.
MAX_AGE = 300
_CHALLENGE = "challenge"


def signed_by(secret: bytes, stamp: bytes, body: bytes, signature: bytes | None) -> bool:
    """Whether ``signature`` is Slack's v0 signature of the body at ``stamp`` (digits) with
    the signing secret, the timestamp within MAX_AGE of now. slack_sdk's verifier does the
    same over str (the body decoded and encoded again); one HMAC over the bytes is a third
    of its cost on the events' hot path."""
    if signature is None or abs(time.time() - int(stamp)) > MAX_AGE:
        return False
    digest = hmac.digest(secret, b"v0:" + stamp + b":" + body, "sha256")
    return hmac.compare_digest(b"v0=" + digest.hex().encode(), signature)


class SlackEvents:
    """Signed events in, each customer's message held by the backend before Slack is
    answered, and read (``receive``) afterwards. The endpoint is a plain ASGI callable
    (``channels.webhook``): a flood of events is this server's busiest HTTP path.
    ---
    summary: Slack Events API (signed; acknowledged once kept)
    responses:
      200: {description: "kept, a duplicate, nothing for us, or url_verification"}
      400: {description: "signed, but not JSON or not an event callback Slack would send"}
      401: {description: "bad, stale or malformed signature or timestamp"}
      413: {description: body too large}
      503: {description: "not kept (at capacity, with Retry-After; or the store failed)"}
    """

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
        self._secret = signing_secret.encode()

    def routes(self) -> list[Route]:
        return [Route(EVENTS_PATH, self, methods=["POST"])]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        declared, stamp, signature, retry = headers_of(scope, _HEADERS)
        try:
            body = await read_body(receive, declared, MAX_BODY)
        except TooLarge:
            await answer_error(send, 413, "body too large")
            return
        except Disconnected:
            return
        # Digits only (int() takes " 12", "+12", "1_2"), and not so many that the time is
        # absurd.
        if stamp is None or not stamp.isdigit() or len(stamp) > 12:
            await answer_error(send, 401, "invalid request timestamp")
            return
        if not signed_by(self._secret, stamp, body, signature):
            await answer_error(send, 401, "invalid signature")
            return
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            await answer_error(send, 400, "the body is not JSON")
            return
        if not isinstance(payload, dict):
            await answer_error(send, 400, "the body is not a JSON object")
            return
        kind = payload.get("type")
        if kind == "url_verification":
            challenge = payload.get(_CHALLENGE)
            if not isinstance(challenge, str):
                await answer_error(send, 400, "url_verification without a challenge")
                return
            await answer(send, 200, orjson.dumps({_CHALLENGE: challenge}))
            return
        if retry is not None:
            self._backend.retried()
        if kind != "event_callback" or not carries_message(payload):
            # Another kind of callback (app_rate_limited...), or an event that is not a
            # customer's message (a bot's, an edit, a join): nothing to keep.
            await answer(send, 200)
            return
        event_id = payload.get("event_id")
        if not isinstance(event_id, str) or not 0 < len(event_id) <= MAX_EVENT_ID:
            await answer_error(send, 400, "an event callback without an event_id")
            return
        try:
            await self._backend.hold(event_id, body)
        except Busy as busy:
            await answer_busy(send, busy)
            return
        except Exception:
            log.exception("keeping a Slack event failed", event_id=event_id)
            await answer_error(send, 503, "could not keep the event; retry")
            return
        await answer(send, 200)

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
