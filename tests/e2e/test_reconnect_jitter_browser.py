"""Widgets and consoles told 1012 (a node restarting) or 1013 (try again) reconnect after a
random part of their back-off (full jitter, issue 21), so a node's thousands of sockets do
not come back in one instant. In Chromium, with Math.random fixed at 0.25 and the page's
setTimeout calls recorded: the wait the page asks for is checked, never how long it took."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from tests.e2e.test_browser import login
from tests.harness import RunningServer, until

# Before the page's scripts: each setTimeout of a function named `connect` is recorded.
RECORD = """
Math.random = () => 0.25;
window.__waits = [];
const plain = window.setTimeout;
window.setTimeout = function (fn, ms, ...rest) {
  if (typeof fn === "function" && fn.name === "connect") window.__waits.push(ms);
  return plain.call(window, fn, ms, ...rest);
};
"""


async def _waits(page: Page) -> list[float]:
    waits: list[float] = await page.evaluate("window.__waits")
    return waits


@pytest.mark.parametrize("code", [1012, 1013])
async def test_the_widget_reconnects_after_a_random_part_of_its_back_off(
    browser: Browser, site: RunningServer, code: int
) -> None:
    page = await (await browser.new_context()).new_page()
    await page.add_init_script(RECORD)
    await page.goto(site.base_url + "/")
    status = page.locator("[data-sb=status]")
    await expect(status).to_have_text("online")
    hub: Any = site.services.webchat_hub

    async def registered() -> bool:
        return bool(hub.connection_count)

    # The page shows "online" on the welcome frame, which the hub sends before it registers
    # the connection (the history read comes between): closing before then closes nothing.
    await until(registered)
    for conn in list(hub._all):
        await conn.ws.close(code, "restarting")
    await page.wait_for_function("() => window.__waits.length > 0")
    await expect(status).to_have_text("online")
    # A quarter of the first back-off (500 ms): the wait is drawn, not fixed.
    assert await _waits(page) == [125]


@pytest.mark.parametrize("code", [1012, 1013])
async def test_the_console_reconnects_after_a_random_part_of_its_back_off(
    browser: Browser, site: RunningServer, code: int
) -> None:
    page = await (await browser.new_context()).new_page()
    await page.add_init_script(RECORD)
    await login(page, site.base_url)
    for client in list(site.services.console_hub._clients):
        await client.ws.close(code, "restarting")
    await page.wait_for_function("() => window.__waits.length > 0")
    await expect(page.locator("#live")).to_have_text("live")
    assert await _waits(page) == [125]
