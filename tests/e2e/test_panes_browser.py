"""At phone width the console shows one view at a time, the list, the conversation (its
context under it) or the context alone, with a bar to move between them; at desktop width
every column stays and the bar does not show."""

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


async def test_a_phone_shows_list_conversation_and_context_one_at_a_time(
    browser: Browser, site: RunningServer, contexts: list[BrowserContext]
) -> None:
    await conversation_in(site, demo.WEBCHAT_INBOX, "my order never came")
    sam = await person(site, demo.BRAND_SLUG, "supervisor")
    phone = await console_page(browser, contexts, 390, 844)
    await phone.sign_in(site.base_url, sam, PASSWORD)
    page = phone.page
    nav, transcript, panel = (
        page.locator("nav"),
        page.locator("#transcript"),
        page.locator("#context-panel"),
    )
    await expect(page.locator("#pane-bar")).to_be_hidden()
    await phone.open("my order never came")
    await expect(nav).to_be_hidden()
    await expect(transcript).to_be_visible()
    await expect(panel).to_be_visible()  # under the conversation, a scroll away
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / "panes-conversation-390.png"))

    await page.get_by_role("button", name="Customer details").click()
    await expect(transcript).to_be_hidden()
    await expect(panel.locator(".cp-name")).to_be_in_viewport()
    await page.screenshot(path=str(SHOTS / "panes-context-390.png"))
    await page.get_by_role("button", name="Conversation", exact=True).click()
    await expect(transcript).to_be_visible()

    await page.get_by_role("button", name="← Conversations").click()
    await expect(nav).to_be_visible()
    await expect(transcript).to_be_hidden()
    await expect(page.locator("#conversations li.active")).to_be_focused()
    await page.screenshot(path=str(SHOTS / "panes-list-390.png"))

    wide = await console_page(browser, contexts)
    await wide.sign_in(site.base_url, sam, PASSWORD)
    await wide.open("my order never came")
    for part in ("nav", "#transcript", "#context-panel"):
        await expect(wide.page.locator(part)).to_be_visible()
    await expect(wide.page.locator("#pane-bar")).to_be_hidden()
    assert not phone.refused
    assert not wide.refused
