"""axe-core on the console's main views and the widget, in Chromium: no serious or critical
WCAG 2.1 A/AA violation (login, queue, an open conversation with its context panel, search
results, the supervisor view, the People area, the Analytics area, the Knowledge area (list,
article, content gaps), the Account area, the Bot area; the widget open with messages), at
1280 and 390 px; and on each, every text field's and select's boundary 3:1 against what is
behind it (WCAG 1.4.11, tests/e2e/contrast.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from server.services import demo
from tests.e2e.axe import blocking, violations
from tests.e2e.contrast import field_contrast, too_faint
from tests.e2e.test_browser import SHOTS
from tests.harness import RunningServer
from tests.server.http.test_kb_agent import publish
from tests.web_console.brands import conversation_in, message_from

pytestmark = pytest.mark.browser


@pytest.fixture
async def audit_contexts(browser: Browser) -> AsyncIterator[list[BrowserContext]]:
    made: list[BrowserContext] = []
    yield made
    for context in made:
        await context.close()


async def audited_page(browser: Browser, contexts: list[BrowserContext], width: int) -> Page:
    # bypass_csp: only so axe can be added to the page (tests/e2e/axe.py says why).
    context = await browser.new_context(
        viewport={"width": width, "height": 800 if width > 600 else 844}, bypass_csp=True
    )
    contexts.append(context)
    return await context.new_page()


async def check(page: Page, view: str, width: int, found: dict[str, list[str]]) -> None:
    """axe's serious and critical violations, and the form fields whose boundary is under
    3:1 against what is behind them (1.4.11, which axe does not check)."""
    found[f"{view}@{width}"] = blocking(await violations(page)) + [
        f"non-text contrast: {line}" for line in too_faint(await field_contrast(page))
    ]
    await page.screenshot(path=str(SHOTS / f"a11y-{view}-{width}.png"), full_page=True)


@pytest.mark.parametrize("width", [1280, 390])
async def test_axe_finds_no_serious_or_critical_violation_on_the_main_views(
    browser: Browser, site: RunningServer, audit_contexts: list[BrowserContext], width: int
) -> None:
    shop = await conversation_in(site, demo.WEBCHAT_INBOX, "my parcel is late, order 10234")
    await message_from(site, demo.WEBCHAT_INBOX, shop, "hello? I am still waiting")
    await site.services.pipeline.settled()
    SHOTS.mkdir(parents=True, exist_ok=True)
    found: dict[str, list[str]] = {}

    page = await audited_page(browser, audit_contexts, width)
    await page.goto(f"{site.base_url}/console")
    await expect(page.locator("#login-form")).to_be_visible()
    await check(page, "login", width, found)

    await page.fill("input[name=email]", demo.AGENT_EMAIL)
    await page.fill("input[name=password]", demo.AGENT_PASSWORD)
    await page.click("#login-form button[type=submit]")
    await expect(page.locator("#live")).to_have_text("live")
    await expect(page.locator("#conversations li[data-conversation-id]")).to_have_count(1)
    await check(page, "queue", width, found)

    await page.locator("#conversations li", has_text="still waiting").click()
    await expect(page.locator("#context-panel .cp-name")).to_be_visible()
    await expect(page.locator("#messages li")).not_to_have_count(0)
    await check(page, "conversation", width, found)

    if width < 700:  # one view at a time (panes.js): back to the list and its search box
        await page.click("#pane-back")
    search = page.get_by_role("searchbox", name="Search messages and customers")
    await search.fill("parcel")
    await expect(page.locator("#search-results .search-hit")).not_to_have_count(0)
    await check(page, "search", width, found)
    await search.press("Escape")

    await page.click("#tabs [data-view=supervisor]")
    await expect(page.locator("#agent-table tbody tr")).not_to_have_count(0)
    await check(page, "supervisor", width, found)

    await page.click("#people-tab")
    await expect(page.locator("#people-area")).to_be_visible()
    await expect(page.locator("#people-area table tbody tr").first).to_be_visible()
    await check(page, "people", width, found)

    await publish(site, demo.BRAND_SLUG)
    await page.click("#knowledge-tab")
    await expect(page.locator("#knowledge-area .kb-open")).to_have_count(1)
    await check(page, "knowledge", width, found)
    await page.locator("#knowledge-area .kb-open").click()
    await expect(page.locator(".kb-rendered h2")).to_be_visible()
    await expect(page.locator("#kb-views")).to_be_visible()
    await check(page, "knowledge-article", width, found)
    await page.click("#kb-back")
    await page.click("#kb-gaps")
    await expect(page.locator(".kb-gaps .kb-count")).to_have_text("0 gaps")
    await check(page, "knowledge-gaps", width, found)

    await page.click("#analytics-tab")
    await expect(page.locator("#analytics-volume .analytics-table tbody tr")).to_have_count(1)
    await expect(page.locator("#analytics-area .analytics-tiles.headline")).to_contain_text("1")
    await check(page, "analytics", width, found)

    # The Bot area (issue 19); this server runs no engine, so it says so (its lists are
    # audited with the embedded engine in test_bot_area_browser.py).
    await page.click("#bot-tab")
    await expect(page.locator("#bot-summary")).to_contain_text("none")
    await check(page, "bot", width, found)

    await page.click("#account-button")
    await expect(page.locator("#account-sessions tbody tr")).to_have_count(1)
    await check(page, "account", width, found)

    customer = await audited_page(browser, audit_contexts, width)
    await customer.goto(site.base_url + "/")
    await expect(customer.locator("[data-sb=status]")).to_have_text("online")
    await customer.fill("[data-sb=input]", "Is my parcel on its way?")
    await customer.press("[data-sb=input]", "Enter")
    await expect(customer.locator(".sb-msg[data-author=system]")).to_have_count(1)
    await check(customer, "widget", width, found)

    failing = [f"{view}: {line}" for view, lines in found.items() for line in lines]
    assert failing == [], "\n".join(failing)
