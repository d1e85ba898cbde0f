"""A stand-in for Slack's Web API on loopback (slack.com cannot be reached here).

Answers have the documented shapes (https://api.slack.com/methods): ``{"ok": true, ...}`` or
``{"ok": false, "error": "..."}``; rate limiting is HTTP 429 with a ``Retry-After`` header and
``{"ok": false, "error": "ratelimited"}``. slack_sdk is pointed at it with ``base_url``. Also:
signing events the way Slack does (v0 HMAC-SHA256 over ``v0:<timestamp>:<body>``), and the
``block_actions`` payload Slack posts to the interactivity URL when a button is pressed
(https://api.slack.com/reference/interaction-payloads/block-actions).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import time
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bench.stand_ins import request_params
from tests.harness import serving

TOKEN = "xoxb-test-token"
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TEAM = "T0ACME"
OTHER_TOKEN = "xoxb-other-workspace"
OTHER_TEAM = "T0OTHER"


@dataclass
class SlackApi:
    base_url: str = ""
    posted: list[dict[str, Any]] = field(default_factory=list)
    attempts: list[tuple[float, str, int]] = field(default_factory=list)
    flood: int = 0
    retry_after: int = 1
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    # A slow file server: a held file is never sent (the client can only give up on it); a
    # file in ``after`` is sent only once the client has given up the file it names.
    # ``release`` ends every wait as the stand-in stops, so no request outlives the test.
    held: set[str] = field(default_factory=set)
    after: dict[str, str] = field(default_factory=dict)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    downloads: list[str] = field(default_factory=list)
    given_up: list[str] = field(default_factory=list)
    _given_up: dict[str, asyncio.Event] = field(default_factory=dict)
    lookups: list[str] = field(default_factory=list)
    # Files the app uploads (files.getUploadURLExternal → upload → completeUploadExternal).
    pending_uploads: dict[str, dict[str, Any]] = field(default_factory=dict)
    uploaded: list[dict[str, Any]] = field(default_factory=list)
    down: bool = False
    # chat.update calls: what each message was changed to.
    updated: list[dict[str, Any]] = field(default_factory=list)

    def shown(self, posted: dict[str, Any]) -> dict[str, Any]:
        """A message we posted as Slack now shows it: with its last chat.update's text and
        blocks (what an interaction on it carries)."""
        changes = [
            u for u in self.updated if (u["channel"], u["ts"]) == (posted["channel"], posted["ts"])
        ]
        if not changes:
            return posted
        return {**posted, "text": changes[-1]["text"], "blocks": changes[-1]["blocks"] or []}

    async def handle(self, request: Request) -> Response:
        if self.down:
            return Response(status_code=503)
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if token not in (TOKEN, OTHER_TOKEN):
            return JSONResponse({"ok": False, "error": "not_authed"})
        method = request.path_params["method"]
        params = await request_params(request)
        params["_token"] = token
        if method == "auth.test":
            return JSONResponse(
                {
                    "ok": True,
                    "url": "https://acme.slack.com/",
                    "team": "Acme",
                    "user": "support",
                    "team_id": TEAM,
                    "user_id": "U0BOT",
                    "bot_id": "B0BOT",
                }
            )
        if method == "users.info":
            user = str(params.get("user"))
            self.lookups.append(user)
            found = self.users.get(user)
            if found is None:
                return JSONResponse({"ok": False, "error": "user_not_found"})
            return JSONResponse({"ok": True, "user": found})
        if method == "files.info":
            file_id = str(params.get("file"))
            if file_id not in self.files:
                return JSONResponse({"ok": False, "error": "file_not_found"})
            return JSONResponse(
                {
                    "ok": True,
                    "file": {
                        "id": file_id,
                        "name": f"{file_id}.bin",
                        "mimetype": "application/octet-stream",
                        "url_private_download": f"{self.base_url}/files/{file_id}",
                    },
                }
            )
        if method == "chat.postMessage":
            text = str(params.get("text"))
            if self.flood > 0:
                self.flood -= 1
                self.attempts.append((time.monotonic(), text, 429))
                return JSONResponse(
                    {"ok": False, "error": "ratelimited"},
                    status_code=429,
                    headers={"Retry-After": str(self.retry_after)},
                )
            blocks = params.get("blocks")
            if blocks is not None and (error := _blocks_error(blocks)):
                return JSONResponse({"ok": False, "error": "invalid_blocks", "errors": [error]})
            self.attempts.append((time.monotonic(), text, 200))
            ts = f"{time.time():.6f}"
            message = {
                "channel": params.get("channel"),
                "thread_ts": params.get("thread_ts"),
                "text": text,
                "ts": ts,
                "via": params["_token"],
            }
            if blocks is not None:
                message["blocks"] = blocks
            self.posted.append(message)
            shown = {"type": "message", "text": text, "ts": ts, "bot_id": "B0BOT"}
            return JSONResponse(
                {
                    "ok": True,
                    "channel": params.get("channel"),
                    "ts": ts,
                    "message": {**shown, **({"blocks": blocks} if blocks else {})},
                }
            )
        if method == "chat.update":
            at, channel = params.get("ts"), params.get("channel")
            if not any(m["ts"] == at and m["channel"] == channel for m in self.posted):
                return JSONResponse({"ok": False, "error": "message_not_found"})
            blocks = params.get("blocks")
            if blocks is not None and (error := _blocks_error(blocks)):
                return JSONResponse({"ok": False, "error": "invalid_blocks", "errors": [error]})
            change = {
                "channel": channel,
                "ts": at,
                "text": params.get("text"),
                "blocks": blocks,
                "via": params["_token"],
            }
            self.updated.append(change)
            return JSONResponse(
                {
                    "ok": True,
                    "channel": channel,
                    "ts": at,
                    "text": change["text"],
                    "message": {"type": "message", "text": change["text"], "bot_id": "B0BOT"}
                    | ({"blocks": blocks} if blocks else {}),
                }
            )
        if method == "files.getUploadURLExternal":
            # Step 1 of Slack's upload: an id and a one-off URL to send the bytes to.
            if not params.get("filename") or not str(params.get("length", "")).isdigit():
                return JSONResponse({"ok": False, "error": "invalid_arguments"})
            file_id = f"F0OUT{len(self.pending_uploads) + len(self.uploaded)}"
            self.pending_uploads[file_id] = {"filename": params["filename"], "content": None}
            return JSONResponse(
                {"ok": True, "upload_url": f"{self.base_url}/upload/{file_id}", "file_id": file_id}
            )
        if method == "files.completeUploadExternal":
            # Step 3: the uploaded files are shared in the channel (and thread).
            files = orjson.loads(str(params.get("files") or "[]"))
            shared = []
            for item in files:
                pending = self.pending_uploads.pop(item["id"], None)
                if pending is None or pending["content"] is None:
                    return JSONResponse({"ok": False, "error": "file_not_found"})
                self.uploaded.append(
                    {
                        **pending,
                        "id": item["id"],
                        "title": item.get("title"),
                        "channel": params.get("channel_id"),
                        "thread_ts": params.get("thread_ts"),
                        "via": params["_token"],
                    }
                )
                shared.append({"id": item["id"], "title": item.get("title")})
            return JSONResponse({"ok": True, "files": shared})
        return JSONResponse({"ok": False, "error": "unknown_method"}, status_code=404)

    async def upload(self, request: Request) -> Response:
        """Step 2: the bytes, posted to the URL step 1 gave."""
        pending = self.pending_uploads.get(request.path_params["file"])
        if pending is None:
            return Response("unknown upload", status_code=404)
        pending["content"] = await request.body()
        return Response(f"OK - {len(pending['content'])}", status_code=200)

    async def download(self, request: Request) -> Response:
        if request.headers.get("authorization") not in (f"Bearer {TOKEN}", f"Bearer {OTHER_TOKEN}"):
            return Response(status_code=403)
        name = request.path_params["file"]
        self.downloads.append(name)
        if name in self.after:
            await self._unless_released(self._gave_up(self.after[name]).wait())
        if name in self.held:
            await self._unless_released(_disconnected(request))
            self.given_up.append(name)
            self._gave_up(name).set()
            return Response(status_code=503)
        content = self.files.get(name)
        return Response(content, 200) if content is not None else Response(status_code=404)

    def _gave_up(self, name: str) -> asyncio.Event:
        return self._given_up.setdefault(name, asyncio.Event())

    async def _unless_released(self, wait: Coroutine[Any, Any, Any]) -> None:
        waiting = asyncio.ensure_future(wait)
        released = asyncio.ensure_future(self.release.wait())
        await asyncio.wait([waiting, released], return_when=asyncio.FIRST_COMPLETED)
        for task in (waiting, released):
            task.cancel()
        await asyncio.gather(waiting, released, return_exceptions=True)


def _blocks_error(blocks: Any) -> str | None:
    """What Slack would refuse in a message's blocks (the limits of Block Kit's reference,
    those our messages could reach), or None."""
    if isinstance(blocks, str):  # sent form-encoded, blocks are a JSON string
        blocks = orjson.loads(blocks)
    if not isinstance(blocks, list) or not 0 < len(blocks) <= 50:
        return "blocks must be a list of 1 to 50 blocks"
    for n, block in enumerate(blocks):
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "section":
            text = block.get("text") or {}
            if (
                text.get("type") not in ("plain_text", "mrkdwn")
                or not 0 < len(text.get("text", "")) <= 3000
            ):
                return f"[{n}] a section's text is plain_text or mrkdwn of 1 to 3000 characters"
        elif kind == "actions":
            elements = block.get("elements") or []
            ids = [e.get("action_id") for e in elements]
            if not 0 < len(elements) <= 25 or len(set(ids)) != len(ids):
                return f"[{n}] an actions block holds 1 to 25 elements with distinct action_ids"
            for element in elements:
                label = element.get("text") or {}
                if element.get("type") != "button" or label.get("type") != "plain_text":
                    return f"[{n}] a button has a plain_text label"
                if not 0 < len(label.get("text", "")) <= 75:
                    return f"[{n}] a button's label is 1 to 75 characters"
        elif kind == "context":
            if not 0 < len(block.get("elements") or []) <= 10:
                return f"[{n}] a context block holds 1 to 10 elements"
        elif kind == "input":
            label, element = block.get("label") or {}, block.get("element") or {}
            if label.get("type") != "plain_text" or not 0 < len(label.get("text", "")) <= 2000:
                return f"[{n}] an input's label is plain_text of 1 to 2000 characters"
            hint = block.get("hint")
            if hint is not None and (
                hint.get("type") != "plain_text" or not 0 < len(hint.get("text", "")) <= 2000
            ):
                return f"[{n}] an input's hint is plain_text of 1 to 2000 characters"
            if element.get("type") != "plain_text_input" or not element.get("action_id"):
                return f"[{n}] our inputs hold a plain_text_input with an action_id"
            if not 0 < int(element.get("max_length", 3000)) <= 3000:
                return f"[{n}] a plain_text_input's max_length is 1 to 3000"
            # In a message (not a modal) an input is only ever sent by dispatching it.
            if block.get("dispatch_action") is not True:
                return f"[{n}] an input in a message needs dispatch_action"
        else:
            return f"[{n}] unknown block type {kind!r}"
    return None


async def _disconnected(request: Request) -> None:
    """Until the client hangs up (ASGI's http.disconnect, once the request is read)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


@contextlib.asynccontextmanager
async def slack_api() -> AsyncIterator[SlackApi]:
    api = SlackApi()
    app = Starlette(
        routes=[
            Route("/api/{method}", api.handle, methods=["GET", "POST"]),
            Route("/files/{file}", api.download, methods=["GET"]),
            Route("/upload/{file}", api.upload, methods=["POST"]),
        ]
    )
    async with serving(app) as base_url:
        api.base_url = base_url
        try:
            yield api
        finally:
            api.release.set()


def signed(
    body: bytes, *, secret: str = SIGNING_SECRET, timestamp: str | None = None
) -> dict[str, str]:
    """The headers Slack sends with an event: its timestamp and v0 signature."""
    stamp = timestamp if timestamp is not None else str(int(time.time()))
    base = b"v0:" + stamp.encode() + b":" + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": f"v0={digest}",
        "Content-Type": "application/json",
    }


