"""Slack's Web API as Switchboard uses it: slack_sdk's AsyncWebClient behind neutral inputs and
outputs, its failures as ``DeliveryError``.

Each workspace has its own bot token (``tokens``, by team id); any other team uses the default
one. Who wrote a message (users.info) is cached, bounded in number and in time. A message's
files are fetched together under one deadline, since that happens before Slack's event is
acknowledged; what is not fetched in time is reported as missing rather than waited for.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass

import aiohttp
import httpx
import structlog
from cachetools import TTLCache
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from channels.base import Attachment, DeliveryError, safe_filename
from channels.slack.blocks import Block
from channels.slack.translate import SlackFile

log = structlog.get_logger(__name__)

# Writers remembered (about 1 MB at 10,000) for an hour: a name or email changed in Slack
# shows up within the hour, and a busy workspace cannot grow the cache without bound.
USERS_MAX = 10_000
USERS_SECONDS = 3600.0
# Errors after which posting again cannot help.
PERMANENT = {
    "channel_not_found", "not_in_channel", "is_archived", "msg_too_long", "invalid_auth",
    "account_inactive", "no_text", "restricted_action",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Identity:
    """Who we are in a workspace (auth.test)."""

    team: str
    bot_user_id: str | None
    bot_id: str | None


@dataclass(frozen=True, slots=True)
class Profile:
    """A Slack user's name and email (users.info); either may be unknown."""

    name: str | None
    email: str | None


@dataclass(frozen=True, slots=True)
class Fetched:
    """A message's files: those fetched in time, and the names of the others."""

    attachments: tuple[Attachment, ...]
    missing: tuple[str, ...]


