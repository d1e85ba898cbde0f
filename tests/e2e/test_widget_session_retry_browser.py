"""The widget asks for its session until it is given (issue 21): a 503 (the database away) or
a proxy's 502 (a node killed under the request) is asked again with the same key, so a try
that did reach a node gives the same visitor; a refusal that asking again cannot change is
not repeated. In Chromium, the session requests answered by the test (Playwright's routing)
until it lets one through to the server."""

from __future__ import annotations

from typing import Any

import orjson
from playwright.async_api import Browser, Route, expect

from tests.harness import RunningServer

SESSIONS = "**/api/webchat/sessions"
# The page's random draws at a quarter: each retry waits a quarter of its back-off.
QUARTER = "Math.random = () => 0.25;"
# Before the page's scripts: the session retries it schedules (setTimeout of `attempt`).
RECORD = """
window.__retries = 0;
const plain = window.setTimeout;
window.setTimeout = function (fn, ms, ...rest) {
  if (typeof fn === "function" && fn.name === "attempt") window.__retries += 1;
  return plain.call(window, fn, ms, ...rest);
};
"""


async def test_a_refused_session_is_asked_again_with_the_same_key_until_given(
    browser: Browser, site: RunningServer
) -> None:
    page = await (await browser.new_context()).new_page()
    await page.add_init_script(QUARTER)
    await page.add_init_script(RECORD)
    bodies: list[dict[str, Any]] = []

    async def refuse_twice(route: Route) -> None:
        bodies.append(orjson.loads(route.request.post_data or "{}"))
        if len(bodies) == 1:
            await route.fulfill(
                status=503,
                headers={"retry-after": "0"},
                json={"error": "unavailable; try again"},
            )
        elif len(bodies) == 2:
            # HAProxy's own page: not JSON.
            await route.fulfill(status=502, body="<html>502 Bad Gateway</html>")
        else:
            await route.continue_()

    await page.route(SESSIONS, refuse_twice)
    await page.goto(site.base_url + "/")
    await expect(page.locator("[data-sb=status]")).to_have_text("online")
    assert len(bodies) == 3
    assert await page.evaluate("window.__retries") == 2
    keys = {body["key"] for body in bodies}
    assert len(keys) == 1
    (key,) = keys
    assert len(key) == 32


async def test_a_refused_identity_is_not_asked_again(browser: Browser, site: RunningServer) -> None:
    page = await (await browser.new_context()).new_page()
    await page.add_init_script(QUARTER)
    asked: list[str] = []

    async def refuse(route: Route) -> None:
        asked.append(route.request.url)
        await route.fulfill(status=401, json={"error": "identifier_hash does not match"})

    await page.add_init_script(RECORD)
    await page.route(SESSIONS, refuse)
    await page.goto(site.base_url + "/")
    status = page.locator("[data-sb=status]")
    await expect(status).to_have_text("unavailable")
    await expect(status).to_have_attribute("title", "identifier_hash does not match")
    # A retry would have been scheduled before the refusal reached the status line.
    assert await page.evaluate("window.__retries") == 0
    assert len(asked) == 1
