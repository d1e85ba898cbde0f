"""Search in the console: an agent finds a customer's words and opens the conversation; the
other brand's customer is never found."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from server.services import demo
from tests.e2e.test_brands_browser import sign_in
from tests.e2e.test_browser import SHOTS
from tests.harness import RunningServer
from tests.web_console.brands import PASSWORD, message_from, person, two_brands

pytestmark = pytest.mark.browser


async def test_an_agent_searches_and_opens_what_they_find(
    browser: Browser, site: RunningServer
) -> None:
    shop, outdoor = await two_brands(site)
    await message_from(site, demo.WEBCHAT_INBOX, shop, "the zipper of my backpack broke")
    await message_from(site, demo.OTHER_WEBCHAT_INBOX, outdoor, "the zipper of my tent broke")
    lea = await person(site, demo.BRAND_SLUG, "agent", ["support"])
    for width in (1280, 390):
        page = await (
            await browser.new_context(viewport={"width": width, "height": 800})
        ).new_page()
        await sign_in(page, site.base_url, lea, PASSWORD)
        await page.get_by_role("searchbox", name="Search messages and customers").fill("zipper")
        hits = page.locator("#search-results .search-hit")
        await expect(hits).to_have_count(1)
        await expect(hits.first).to_contain_text("backpack")
        await page.screenshot(path=str(SHOTS / f"console-search-{width}.png"))
        if width == 1280:
            await hits.first.press("Enter")
            await expect(page.locator("#messages")).to_contain_text("the zipper of my backpack")
            # Escape brings the list back.
            await page.get_by_role("searchbox").press("Escape")
            await expect(page.locator("#conversations")).to_be_visible()
        await page.close()
