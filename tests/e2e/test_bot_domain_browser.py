"""The Bot area's "Slots and forms" section in a real Chromium (issue 19, read-only): a
designer opens it by keyboard and reads the shipped project's slots with their type and
mappings, and its custom actions with what runs them (no action server here: a person takes
over). Screenshots at 1280 and 390 px (var/screenshots/bot-domain-*.png)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, expect

from server.services import demo
from tests.e2e.bot_area import press_on
from tests.e2e.test_bot_studio_browser import nlu_cache, project, studio_site
from tests.e2e.test_bot_training_browser import shoot
from tests.e2e.test_browser import SHOTS
from tests.e2e.test_context_panel import console_page, contexts
from tests.harness import RunningServer
from tests.web_console.brands import PASSWORD, person

pytestmark = pytest.mark.browser
__all__ = ["contexts", "nlu_cache", "project", "studio_site"]  # fixtures, imported


@pytest.mark.parametrize("width", [1280, 390])
async def test_a_designer_reads_the_slots_and_custom_actions(
    browser: Browser,
    studio_site: RunningServer,
    contexts: list[BrowserContext],
    project: Path,
    width: int,
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    designer = await person(studio_site, demo.BRAND_SLUG, "designer")
    console = await console_page(browser, contexts, width, 800 if width > 600 else 844)
    page = console.page
    await console.sign_in(studio_site.base_url, designer, PASSWORD)
    await press_on(page, "#bot-show-domain")
    await expect(page.locator("#bot-show-domain")).to_have_attribute("aria-pressed", "true")
    order = page.locator('#bot-slots li[data-slot="order_number"]')
    await expect(order).to_contain_text("text")
    await expect(order.locator(".bot-mappings li")).to_have_text(
        ["from_entity · entity order_number"]
    )
    await expect(page.locator("#bot-forms-heading")).to_be_visible()
    await expect(page.locator("#bot-action-server")).to_contain_text("No action server")
    await expect(page.locator('#bot-actions li[data-action="action_handoff"]')).to_contain_text(
        "run by Switchboard"
    )
    await expect(
        page.locator('#bot-actions li[data-action="action_check_order_status"]')
    ).to_contain_text(re.compile("run by Switchboard|goes to a person"))
    # Read-only: no save bar.
    await expect(page.locator("#bot-version-message")).to_have_count(0)
    await shoot(page, "#bot-domain", f"bot-domain-{width}.png")
