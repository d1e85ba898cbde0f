"""``POST /channels/slack/interactivity``: presses on our Block Kit buttons and comments sent
from our input (Slack's "Interactivity Request URL"), answered once stored.

Slack posts ``application/x-www-form-urlencoded`` with one field, ``payload``, the JSON of the
interaction, signed as the Events API's requests are (v0 HMAC-SHA256 with the app's signing
secret, within 5 minutes). The only buttons we send are the rating question's; a press is
handed to the backend, which stores it as the customer's answer before Slack is answered (so
a failing store is a 5xx, never a lost rating), and Slack sees the buttons replaced by the
rating afterwards, with an input for a comment; a comment sent from it is stored likewise.
401 for a bad, stale or malformed signature; 413 for a body no interaction
can have; 400 for a request that is not an interaction Slack would send; 503 at capacity
(with Retry-After) or when the store failed.

Not through slack-bolt: bolt parses the payload before it checks the signature and answers a
payload that is not JSON with a 500.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

import structlog
from slack_sdk.signature import SignatureVerifier
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from channels.base import Busy
from channels.slack.port import SlackBackend
from channels.slack.translate import Comment, NotAPayload, Rating, payload_of, to_comment, to_rating
from channels.webhook import TooLarge, busy_answer, capped_body

log = structlog.get_logger(__name__)

INTERACTIVITY_PATH = "/channels/slack/interactivity"
# An interaction carries the message it came from (at most 50 blocks of a few KB); a
# megabyte is room for the largest and refuses what cannot be one.
MAX_BODY = 1024 * 1024
FORM = "application/x-www-form-urlencoded"


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status)


class SlackInteractions:
    """Signed button presses in, each rating stored before Slack is answered."""

    def __init__(self, backend: SlackBackend, *, signing_secret: str) -> None:
        self._backend = backend
        self._verifier = SignatureVerifier(signing_secret)

    def routes(self) -> list[Route]:
        return [Route(INTERACTIVITY_PATH, self._interactivity, methods=["POST"])]

    async def _interactivity(self, request: Request) -> Response:
        """
        summary: Slack interactivity (rating buttons and comment; signed; answered once stored)
        responses:
          200: {description: the rating or comment stored (or already), or not for us}
          400: {description: not form-encoded, no payload field, or a malformed payload}
          401: {description: bad, stale or malformed signature or timestamp}
          413: {description: body too large}
          5XX: {description: not stored (503 at capacity, with Retry-After)}
        """
        try:
            body = await capped_body(request, MAX_BODY)
        except TooLarge:
            return _error(413, "body too large")
        stamp = request.headers.get("x-slack-request-timestamp", "")
        # The verifier does int(timestamp): anything but digits would be a 500 there.
        if not stamp.isdigit() or len(stamp) > 12:
            return _error(401, "invalid request timestamp")
        signature = request.headers.get("x-slack-signature")
        if not self._verifier.is_valid(body, stamp, signature):
            return _error(401, "invalid signature")
        if request.headers.get("content-type", "").split(";")[0].strip() != FORM:
            return _error(400, f"an interaction is {FORM}")
        try:
            form = dict(parse_qsl(body.decode(), keep_blank_values=True, strict_parsing=True))
            payload = payload_of(form)
            ours: Rating | Comment | None = to_rating(payload) or to_comment(payload)
        except (UnicodeDecodeError, ValueError):
            return _error(400, "the body is not a form")
        except NotAPayload as exc:
            return _error(400, f"malformed payload: {exc}")
        if ours is None:
            # Another app's button, a shortcut, an empty comment...: nothing to store.
            return Response(status_code=200)
        what = "rating" if isinstance(ours, Rating) else "comment"
        try:
            self._backend.admit()
            if isinstance(ours, Rating):
                await self._backend.rate(ours)
            else:
                await self._backend.comment(ours)
        except Busy as busy:
            return busy_answer(busy)
        except Exception:
            log.exception(f"storing a Slack {what} failed", team=ours.team)
            return _error(503, f"could not store the {what}; retry")
        return Response(status_code=200)
