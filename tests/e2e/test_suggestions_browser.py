"""Suggested replies in a real Chromium: a customer handed over to a human, the agent opens
the conversation and finds three replies above the reply box, each saying where it came
from; a click (or Enter) puts one in the box to edit, and nothing is sent."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, BrowserContext, expect

from server.services import demo
from tests.e2e.test_browser import SHOTS
from tests.e2e.test_context_panel import console_page, contexts
from tests.harness import RunningServer
from tests.web_console.brands import PASSWORD, conversation_in, person, signed_in
from tests.web_console.test_suggestions import embedded, resolved, understood

pytestmark = pytest.mark.browser
__all__ = ["contexts"]  # the fixture, imported for this module's tests

LABEL = "I've emailed you a prepaid return label; the refund follows once the parcel arrives."
PICKUP = "A courier will collect the shoes tomorrow, and your refund is on its way."


async def test_the_agent_sees_three_suggestions_with_their_sources_and_puts_one_in_the_box(
    browser: Browser, site: RunningServer, contexts: list[BrowserContext]
) -> None:
    sam = await person(site, demo.BRAND_SLUG, "supervisor")
    http = await signed_in(site, sam)
    await resolved(
        site, http, demo.WEBCHAT_INBOX, "How do I return these shoes for a refund?", LABEL
    )
    await resolved(
        site, http, demo.WEBCHAT_INBOX, "I want to send the shoes back, refund me", PICKUP
    )
    await http.aclose()
    # Handed over at once (the tests' bot is off); the NLU's reading stored as it would be.
    now = await conversation_in(
        site,
        demo.WEBCHAT_INBOX,
        "This is the third time I ask: how do I return the shoes and get a refund?",
    )
    await understood(site, now.conversation_id, "return_refund", "en", -0.8)
    await embedded(site)

    SHOTS.mkdir(parents=True, exist_ok=True)
    for width, height in ((1280, 800), (390, 844)):
        console = await console_page(browser, contexts, width, height)
        page = console.page
        await console.sign_in(site.base_url, sam, PASSWORD)
        await console.open("third time I ask")
        cards = page.locator("#suggested-replies .sr-card")
        await expect(cards).to_have_count(3)
        await expect(cards.nth(0).locator(".sr-source")).to_contain_text("Bot answer")
        await expect(cards.nth(0).locator(".sr-source")).to_contain_text("return refund")
        # The apology is said once in the heading and marked on each card; the box gets it.
        await expect(cards.nth(0).locator(".sr-text")).to_contain_text("+ apology")
        await expect(cards.nth(0).locator(".sr-text")).to_contain_text("You can return any item")
        for n in (1, 2):
            await expect(cards.nth(n).locator(".sr-source")).to_contain_text(
                "Resolved a similar case"
            )
            await expect(cards.nth(n).locator(".sr-source")).to_contain_text("% similar")
        await expect(page.locator("#suggested-replies .sr-tone")).to_be_visible()
        # Above the reply box, whatever the width.
        box = await page.locator("#suggested-replies").bounding_box()
        form = await page.locator("#reply-form").bounding_box()
        assert box is not None
        assert form is not None
        assert box["y"] + box["height"] <= form["y"] + 1
        await page.locator("#reply-form").scroll_into_view_if_needed()
        await page.screenshot(path=str(SHOTS / f"console-suggestions-{width}.png"))
        reply = page.locator("#reply")
        if width == 1280:
            await cards.nth(1).click()
            await expect(reply).to_have_value(
                re.compile(r"^I'm sorry for the trouble.*(prepaid|courier)")
            )
            await expect(reply).to_be_focused()
        else:
            # From the keyboard: the card takes focus and Enter uses it.
            await cards.nth(0).focus()
            await page.keyboard.press("Enter")
            await expect(reply).to_have_value(
                re.compile(r"^I'm sorry for the trouble, .* You can return any item within 30 days")
            )
        await page.screenshot(path=str(SHOTS / f"console-suggestion-used-{width}.png"))
        assert console.refused == []
    # Nothing was sent: the conversation holds the customer's message alone.
    async with site.services.pool.acquire() as conn:
        sent = await conn.fetchval(
            "SELECT count(*) FROM messages"
            " WHERE conversation_id = $1::uuid AND author_kind = 'agent'",
            now.conversation_id,
        )
    assert sent == 0
