"""The Slack channel inside the server: slack-bolt's AsyncApp receives events, slack_sdk sends.

Bolt verifies each request's signature (within Slack's 5-minute window) and answers
url_verification itself. It runs with ``process_before_response``: the listener stores the
message (one transaction, well inside Slack's 3-second deadline) and only then is the event
acknowledged, so a failing store is a 5xx that Slack retries rather than a lost event. Bolt
does not de-duplicate retried events: the message's own ``ts`` is its unique id, so a retry,
or the ``app_mention`` twin of a ``message``, is stored once. Who wrote it (users.info) is
looked up after the acknowledgement and cached.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import structlog
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from channels.base import Attachment, DeliveryError, InboundMessage, Sender, safe_filename
from channels.slack.translate import Incoming, external_id, to_incoming
from server import store
from server.delivery.outbox import Sent, Suppressed, send_parts
from server.delivery.reconnect import describe, keep_trying
from server.metrics import Metrics
from server.pipeline.flow import Pipeline
from server.store import Pool, cursors

log = structlog.get_logger(__name__)

EVENTS_PATH = "/channels/slack/events"
USER_CACHE_SECONDS = 3600.0
# Files are fetched before the acknowledgement; past this they are noted as missing instead,
# so Slack's 3-second deadline holds.
FILE_SECONDS = 1.5
# Errors after which posting again cannot help.
PERMANENT = {
    "channel_not_found", "not_in_channel", "is_archived", "msg_too_long", "invalid_auth",
    "account_inactive", "no_text", "restricted_action",
}  # fmt: skip


class SlackService:
    def __init__(
        self,
        pool: Pool,
        pipeline: Pipeline,
        metrics: Metrics,
        *,
        token: str,
        signing_secret: str,
        api_url: str,
        workspaces: dict[str, tuple[str, str | None]] | None = None,
    ) -> None:
        self._pool = pool
        self._pipeline = pipeline
        self._metrics = metrics
        self._token = token
        # team id -> (its bot token, its brand's slug); other teams use ``token``.
        self._workspaces = workspaces or {}
        self.client = AsyncWebClient(token=token, base_url=api_url.rstrip("/") + "/")
        self.app = AsyncApp(
            signing_secret=signing_secret,
            client=self.client,
            process_before_response=True,
            # Our own authorize: bolt's default calls auth.test on the first event, and a
            # Slack error there would be answered 200 without the event being stored.
            authorize=self._authorizer(),
        )
        self.app.event("message")(self._listener)
        self.app.event("app_mention")(self._listener)
        self._handler = AsyncSlackRequestHandler(self.app)
        self._users: dict[str, tuple[float, dict[str, Any]]] = {}
        self._bot_user_id: str | None = None
        self._bot_id: str | None = None
        self._inboxes: set[str] = set()
        self._state: dict[str, Any] = {"ok": True, "status": "connecting"}
        self._task: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[None]] = set()

    def state(self) -> dict[str, Any]:
        return dict(self._state)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._connect(), name="slack")

    async def close(self) -> None:
        for task in [self._task, *self._background]:
            if task is not None:
                task.cancel()
        await asyncio.gather(
            *(t for t in [self._task, *self._background] if t), return_exceptions=True
        )

    async def _connect(self) -> None:
        async def attempt() -> None:
            auth = await self.client.auth_test()
            team = str(auth.get("team_id"))
            self._bot_user_id, self._bot_id = auth.get("user_id"), auth.get("bot_id")
            await self._ensure_inbox(team)
            self._state = {"ok": True, "status": "connected", "team": team}

        await keep_trying("slack", attempt, self._retrying)

    def _retrying(self, error: str) -> None:
        self._state = {"ok": True, "status": "retrying", "error": error}

    def routes(self) -> list[Route]:
        async def events(request: Request) -> Response:
            """
            summary: Slack Events API (signed; acknowledged once stored)
            responses:
              200: {description: stored, a duplicate, nothing for us, or url_verification}
              401: {description: bad, stale or malformed signature or timestamp}
              5XX: {description: not stored; Slack retries}
            """
            # slack_sdk's verifier does int(timestamp): a malformed one would be a 500.
            stamp = request.headers.get("x-slack-request-timestamp", "")
            if not stamp.isdigit() or len(stamp) > 12:
                return JSONResponse({"error": "invalid request timestamp"}, 401)
            retry = request.headers.get("x-slack-retry-num")
            if retry is not None:
                self._metrics.webhook_retries.labels("slack").inc()
            response: Response = await self._handler.handle(request)
            return response

        return [Route(EVENTS_PATH, events, methods=["POST"])]

    def _authorizer(self) -> Callable[..., Awaitable[AuthorizeResult]]:
        """Bolt fills an authorize function's arguments by their names, so it must be a plain
        function rather than a bound method."""

        async def authorize(
            enterprise_id: str | None, team_id: str | None, user_id: str | None
        ) -> AuthorizeResult:
            return AuthorizeResult(
                enterprise_id=enterprise_id,
                team_id=team_id,
                user_id=user_id,
                bot_token=self._token_for(team_id),
                bot_user_id=self._bot_user_id,
                bot_id=self._bot_id,
            )

        return authorize

    def _token_for(self, team: str | None) -> str:
        return self._workspaces.get(team or "", (self._token, None))[0]

    async def _listener(self, body: dict[str, Any], ack: Any) -> None:
        await self.receive(body)
        await ack()

    async def receive(self, body: dict[str, Any]) -> bool:
        incoming = to_incoming(body)
        if incoming is None:
            return False
        await self._ensure_inbox(incoming.team)
        attachments = await self._download(incoming)
        stored = await self._pipeline.ingest(
            InboundMessage(
                channel="slack",
                inbox_address=incoming.team,
                external_id=external_id(incoming),
                sender=Sender(external_id=incoming.user),
                text=incoming.text,
                thread=incoming.thread,
                attachments=attachments,
                meta=incoming.meta,
            )
        )
        if not stored.duplicate:
            task = asyncio.create_task(self._profile(incoming.team, incoming.user))
            self._background.add(task)
            task.add_done_callback(self._background.discard)
        return True

    async def _download(self, incoming: Incoming) -> tuple[Attachment, ...]:
        files: list[Attachment] = []
        if not incoming.files:
            return ()
        headers = {"Authorization": f"Bearer {self._token_for(incoming.team)}"}
        async with httpx.AsyncClient(timeout=FILE_SECONDS, headers=headers) as http:
            for n, ref in enumerate(incoming.files, start=1):
                try:
                    url = ref.url
                    if url is None:
                        # Some events carry only the file's id ("file_access":
                        # "check_file_info"): files.info has the rest.
                        info = await self.client.files_info(
                            file=ref.id, token=self._token_for(incoming.team)
                        )
                        url = (info.get("file") or {}).get("url_private_download")
                    if not url:
                        raise LookupError("no download URL")
                    response = await http.get(url)
                    response.raise_for_status()
                except Exception as exc:
                    log.warning("slack file download failed", error=describe(exc))
                    incoming.meta.setdefault("missing_files", []).append(ref.name)
                    continue
                name = safe_filename(ref.name, ref.mimetype, n)
                files.append(Attachment(name, ref.mimetype, response.content))
        return tuple(files)

    async def _profile(self, team: str, user: str) -> None:
        """The writer's name and email from users.info, onto their contact (if not set)."""
        cached = self._users.get(user)
        if cached is None or cached[0] < time.monotonic():
            try:
                answer = await self.client.users_info(user=user, token=self._token_for(team))
                info = answer.get("user") or {}
            except SlackApiError as exc:
                # user_not_found and the like: remembered, not asked again on every message.
                log.warning("slack users.info refused", user=user, error=exc.response.get("error"))
                info = {}
            except Exception as exc:
                log.warning("slack users.info failed", error=describe(exc))
                return
            cached = (time.monotonic() + USER_CACHE_SECONDS, info)
            self._users[user] = cached
        info = cached[1]
        profile = info.get("profile") or {}
        name = profile.get("real_name") or info.get("real_name") or info.get("name")
        email = profile.get("email")
        async with self._pool.acquire() as conn:
            await store.fill_missing_profile(conn, "slack", user, name, email)

    async def _ensure_inbox(self, team: str) -> None:
        if team in self._inboxes:
            return
        brand = self._workspaces.get(team, (self._token, None))[1]
        async with self._pool.acquire() as conn:
            await store.ensure_inbox(conn, "slack", team, f"Slack {team}", brand)
        self._inboxes.add(team)

    # -- outgoing ------------------------------------------------------------------------------

    async def deliver(self, message_id: int) -> Sent | Suppressed:
        async with self._pool.acquire() as conn:
            place = await cursors.slack_place(conn, message_id)
            files = await store.attachments_of(conn, message_id)
        if place is None:
            return Suppressed("the message no longer exists")
        channel, thread_ts, text = place["channel"], place["thread_ts"], place["text"]
        if channel is None:
            raise DeliveryError("no Slack channel to answer in", permanent=True)
        token = self._token_for(place["team"])
        # Two parts at most, each counted once sent: the text, then the files in one upload
        # (files.getUploadURLExternal, the upload, files.completeUploadExternal).
        parts: list[str] = (["text"] if text.strip() else []) + (["files"] if files else [])
        if not parts:
            return Suppressed("nothing to send: no text and no files")

        async def send(part: str) -> str:
            if part == "text":
                result = await _slack_call(
                    self.client.chat_postMessage(
                        channel=channel, text=text, thread_ts=thread_ts, token=token
                    )
                )
                return f"{channel}:{result.get('ts')}"
            result = await _slack_call(
                self.client.files_upload_v2(
                    file_uploads=[
                        {"content": f.content, "filename": f.filename, "title": f.filename}
                        for f in files
                    ],
                    channel=channel,
                    thread_ts=thread_ts,
                    token=token,
                )
            )
            return f"{channel}:file:{result['files'][0]['id']}"

        first = await send_parts(self._pool, message_id, parts, send)
        return Sent(external_id=first, detail="sent" if len(parts) == 1 else "sent with files")


async def _slack_call(call: Awaitable[AsyncSlackResponse]) -> AsyncSlackResponse:
    """One Web API call, its failures as DeliveryError: a 429's Retry-After kept, Slack's
    permanent errors (channel gone, not in channel...) not retried."""
    try:
        return await call
    except SlackApiError as exc:
        response = exc.response
        error = str(response.get("error") or exc)
        if response.status_code == 429 or error == "ratelimited":
            headers = {k.lower(): v for k, v in (response.headers or {}).items()}
            wait = float(headers.get("retry-after", 1))
            raise DeliveryError("rate limited", permanent=False, retry_after=wait) from None
        raise DeliveryError(error, permanent=error in PERMANENT) from None
    except Exception as exc:  # aiohttp's connection errors, timeouts, a failed upload
        raise DeliveryError(f"Slack unreachable: {describe(exc)}", permanent=False) from None