class SlackWeb:
    """The Web API calls we make, one client for every workspace (the token varies per call)."""

    def __init__(
        self,
        *,
        token: str,
        api_url: str,
        tokens: Mapping[str, str] | None = None,
        users_max: int = USERS_MAX,
        users_seconds: float = USERS_SECONDS,
    ) -> None:
        self._token = token
        self._tokens = dict(tokens or {})
        self.client = AsyncWebClient(token=token, base_url=api_url.rstrip("/") + "/")
        # Set by identify(); bolt's authorize hands these to listeners.
        self.identity: Identity | None = None
        self._users: TTLCache[tuple[str, str], Profile] = TTLCache(users_max, users_seconds)

    def token_for(self, team: str | None) -> str:
        return self._tokens.get(team or "", self._token)

    @property
    def _api(self) -> AsyncWebClient:
        """The client, with one aiohttp session for every call (opened by the first): given
        none, slack_sdk opens a session, and so a TCP connection, for each call and closes
        it after (a TCP connect for every reply the bench's Slack part sent; py-spy)."""
        session = self.client.session
        if session is None or session.closed:
            timeout = aiohttp.ClientTimeout(total=self.client.timeout)
            self.client.session = aiohttp.ClientSession(timeout=timeout)
        return self.client

    async def close(self) -> None:
        """Close the session the calls share (a call after this opens another)."""
        session, self.client.session = self.client.session, None
        if session is not None:
            await session.close()

    async def identify(self) -> Identity:
        """auth.test with the default token; raises when Slack cannot be reached or refuses."""
        auth = await self._api.auth_test()
        self.identity = Identity(str(auth.get("team_id")), auth.get("user_id"), auth.get("bot_id"))
        return self.identity

    async def profile(self, team: str, user: str) -> Profile | None:
        """The user's name and email, cached; None when Slack could not be asked (try again
        next time). A refusal (``"ok": false`` with user_not_found and the like) is an empty
        profile, remembered so it is not asked again on every message."""
        cached = self._users.get((team, user))
        if cached is not None:
            return cached
        try:
            answer = await self._api.users_info(user=user, token=self.token_for(team))
            info = answer.get("user") or {}
        except SlackApiError as exc:
            if exc.response.status_code != 200:  # a 429 or a 5xx: Slack was not really asked
                log.warning("slack users.info failed", status=exc.response.status_code)
                return None
            log.warning("slack users.info refused", user=user, error=exc.response.get("error"))
            info = {}
        except Exception as exc:
            log.warning("slack users.info failed", error=_describe(exc))
            return None
        fields = info.get("profile") or {}
        found = Profile(
            name=fields.get("real_name") or info.get("real_name") or info.get("name"),
            email=fields.get("email"),
        )
        self._users[(team, user)] = found
        return found

    async def fetch_files(self, team: str, files: Sequence[SlackFile], within: float) -> Fetched:
        """Download a message's files, all at once, within ``within`` seconds in all: one
        deadline for the whole step, however many files there are. A file that fails or is
        not in by then is missing (and logged)."""
        if not files:
            return Fetched((), ())
        token = self.token_for(team)
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(timeout=within, headers=headers) as http:
            tasks = [asyncio.create_task(self._download(http, token, ref)) for ref in files]
            _, late = await asyncio.wait(tasks, timeout=within)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        attachments: list[Attachment] = []
        missing: list[str] = []
        for n, (ref, task) in enumerate(zip(files, tasks, strict=True), start=1):
            error = "not fetched in time" if task.cancelled() else task.exception()
            if error is not None:
                log.warning("slack file download failed", file=ref.id, error=_describe(error))
                missing.append(ref.name)
                continue
            name = safe_filename(ref.name, ref.mimetype, n)
            attachments.append(Attachment(name, ref.mimetype, task.result()))
        return Fetched(tuple(attachments), tuple(missing))

    async def _download(self, http: httpx.AsyncClient, token: str, ref: SlackFile) -> bytes:
        url = ref.url
        if url is None:
            # Some events carry only the file's id ("file_access": "check_file_info"):
            # files.info has the rest.
            info = await self._api.files_info(file=ref.id, token=token)
            url = (info.get("file") or {}).get("url_private_download")
        if not url:
            raise LookupError("no download URL")
        response = await http.get(url)
        response.raise_for_status()
        return response.content

    async def post_message(
        self,
        team: str | None,
        channel: str,
        text: str,
        thread_ts: str | None,
        blocks: Sequence[Block] | None = None,
    ) -> str:
        """chat.postMessage into the channel (and thread), with Block Kit blocks if given
        (``text`` is then the notification's words); the posted message's ts."""
        result = await _call(
            self._api.chat_postMessage(
                channel=channel,
                text=text,
                thread_ts=thread_ts,
                blocks=blocks,
                token=self.token_for(team),
            )
        )
        return str(result.get("ts"))

    async def update_message(
        self, team: str | None, channel: str, ts: str, text: str, blocks: Sequence[Block]
    ) -> None:
        """chat.update: the message ``ts`` (one of ours) shows these blocks instead."""
        await _call(
            self._api.chat_update(
                channel=channel, ts=ts, text=text, blocks=blocks, token=self.token_for(team)
            )
        )

    async def upload_files(
        self, team: str | None, channel: str, thread_ts: str | None, files: Sequence[Attachment]
    ) -> str:
        """The files in one upload into the channel (and thread): files.getUploadURLExternal,
        the upload, files.completeUploadExternal. The first file's id."""
        result = await _call(
            self._api.files_upload_v2(
                file_uploads=[
                    {"content": f.content, "filename": f.filename, "title": f.filename}
                    for f in files
                ],
                channel=channel,
                thread_ts=thread_ts,
                token=self.token_for(team),
            )
        )
        return str(result["files"][0]["id"])


async def _call(call: Awaitable[AsyncSlackResponse]) -> AsyncSlackResponse:
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
        raise DeliveryError(f"Slack unreachable: {_describe(exc)}", permanent=False) from None


def _describe(error: BaseException | str) -> str:
    """An error as the logs and delivery details show it (the server's reconnect.describe)."""
    if isinstance(error, str):
        return error
    return f"{error.__class__.__name__}: {error}"[:300]
