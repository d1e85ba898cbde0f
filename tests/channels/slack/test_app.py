"""The Slack events adapter against a fake backend (the port) and the Web API stand-in: what
the backend is given to keep before Slack is answered, what Slack is answered (a precise 4xx
for bad input, never a 500), and what reading a kept event hands the backend."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import orjson
import pytest
from starlette.applications import Starlette

from channels.base import Attachment, Busy
from channels.slack.app import EVENTS_PATH, MAX_BODY, SlackEvents
from channels.slack.translate import Comment, Incoming, Rating
from channels.slack.web import SlackWeb
from tests import harness, slack_api
from tests.slack_api import SlackApi, message_event, signed


@dataclass
class Backend:
    """A SlackBackend that records what it is handed; ``failing`` makes every hold raise."""

    held: list[tuple[str, bytes]] = field(default_factory=list)
    stored: list[tuple[Incoming, tuple[Attachment, ...]]] = field(default_factory=list)
    retries: int = 0
    failing: bool = False
    busy: bool = False

    def admit(self) -> None:
        raise AssertionError("events are not admitted: hold says when it is busy")

    async def hold(self, event_id: str, body: bytes) -> None:
        if self.busy:
            raise Busy(7.0)
        if self.failing:
            raise RuntimeError("database unavailable")
        self.held.append((event_id, body))

    async def store(self, incoming: Incoming, attachments: tuple[Attachment, ...]) -> None:
        self.stored.append((incoming, attachments))

    def retried(self) -> None:
        self.retries += 1

    async def rate(self, rating: Rating) -> None:
        raise AssertionError("no button is pressed in these tests")

    async def comment(self, comment: Comment) -> None:
        raise AssertionError("no comment is typed in these tests")


@dataclass
class Adapter:
    api: SlackApi
    backend: Backend
    events: SlackEvents
    http: httpx.AsyncClient

    async def post(self, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
        return await self.http.post(EVENTS_PATH, content=body, headers=headers or signed(body))

    async def read_held(self) -> None:
        """What the service's drainer does with each kept event, after the answer."""
        for _, body in self.backend.held:
            await self.events.receive(orjson.loads(body))


@pytest.fixture
async def adapter() -> AsyncIterator[Adapter]:
    async with slack_api.slack_api() as api:
        backend = Backend()
        web = SlackWeb(token=slack_api.TOKEN, api_url=api.base_url + "/api/")
        # A short deadline for a message's files, so the held ones below are given up soon.
        events = SlackEvents(
            backend, web, signing_secret=slack_api.SIGNING_SECRET, files_seconds=1.0
        )
        async with (
            harness.serving(Starlette(routes=events.routes())) as base_url,
            httpx.AsyncClient(base_url=base_url, timeout=30) as http,
        ):
            yield Adapter(api, backend, events, http)
        await web.close()


def _with_files(n: int, names: list[str], base_url: str) -> bytes:
    files = [
        {
            "id": name,
            "name": f"{name}.txt",
            "mimetype": "text/plain",
            "url_private_download": f"{base_url}/files/{name}",
        }
        for name in names
    ]
    return orjson.dumps(message_event(n, "the logs", files=files, subtype="file_share"))


async def test_files_not_in_by_the_one_deadline_are_missing_and_the_message_is_stored(
    adapter: Adapter,
) -> None:
    """One deadline for all of a message's files, not one per file: two files the file server
    never sends, one it sends only once the first of those is given up (so only after the
    deadline), and one it sends at once. The message is stored with that one, the other three
    noted as missing, and Slack answered 200."""
    api = adapter.api
    api.files.update({"F1": b"one", "F2": b"two", "F3": b"three", "F4": b"four"})
    api.held.update({"F1", "F4"})
    api.after["F2"] = "F1"
    response = await adapter.post(_with_files(1, ["F1", "F2", "F3", "F4"], api.base_url))
    assert response.status_code == 200
    assert adapter.backend.stored == []  # kept; read after the answer
    await adapter.read_held()
    [(incoming, attachments)] = adapter.backend.stored
    assert [(a.filename, a.content) for a in attachments] == [("F3.txt", b"three")]
    assert incoming.meta["missing_files"] == ["F1.txt", "F2.txt", "F4.txt"]


