"""Driving the console by keyboard alone, as the browser tests of the Bot area do."""

from __future__ import annotations

from playwright.async_api import Page


async def press_on(page: Page, selector: str) -> None:
    """Focus the control and press Enter, as a keyboard user does (no click)."""
    await page.locator(selector).focus()
    await page.keyboard.press("Enter")
