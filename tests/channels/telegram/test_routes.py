"""The webhook route over a fake backend (the port's other side): what reaches the server is
the update's bytes and id, and a body over MAX_BODY is refused without being read."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import orjson
import pytest
from starlette.applications import Starlette

from channels.base import Busy
from channels.telegram.port import RawUpdate
from channels.telegram.routes import MAX_BODY, WEBHOOK_PATH, routes
from tests.harness import serving
from tests.telegram_api import message_update

SECRET = "route-secret"
HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
# How long a response may take before the test calls the server stuck (never a measurement).
STUCK = 15


@dataclass
class FakeBackend:
    received: list[RawUpdate] = field(default_factory=list)
    failing: bool = False
    busy: bool = False

    async def receive(self, update: RawUpdate) -> None:
        if self.busy:
            raise Busy(2.0)
        if self.failing:
            raise ConnectionError("the store is down")
        self.received.append(update)


@pytest.fixture
async def webhook() -> AsyncIterator[tuple[str, FakeBackend]]:
    backend = FakeBackend()
    async with serving(Starlette(routes=routes(backend, SECRET))) as base_url:
        yield base_url, backend


async def _status_of_raw_request(base_url: str, head: bytes, body: bytes = b"") -> int:
    """Send a request as written (headers, then part of a body or none, never its end) and
    return the status the server answers with, while the request is still unfinished."""
    host, port = base_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(head + body)
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), STUCK)
        return int(status_line.split()[1])
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


def _head(extra: str) -> bytes:
    return (
        f"POST {WEBHOOK_PATH} HTTP/1.1\r\nHost: localhost\r\n"
        f"X-Telegram-Bot-Api-Secret-Token: {SECRET}\r\nContent-Type: application/json\r\n"
        f"{extra}\r\n"
    ).encode()


async def test_the_server_receives_the_updates_bytes_and_id(
    webhook: tuple[str, FakeBackend],
) -> None:
    base_url, backend = webhook
    body = orjson.dumps(message_update(41, "Where is my order?"))
    async with httpx.AsyncClient(base_url=base_url) as http:
        response = await http.post(WEBHOOK_PATH, content=body, headers=HEADERS)
    assert response.status_code == 200
    assert backend.received == [RawUpdate(41, body)]


async def test_wrong_secret_not_an_update_and_a_failing_store(
    webhook: tuple[str, FakeBackend],
) -> None:
    base_url, backend = webhook
    update = message_update(7)
    async with httpx.AsyncClient(base_url=base_url) as http:
        wrong = {"X-Telegram-Bot-Api-Secret-Token": "guess"}
        assert (await http.post(WEBHOOK_PATH, json=update, headers=wrong)).status_code == 401
        for body in (b"{not json", b'{"update": 1}', b"[]"):
            response = await http.post(WEBHOOK_PATH, content=body, headers=HEADERS)
            assert response.status_code == 400, body
        backend.busy = True
        response = await http.post(WEBHOOK_PATH, json=update, headers=HEADERS)
        assert response.status_code == 503  # at capacity: Telegram delivers it again later
        assert response.headers["retry-after"] == "2"
        backend.busy = False
        backend.failing = True
        response = await http.post(WEBHOOK_PATH, json=update, headers=HEADERS)
        assert response.status_code == 503  # Telegram delivers it again
    assert backend.received == []


async def test_a_declared_length_over_the_cap_is_refused_before_any_body_is_read(
    webhook: tuple[str, FakeBackend],
) -> None:
    """413 while the body has not even started: the route never waits for it."""
    base_url, backend = webhook
    status = await _status_of_raw_request(base_url, _head(f"Content-Length: {MAX_BODY + 1}\r\n"))
    assert status == 413
    assert backend.received == []


async def test_a_chunked_body_is_refused_once_it_passes_the_cap(
    webhook: tuple[str, FakeBackend],
) -> None:
    """No length to check first: the route counts what arrives and answers 413 as soon as it
    is over the cap, with the rest of the body still to come."""
    base_url, backend = webhook
    chunk = b"x" * 65536
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(MAX_BODY // 65536 + 1))
    status = await _status_of_raw_request(base_url, _head("Transfer-Encoding: chunked\r\n"), chunks)
    assert status == 413
    assert backend.received == []


async def test_a_body_up_to_the_cap_is_read_whole(webhook: tuple[str, FakeBackend]) -> None:
    base_url, backend = webhook
    update = message_update(9, "a" * 4096)
    body = orjson.dumps(update)
    padded = body[:-1] + b"," + b'"pad":"' + b"p" * (MAX_BODY - len(body) - 9) + b'"}'
    assert len(padded) == MAX_BODY
    async with httpx.AsyncClient(base_url=base_url) as http:
        response = await http.post(WEBHOOK_PATH, content=padded, headers=HEADERS)
    assert response.status_code == 200  # unknown fields are Telegram's to add
    assert backend.received == [RawUpdate(9, padded)]
