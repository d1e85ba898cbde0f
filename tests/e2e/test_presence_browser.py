"""Two agents in two browsers: each sees the other open and type in the same conversation,
in the list and above the reply box."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from server.services import demo
from tests.e2e.test_brands_browser import sign_in
from tests.e2e.test_browser import SHOTS
from tests.harness import RunningServer
from tests.web_console.brands import PASSWORD, person, two_brands

pytestmark = pytest.mark.browser


async def test_two_agents_see_each_other_in_one_conversation(
    browser: Browser, site: RunningServer
) -> None:
    shop, _ = await two_brands(site)
    lea = await person(site, demo.BRAND_SLUG, "agent", ["support"])
    sam = await person(site, demo.BRAND_SLUG, "supervisor")
    pages = []
    for email in (lea, sam):
        page = await (await browser.new_context()).new_page()
        await sign_in(page, site.base_url, email, PASSWORD)
        await page.click("#tabs [data-view=open]")
        await page.locator("#conversations li").first.click()
        pages.append(page)
    lea_page, sam_page = pages
    await expect(lea_page.locator("#presence")).to_have_text("supervisor of demo is viewing")
    await expect(lea_page.locator("#conversations li .viewers")).to_have_text(
        "with supervisor of demo"
    )
    await sam_page.fill("#reply", "Let me check the parcel")
    await expect(lea_page.locator("#presence")).to_contain_text("supervisor of demo is typing…")
    await lea_page.screenshot(path=str(SHOTS / "console-presence.png"))
    await sam_page.context.close()
    await expect(lea_page.locator("#presence")).to_be_hidden()
    _ = shop
