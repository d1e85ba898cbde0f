"""The widget's retry of a message the server did not store, in a real Chromium: the page,
the session request and the socket are Playwright's stand-ins, and the page's timers run on
Playwright's clock, so each wait is read to the millisecond."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, Route, WebSocketRoute, expect

pytestmark = pytest.mark.browser

WIDGET = Path(__file__).resolve().parents[2] / "channels" / "webchat" / "static" / "widget.js"
SHOP = "http://shop.test"
CHAT = "http://chat.test"
PAGE = f'<!doctype html><title>Shop</title><body><script src="{CHAT}/widget/widget.js"></script>'


class FakeNode:
    """The server's side of the widget's socket: every message is answered as ``answer``
    says (busy, unavailable or ack), and each one's arrival is kept."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self.answer: dict[str, Any] = {"type": "error", "code": "busy", "retry_after": 1.0}
        self.socket: WebSocketRoute | None = None

    def serve(self, ws: WebSocketRoute) -> None:
        self.socket = ws

        def received(raw: str | bytes) -> None:
            frame = json.loads(raw)
            if frame["type"] == "hello":
                ws.send(json.dumps({"type": "welcome", "visitor_id": "v1",
                                    "conversation_id": None, "resume_after": 0}))  # fmt: skip
            elif frame["type"] == "message":
                client_id = frame["client_id"]
                self.messages.append(client_id)
                ws.send(json.dumps({**self.reply(client_id), "client_id": client_id}))

        ws.on_message(received)

    def reply(self, client_id: str) -> dict[str, Any]:
        """The answer to a message (its client id is added to it)."""
        if self.answer["type"] == "ack":
            return {"type": "ack", "message_id": len(self.messages), "conversation_id": "c1",
                    "seq": 1, "duplicate": False}  # fmt: skip
        return dict(self.answer)

    async def count(self, wanted: int) -> None:
        """Until ``wanted`` messages have come (the socket is real, so it takes a moment)."""
        async with asyncio.timeout(10):
            while len(self.messages) < wanted:  # noqa: ASYNC110 (a count, not one event)
                await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)  # and no more than that
        assert len(self.messages) == wanted


async def open_widget(browser: Browser, node: FakeNode) -> Page:
    page = await (await browser.new_context()).new_page()
    # Math.random at its top: each busy wait is the hint and (nearly) half of it more.
    await page.add_init_script("Math.random = function () { return 0.999; };")
    await page.clock.install()

    async def shop(route: Route) -> None:
        await route.fulfill(content_type="text/html", body=PAGE)

    async def chat(route: Route) -> None:
        path = route.request.url.removeprefix(CHAT)
        if path == "/widget/widget.js":
            await route.fulfill(content_type="text/javascript", body=WIDGET.read_text())
        elif path == "/api/webchat/sessions":
            session = {"token": "t", "visitor_id": "v1", "greeting": "", "verified": True}
            await route.fulfill(status=201, json=session)
        else:
            await route.fulfill(status=404, body="")

    await page.route(f"{SHOP}/**", shop)
    await page.route(f"{CHAT}/**", chat)
    await page.route_web_socket(f"{CHAT.replace('http', 'ws')}/ws/webchat", node.serve)
    await page.goto(f"{SHOP}/")
    await expect(page.locator("[data-sb=status]")).to_have_text("online")
    # From here the page's time moves only when the test says.
    await page.clock.pause_at(await page.evaluate("Date.now()") + 100)
    return page


async def test_a_busy_message_is_offered_again_after_the_servers_hint_and_a_jitter(
    browser: Browser,
) -> None:
    """Told "busy", the widget offers its message again after the server's hint (at least
    1 s) and up to half of it more, each time, not growing (the server paces its crowd);
    "unavailable" waits 3 s each time."""
    node = FakeNode()
    page = await open_widget(browser, node)
    await page.fill("[data-sb=input]", "is my order on its way?")
    await page.press("[data-sb=input]", "Enter")
    await node.count(1)
    # With Math.random at 0.999: the hint, 1 s, and 0.4995 of it more, each time.
    sent = 1
    for _ in range(4):
        await page.clock.run_for(1495)
        await node.count(sent)
        await page.clock.run_for(5)
        sent += 1
        await node.count(sent)
    # Taken at last.
    node.answer = {"type": "ack"}
    await page.clock.run_for(1500)
    sent += 1
    await node.count(sent)
    # A longer hint (5 s) is kept: 7.5 s with the jitter.
    node.answer = {"type": "error", "code": "busy", "retry_after": 5.0}
    await page.fill("[data-sb=input]", "and the invoice?")
    await page.press("[data-sb=input]", "Enter")
    sent += 1
    await node.count(sent)
    await page.clock.run_for(7490)
    await node.count(sent)
    # Unavailable (the database away): 3 s each time, so the widgets resume within seconds
    # of its return.
    node.answer = {"type": "error", "code": "unavailable"}
    await page.clock.run_for(10)
    sent += 1
    await node.count(sent)
    for _ in range(3):
        await page.clock.run_for(2990)
        await node.count(sent)
        await page.clock.run_for(10)
        sent += 1
        await node.count(sent)


class BusyThenStoring(FakeNode):
    """Busy for its first ``busy`` message frames, then stores each client id once; the ids
    in the order they were stored. (The session's review of 3e5a0f6.)"""

    def __init__(self, busy: int) -> None:
        super().__init__()
        self.busy = busy
        self.stored: list[str] = []

    def reply(self, client_id: str) -> dict[str, Any]:
        if len(self.messages) <= self.busy:
            return {"type": "error", "code": "busy", "retry_after": 1.0}
        if client_id not in self.stored:
            self.stored.append(client_id)
        seq = len(self.stored)
        return {"type": "ack", "message_id": seq, "conversation_id": "c1", "seq": seq,
                "duplicate": False}  # fmt: skip


async def test_a_message_written_during_a_retry_wait_goes_after_the_waiting_one(
    browser: Browser,
) -> None:
    """A message the customer writes while an earlier one waits for its retry does not
    overtake it: the waiting ones go first, then it, so the agent reads them in the
    order they were written."""
    node = BusyThenStoring(busy=5)
    page = await open_widget(browser, node)
    await page.fill("[data-sb=input]", "first: my order 1234 is late")
    await page.press("[data-sb=input]", "Enter")
    await node.count(1)
    first = node.messages[0]
    sent = 1
    for _ in range(4):  # refused four more times, each retry 1.5 s after the last
        await page.clock.run_for(1500)
        sent += 1
        await node.count(sent)
    # The node is well again, the next retry 1.5 s away; the customer writes meanwhile.
    await page.clock.run_for(500)
    await page.fill("[data-sb=input]", "second: can you refund it?")
    await page.press("[data-sb=input]", "Enter")
    await node.count(sent + 2)
    second = node.messages[-1]
    assert node.stored == [first, second]
    # Nothing left waiting: no third offer when the old retry's time comes.
    await page.clock.run_for(5000)
    await node.count(sent + 2)