async def test_a_message_whose_files_all_arrive_has_none_missing(adapter: Adapter) -> None:
    api = adapter.api
    api.files.update({"F1": b"one", "F2": b"two"})
    response = await adapter.post(_with_files(2, ["F1", "F2"], api.base_url))
    assert response.status_code == 200
    await adapter.read_held()
    [(incoming, attachments)] = adapter.backend.stored
    assert [a.content for a in attachments] == [b"one", b"two"]
    assert "missing_files" not in incoming.meta


async def test_a_backend_that_cannot_keep_the_event_is_a_503_so_slack_retries(
    adapter: Adapter,
) -> None:
    adapter.backend.failing = True
    body = orjson.dumps(message_event(3, "hello?"))
    assert (await adapter.post(body)).status_code == 503


async def test_retries_are_counted_and_bad_timestamps_refused(
    adapter: Adapter,
) -> None:
    body = orjson.dumps(message_event(4, "hello again"))
    retry = {**signed(body), "X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    assert (await adapter.post(body, retry)).status_code == 200
    assert adapter.backend.retries == 1
    for stamp in ("17000000a0", "", "1" * 13):
        assert (await adapter.post(body, signed(body, timestamp=stamp))).status_code == 401
    assert [event_id for event_id, _ in adapter.backend.held] == ["Ev000004mes"]


async def test_events_that_are_not_a_customers_message_are_answered_and_not_stored(
    adapter: Adapter,
) -> None:
    body = orjson.dumps(message_event(5, "from a bot", bot_id="B0OTHER"))
    assert (await adapter.post(body)).status_code == 200
    other = orjson.dumps({"type": "app_rate_limited", "minute_rate_limited": 1})
    assert (await adapter.post(other)).status_code == 200
    assert adapter.backend.held == []


async def test_at_capacity_slack_is_told_when_to_retry_and_nothing_is_stored(
    adapter: Adapter,
) -> None:
    adapter.backend.busy = True
    response = await adapter.post(orjson.dumps(message_event(4, "hello?")))
    assert response.status_code == 503
    assert response.headers["retry-after"] == "7"
    assert adapter.backend.held == []
    adapter.backend.busy = False
    assert (await adapter.post(orjson.dumps(message_event(4, "hello?")))).status_code == 200
    assert len(adapter.backend.held) == 1


async def test_bad_input_is_a_precise_4xx_and_nothing_is_kept(adapter: Adapter) -> None:
    """Signed but not JSON, not an object, a callback without an event_id, a challenge
    that is not a string: 400; a wrong or missing signature: 401 (before the body is
    read as JSON); over the cap: 413. Never a 500, and nothing kept."""
    event = message_event(6, "hello")
    no_id = orjson.dumps({k: v for k, v in event.items() if k != "event_id"})
    for body in (b"{not json", b"[1, 2]", b'"text"', no_id):
        assert (await adapter.post(body)).status_code == 400, body
    challenge = orjson.dumps({"type": "url_verification", "challenge": 5})
    assert (await adapter.post(challenge)).status_code == 400
    good = orjson.dumps(event)
    wrong = signed(good, secret="not-the-secret")
    assert (await adapter.post(good, wrong)).status_code == 401
    assert (await adapter.post(b"{not json", {"X-Slack-Request-Timestamp": "1"})).status_code == 401
    unsigned = {"Content-Type": "application/json"}
    assert (await adapter.http.post(EVENTS_PATH, content=good, headers=unsigned)).status_code == 401
    big = b" " * (MAX_BODY + 1)
    assert (await adapter.post(big)).status_code == 413
    assert adapter.backend.held == []


async def test_url_verification_is_answered_with_its_challenge(adapter: Adapter) -> None:
    body = orjson.dumps({"token": "x", "challenge": "abc123", "type": "url_verification"})
    response = await adapter.post(body)
    assert response.status_code == 200
    assert response.json() == {"challenge": "abc123"}


async def test_a_signed_body_that_is_not_utf8_is_a_400_not_a_500(adapter: Adapter) -> None:
    """The signature is checked over the bytes as they came (slack_sdk's verifier decoded
    them first, and a body that is not UTF-8 was then a 500)."""
    body = b'{"type": "event_callback", "x": "\xff"}'
    assert (await adapter.post(body)).status_code == 400
    assert (await adapter.post(body, signed(body, secret="not-the-secret"))).status_code == 401
    assert adapter.backend.held == []
