"""Keyboard only, in Chromium: an agent signs in, reaches the queue, opens a conversation,
claims it, replies, adds an internal note and resolves it, with Tab, Shift+Tab, Enter and
typing (no click), at 1280 and 390 px; a screenshot of each focused control."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, Page, expect

from server.services import demo
from tests.e2e.test_browser import SHOTS
from tests.harness import RunningServer
from tests.web_console.brands import conversation_in

pytestmark = pytest.mark.browser

# More presses than any control is away from the one before it; a control past this is as
# good as unreachable.
MAX_PRESSES = 60


async def tab_to(page: Page, selector: str, shot: str, backwards: bool = False) -> None:
    """Press Tab (or Shift+Tab) until ``selector`` has the focus, then screenshot it."""
    key = "Shift+Tab" if backwards else "Tab"
    for _ in range(MAX_PRESSES):
        if await page.evaluate("(s) => document.activeElement?.matches(s) ?? false", selector):
            await page.screenshot(path=str(SHOTS / f"keyboard-{shot}.png"))
            # A focused control shows it: an outline or a box shadow (on it, or on the label
            # that stands for a visually hidden input).
            ring = await page.evaluate(
                """() => { const shows = (e) => { const s = getComputedStyle(e);
                        return s.outlineStyle !== 'none' && s.outlineWidth !== '0px'
                            || s.boxShadow !== 'none'; };
                    const e = document.activeElement;
                    return shows(e) || (e.closest('label') !== null && shows(e.closest('label')));
                }"""
            )
            assert ring, f"{selector} shows no focus"
            return
        await page.keyboard.press(key)
    raise AssertionError(f"{selector} is not reachable with {key}")


@pytest.mark.parametrize("width", [1280, 390])
async def test_an_agent_works_a_conversation_with_the_keyboard_alone(
    browser: Browser, site: RunningServer, width: int
) -> None:
    await conversation_in(site, demo.WEBCHAT_INBOX, "my parcel never came")
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = await browser.new_context(
        viewport={"width": width, "height": 800 if width > 600 else 844}
    )
    page = await context.new_page()
    await page.goto(f"{site.base_url}/console")

    await tab_to(page, "input[name=email]", f"{width}-email")
    await page.keyboard.type(demo.AGENT_EMAIL)
    await tab_to(page, "input[name=password]", f"{width}-password")
    await page.keyboard.type(demo.AGENT_PASSWORD)
    await page.keyboard.press("Enter")
    await expect(page.locator("#live")).to_have_text("live")

    # The queue's item, then Enter opens it.
    await tab_to(page, "#conversations li[data-conversation-id]", f"{width}-queue-item")
    await page.keyboard.press("Enter")
    await expect(page.locator("#messages li[data-author=customer]")).to_contain_text(
        ["my parcel never came"]
    )
    await tab_to(page, "#claim", f"{width}-claim")
    await page.keyboard.press("Enter")
    await expect(page.locator("#thread-facts")).to_contain_text("assigned")

    await tab_to(page, "#reply", f"{width}-reply")
    await page.keyboard.type("Sorry about that, a new one ships today.")
    await page.keyboard.press("Enter")
    await expect(page.locator("#messages li[data-author=agent]")).to_contain_text(
        ["a new one ships today"]
    )

    # Files go with a reply through the Attach button's file input, which takes the focus.
    await tab_to(page, "#reply-files", f"{width}-attach")
    await tab_to(page, "#note-text", f"{width}-note")
    await page.keyboard.type("Sent a replacement, no refund needed")
    await tab_to(page, "#context-panel button[type=submit]", f"{width}-add-note")
    await page.keyboard.press("Enter")
    await expect(page.locator("#context-panel .note")).to_contain_text(["Sent a replacement"])

    await tab_to(page, "#resolve", f"{width}-resolve", backwards=True)
    await page.keyboard.press("Enter")
    await expect(page.locator("#resolve")).to_be_hidden()
    await expect(page.locator("#thread-facts")).to_contain_text("resolved")
    await context.close()
