"""The Bot area in a real Chromium (issue 19, read-only): a designer signs in and the console
opens on it (no conversation tabs); the features the shipped project asks for that the
embedded engine does not run are listed with file and line; by keyboard alone they search
the intents, open one and read its examples with the entities marked, then the responses and
the rules and stories. axe finds no serious violation. Screenshots at 1280 and 390 px
(var/screenshots/bot-*.png)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, expect

from nlu.project import SHIPPED_PROJECT
from server.services import demo
from tests.e2e.axe import blocking, violations
from tests.e2e.bot_area import bot_area_for_axe, press_on
from tests.e2e.test_browser import SHOTS
from tests.e2e.test_context_panel import console_page, contexts
from tests.harness import RunningServer, free_port, run_server, settings_for
from tests.web_console.brands import PASSWORD, person

pytestmark = pytest.mark.browser
__all__ = ["contexts"]  # the fixture, imported for this module's tests


@pytest.fixture(scope="module")
def nlu_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("nlu-cache")


@pytest.fixture
async def bot_site(dsn: str, tmp_path: Path, nlu_cache: Path) -> AsyncIterator[RunningServer]:
    settings = settings_for(
        dsn,
        tmp_path,
        port=free_port(),
        allowed_origins=[],
        nlu_engine="embedded",
        nlu_project=SHIPPED_PROJECT,
        nlu_cache_dir=nlu_cache,
    )
    async with run_server(settings) as running:
        yield running


@pytest.mark.parametrize("width", [1280, 390])
async def test_a_designer_reads_the_bot_by_keyboard(
    browser: Browser, bot_site: RunningServer, contexts: list[BrowserContext], width: int
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    designer = await person(bot_site, demo.BRAND_SLUG, "designer")
    console = await console_page(browser, contexts, width, 800 if width > 600 else 844)
    page = console.page
    await console.sign_in(bot_site.base_url, designer, PASSWORD)

    # A designer reads no conversation: the console opens on the Bot area, without the lists.
    await expect(page.locator("#bot-area")).to_be_visible()
    await expect(page.locator("#bot-tab")).to_have_attribute("aria-selected", "true")
    await expect(page.locator('#tabs .tab[data-view="queue"]')).to_be_hidden()
    await expect(page.locator("#knowledge-tab")).to_be_hidden()
    await expect(page.locator("#bot-summary")).to_contain_text("embedded")
    # The shipped config names TEDPolicy: the engine says so, with file and line.
    ted = page.locator("#bot-unsupported li", has_text="TEDPolicy")
    await expect(ted.locator(".bot-where")).to_have_text(re.compile(r"^config\.yml:\d+$"))
    await expect(ted.locator(".bot-instead")).to_contain_text("story")
    await expect(page.locator("#bot-intents tbody tr")).not_to_have_count(0)
    await page.screenshot(path=str(SHOTS / f"bot-intents-{width}.png"), full_page=True)

    # Search, then open an intent by keyboard: its examples, the order number marked.
    await page.locator("#bot-search").focus()
    await page.keyboard.type("order_st")
    await expect(page.locator("#bot-intents tbody tr")).to_have_count(1)
    await page.keyboard.press("Tab")
    await expect(page.locator('[data-intent="order_status"]')).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page.locator("#bot-intent-heading")).to_be_focused()
    marked = page.locator("#bot-intent li", has_text="where is my order 10234").locator("mark")
    await expect(marked).to_have_text("10234order_number")
    await expect(page.locator("#bot-intent h4").first).to_contain_text("examples")
    await page.screenshot(path=str(SHOTS / f"bot-intent-{width}.png"), full_page=True)
    await press_on(page, "#bot-back")
    await expect(page.locator('[data-intent="order_status"]')).to_be_focused()

    await press_on(page, "#bot-show-responses")
    greet = page.locator("#bot-responses > li", has_text="utter_greet")
    await expect(greet.locator(".bot-variations > li")).to_have_count(2)
    await greet.screenshot(path=str(SHOTS / f"bot-response-{width}.png"))
    await press_on(page, "#bot-show-flows")
    damaged = page.locator("#bot-flows > li", has_text="damaged item")
    await expect(damaged.locator("code")).to_contain_text("data/rules.yml:")
    await expect(damaged.locator(".bot-step")).to_have_count(3)
    await page.screenshot(path=str(SHOTS / f"bot-flows-{width}.png"), full_page=True)
    await damaged.screenshot(path=str(SHOTS / f"bot-rule-{width}.png"))


async def test_axe_finds_no_serious_violation_in_the_bot_area(
    browser: Browser, bot_site: RunningServer, contexts: list[BrowserContext]
) -> None:
    admin = await person(bot_site, demo.BRAND_SLUG, "admin")
    found: list[str] = []
    for width in (1280, 390):
        page = await bot_area_for_axe(browser, bot_site, admin, width, contexts)
        await expect(page.locator("#bot-intents tbody tr")).not_to_have_count(0)
        found += [f"intents@{width}: {v}" for v in blocking(await violations(page))]
        await page.locator('[data-intent="order_status"]').click()
        await expect(page.locator("#bot-intent mark").first).to_be_visible()
        found += [f"intent@{width}: {v}" for v in blocking(await violations(page))]
        await page.click("#bot-show-flows")
        await expect(page.locator("#bot-flows > li").first).to_be_visible()
        found += [f"flows@{width}: {v}" for v in blocking(await violations(page))]
    assert found == [], "\n".join(found)
