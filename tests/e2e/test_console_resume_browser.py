"""The console page resumes from a position the server vouched for (issue 21), in Chromium."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from playwright.async_api import Browser, WebSocket, expect

from tests.e2e.test_browser import login
from tests.harness import RunningServer
from tests.web_console.console_client import frames_of
from tests.web_console.test_console import customer_says


async def test_after_a_drop_the_console_resumes_from_the_welcome_not_the_highest_id_seen(
    browser: Browser, site: RunningServer
) -> None:
    """Events commit out of id order, so the highest id a console saw live is no safe place
    to resume from (an event with a lower id may still be on its way). The page resumes
    from the welcome's last_event_id (or a checkpoint's), and the replay brings again what
    it saw live after it."""
    page = await (await browser.new_context()).new_page()
    sent: list[dict[str, Any]] = []
    received: list[dict[str, Any]] = []
    welcomed_again = asyncio.Event()

    def heard(payload: str | bytes) -> None:
        # The page says batch in its hello: frames queued together come in one message.
        received.extend(frames_of(payload))
        if sum(f["type"] == "welcome" for f in received) == 2:
            welcomed_again.set()

    def watch(ws: WebSocket) -> None:
        if ws.url.endswith("/console/ws"):
            ws.on("framesent", lambda payload: sent.append(json.loads(payload)))
            ws.on("framereceived", heard)

    page.on("websocket", watch)
    await login(page, site.base_url)
    [welcome] = [f for f in received if f["type"] == "welcome"]
    await customer_says(site, "while the console watches")
    # Shown, so the frames that brought it have come (Playwright reports them in order).
    item = page.locator("#conversations li", has_text="while the console watches")
    await expect(item).to_be_visible()
    seen_live = [f["id"] for f in received if f["type"] == "event" and f["id"]]
    assert seen_live, "the conversation's events came live"
    assert max(seen_live) > welcome["last_event_id"]

    # The node drops the console's socket (what a restart does); the page comes back.
    before = len(received)
    for client in list(site.services.console_hub._clients):
        await client.ws.close(1012, "restarting")
    await asyncio.wait_for(welcomed_again.wait(), 20)
    await expect(page.locator("#live")).to_have_text("live")

    hellos = [f for f in sent if f["type"] == "hello"]
    assert len(hellos) == 2
    assert all(hello["batch"] for hello in hellos)
    assert hellos[1]["last_event_id"] == welcome["last_event_id"]
    # The replay brought again what came live after that position (merged by id).
    replayed = [f["id"] for f in received[before:] if f["type"] == "event"]
    assert set(seen_live) <= set(replayed)
