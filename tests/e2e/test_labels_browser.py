"""Labels and list filters in a real Chromium: an agent labels the open conversation from
the keyboard, the list shows the label, the filter bar narrows the list to it (and to a
channel), and removing the label puts things back."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, BrowserContext, expect

from server.services import demo
from tests.e2e.test_browser import SHOTS
from tests.e2e.test_context_panel import console_page, contexts
from tests.harness import RunningServer
from tests.web_console.brands import PASSWORD, conversation_in, person

pytestmark = pytest.mark.browser
__all__ = ["contexts"]  # the fixture, shared with the context panel's tests


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)])
async def test_an_agent_labels_a_conversation_and_filters_the_list_by_it(
    browser: Browser, site: RunningServer, contexts: list[BrowserContext], width: int, height: int
) -> None:
    await conversation_in(site, demo.WEBCHAT_INBOX, "I want my money back")
    await conversation_in(site, demo.WEBCHAT_INBOX, "what are your opening hours")
    sam = await person(site, demo.BRAND_SLUG, "supervisor")
    console = await console_page(browser, contexts, width, height)
    await console.sign_in(site.base_url, sam, PASSWORD)
    page = console.page
    await page.click("#tabs [data-view=open]")
    items = page.locator("#conversations > li")
    await expect(items).to_have_count(2)
    await items.filter(has_text="money back").click()

    field = page.get_by_label("Add a label")
    await field.fill("Refund request")
    await field.press("Enter")
    chip = page.locator("#thread-labels .label")
    await expect(chip).to_have_text("refund-request\N{MULTIPLICATION SIGN}")
    await expect(items.filter(has_text="money back").locator(".label")).to_have_text(
        "refund-request"
    )
    await expect(field).to_have_value("")

    # A label that cannot be one is refused with the reason; nothing changes.
    await field.fill("<b>")
    await field.press("Enter")
    await expect(page.locator("#thread-labels [role=alert]")).to_contain_text("letters and digits")
    await expect(chip).to_have_count(1)
    await field.press("Escape")

    if width < 700:  # one view at a time: back to the list
        await page.click("#pane-back")
    await page.click("#filter-toggle")
    await page.select_option("#filter-label", "refund-request")
    await expect(items).to_have_count(1)
    await expect(items.first).to_contain_text("money back")
    await expect(page.locator("#filter-toggle")).to_contain_text("(1)")
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"labels-filtered-{width}.png"))
    await page.select_option("#filter-channel", "email")
    await expect(items.first).to_have_class("empty")
    await page.click("text=Clear filters")
    await expect(items).to_have_count(2)

    await items.filter(has_text="money back").click()  # (at 390 px, back to the conversation)
    await page.get_by_role("button", name="Remove label refund-request").click()
    await expect(chip).to_have_count(0)
    await expect(items.locator(".label")).to_have_count(0)
    assert not console.refused
