"""What the Bot area's browser tests share: pressing by keyboard alone, and the area opened
for axe at one width."""

from __future__ import annotations

from playwright.async_api import Browser, BrowserContext, Page

from tests.harness import RunningServer
from tests.web_console.brands import PASSWORD


async def press_on(page: Page, selector: str) -> None:
    """Focus the control and press Enter, as a keyboard user does (no click)."""
    await page.locator(selector).focus()
    await page.keyboard.press("Enter")


async def bot_area_for_axe(
    browser: Browser,
    site: RunningServer,
    email: str,
    width: int,
    contexts: list[BrowserContext],
) -> Page:
    """A page at ``width`` (a phone's height under 600 px), logged in as ``email``, on the Bot
    tab. bypass_csp: only so axe can be added to the page (tests/e2e/axe.py says why)."""
    context = await browser.new_context(
        viewport={"width": width, "height": 800 if width > 600 else 844}, bypass_csp=True
    )
    contexts.append(context)
    page = await context.new_page()
    await page.goto(f"{site.base_url}/console")
    await page.fill("input[name=email]", email)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("#login-form button[type=submit]")
    await page.click("#bot-tab")
    return page
