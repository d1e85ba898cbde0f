"""Slack's Events API over HTTP: slack-bolt's AsyncApp behind one Starlette route.

Bolt verifies each request's signature (within Slack's 5-minute window) and answers
url_verification itself. It runs with ``process_before_response``: the listener has the
message stored (one transaction, well inside Slack's 3-second deadline) and only then is the
event acknowledged, so a failing store is a 5xx that Slack retries rather than a lost event.
Bolt does not de-duplicate retried events: the message's own ``ts`` is its unique id, so a
retry, or the ``app_mention`` twin of a ``message``, is stored once (by the backend). A
message's files are fetched before the acknowledgement too, under one deadline for them all;
who wrote it (users.info) is looked up after it, by the backend.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from channels.base import Busy
from channels.slack.port import SlackBackend
from channels.slack.translate import to_incoming
from channels.slack.web import SlackWeb
from channels.webhook import busy_answer

EVENTS_PATH = "/channels/slack/events"
# All of a message's files are fetched before the acknowledgement, within this in all; the
# rest are noted as missing, so Slack's 3-second deadline holds with the store after them.
FILES_SECONDS = 2.0


class SlackEvents:
    """Signed events in, each message handed to the backend before Slack is answered."""

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
        self._app = AsyncApp(
            signing_secret=signing_secret,
            client=web.client,
            process_before_response=True,
            # Our own authorize: bolt's default calls auth.test on the first event, and a
            # Slack error there would be answered 200 without the event being stored.
            authorize=self._authorizer(),
        )
        self._app.event("message")(self._listener)
        self._app.event("app_mention")(self._listener)
        self._handler = AsyncSlackRequestHandler(self._app)

    def routes(self) -> list[Route]:
        async def events(request: Request) -> Response:
            """
            summary: Slack Events API (signed; acknowledged once stored)
            responses:
              200: {description: stored, a duplicate, nothing for us, or url_verification}
              401: {description: bad, stale or malformed signature or timestamp}
              5XX: {description: not stored (503 at capacity, with Retry-After); Slack retries}
            """
            # slack_sdk's verifier does int(timestamp): a malformed one would be a 500.
            stamp = request.headers.get("x-slack-request-timestamp", "")
            if not stamp.isdigit() or len(stamp) > 12:
                return JSONResponse({"error": "invalid request timestamp"}, 401)
            if request.headers.get("x-slack-retry-num") is not None:
                self._backend.retried()
            try:
                self._backend.admit()
            except Busy as busy:
                # Bolt would answer a listener's exception with a bare 500; this says when.
                return busy_answer(busy)
            response: Response = await self._handler.handle(request)
            return response

        return [Route(EVENTS_PATH, events, methods=["POST"])]

    def _authorizer(self) -> Callable[..., Awaitable[AuthorizeResult]]:
        """Bolt fills an authorize function's arguments by their names, so it must be a plain
        function rather than a bound method."""

        async def authorize(
            enterprise_id: str | None, team_id: str | None, user_id: str | None
        ) -> AuthorizeResult:
            identity = self._web.identity
            return AuthorizeResult(
                enterprise_id=enterprise_id,
                team_id=team_id,
                user_id=user_id,
                bot_token=self._web.token_for(team_id),
                bot_user_id=identity.bot_user_id if identity else None,
                bot_id=identity.bot_id if identity else None,
            )

        return authorize

    async def _listener(self, body: dict[str, Any], ack: Any) -> None:
        await self.receive(body)
        await ack()

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