def message_event(
    n: int,
    text: str,
    *,
    user: str = "U0ADA",
    channel: str = "C0SUPPORT",
    thread_ts: str | None = None,
    kind: str = "message",
    team: str = TEAM,
    **extra: Any,
) -> dict[str, Any]:
    ts = f"1700000{n:03d}.{n:06d}"
    event: dict[str, Any] = {
        "type": kind,
        "user": user,
        "text": text,
        "ts": ts,
        "channel": channel,
        "event_ts": ts,
        "channel_type": "im" if channel.startswith("D") else "channel",
        **extra,
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    return {
        "token": "legacy",
        "team_id": team,
        "api_app_id": "A0APP",
        "type": "event_callback",
        "event_id": f"Ev{n:06d}{kind[:3]}",
        "event_time": 1700000000 + n,
        "event": event,
    }


def _envelope(
    message_now: dict[str, Any], user: str, team: str, actions: list[dict[str, Any]]
) -> dict[str, Any]:
    """A ``block_actions`` payload on the message ``message_now`` (as it is shown)."""
    channel = str(message_now["channel"])
    container = {
        "type": "message",
        "message_ts": message_now["ts"],
        "channel_id": channel,
        "is_ephemeral": False,
    }
    message: dict[str, Any] = {
        "bot_id": "B0BOT",
        "type": "message",
        "text": message_now["text"],
        "user": "U0BOT",
        "ts": message_now["ts"],
        "blocks": message_now.get("blocks") or [],
    }
    if message_now.get("thread_ts"):
        container["thread_ts"] = message["thread_ts"] = message_now["thread_ts"]
    return {
        "type": "block_actions",
        "user": {"id": user, "username": "ada", "name": "ada", "team_id": team},
        "api_app_id": "A0APP",
        "token": "legacy",
        "container": container,
        "trigger_id": "13345224609.738474920.8088930838d88f008e0",
        "team": {"id": team, "domain": "acme"},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {
            "id": channel,
            "name": "directmessage" if channel.startswith("D") else "support",
        },
        "message": message,
        "state": {"values": {}},
        "response_url": "https://hooks.slack.com/actions/A0APP/1/x",
        "actions": actions,
    }


def block_actions(
    question: dict[str, Any],
    action_id: str,
    *,
    user: str = "U0ADA",
    team: str = TEAM,
    action_ts: str | None = None,
) -> dict[str, Any]:
    """The payload Slack posts when ``user`` presses the button ``action_id`` under the
    message ``question`` (as the stand-in recorded it posted)."""
    button = next(
        e
        for b in question.get("blocks") or []
        if b.get("type") == "actions"
        for e in b["elements"]
        if e["action_id"] == action_id
    )
    pressed = {
        "action_id": action_id,
        "block_id": "csat",
        "text": button["text"],
        "value": button.get("value"),
        "type": "button",
        "action_ts": action_ts or f"{time.time():.6f}",
    }
    return _envelope(question, user, team, [pressed])


def input_sent(
    message_now: dict[str, Any],
    value: str,
    *,
    user: str = "U0ADA",
    team: str = TEAM,
) -> dict[str, Any]:
    """The payload Slack posts when ``user`` types ``value`` into the (dispatching) input of
    the message as it is now shown (``SlackApi.shown``) and presses Enter: the action with
    its value, and the input's value in ``state.values`` as well."""
    [block] = [b for b in message_now.get("blocks") or [] if b.get("type") == "input"]
    action_id = block["element"]["action_id"]
    payload = _envelope(
        message_now,
        user,
        team,
        [
            {
                "type": "plain_text_input",
                "block_id": block["block_id"],
                "action_id": action_id,
                "value": value,
                "action_ts": f"{time.time():.6f}",
            }
        ],
    )
    payload["state"] = {
        "values": {block["block_id"]: {action_id: {"type": "plain_text_input", "value": value}}}
    }
    return payload


def interaction(payload: dict[str, Any] | bytes) -> bytes:
    """The form-encoded body Slack posts to the interactivity URL: one ``payload`` field."""
    raw = payload if isinstance(payload, bytes) else orjson.dumps(payload)
    return urlencode({"payload": raw.decode()}).encode()
