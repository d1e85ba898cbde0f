"""Chat texts in the console's Supervisor view, in Chromium: an admin changes the brand's
French closing message and puts the greeting back to the default; the next resolve of a
French conversation uses it. Screenshots at 1280 and 390 px (var/screenshots/)."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from server.services import demo
from server.store import brand_texts
from tests.e2e.test_browser import SHOTS, login
from tests.harness import RunningServer

pytestmark = pytest.mark.browser

CLOSING = "Merci ! Votre demande est réglée. À bientôt chez Demo Shop."


@pytest.mark.parametrize("width", [1280, 390])
async def test_an_admin_edits_the_french_closing_message_in_the_supervisor_view(
    browser: Browser, site: RunningServer, width: int
) -> None:
    context = await browser.new_context(viewport={"width": width, "height": 900})
    page = await context.new_page()
    await login(page, site.base_url)
    await page.click("#supervisor-tab")
    section = page.locator("#brand-texts")
    await expect(section.get_by_role("heading", name="Chat texts")).to_be_visible()
    await section.get_by_label("Language").select_option("fr")
    closing = section.get_by_label("Closing message — French (fr)")
    await expect(closing).to_have_value(brand_texts.DEFAULTS["closing"]["fr"])
    await closing.fill(CLOSING)
    await section.get_by_role("button", name="Save closing message").click()
    await expect(section.locator(".brand-text-status").nth(1)).to_have_text("Saved.")
    await expect(section.locator(".brand-text-state").nth(1)).to_have_text("the brand's own words")
    await page.screenshot(path=str(SHOTS / f"console-chat-texts-{width}.png"), full_page=True)

    async with site.services.pool.acquire() as conn:
        stored = await conn.fetchval(
            "SELECT text FROM brand_messages WHERE kind = 'closing' AND language = 'fr'"
        )
        audited = await conn.fetchval(
            "SELECT actor_label FROM audit_log WHERE action = 'brand.text_changed'"
        )
    assert stored == CLOSING
    assert audited == demo.AGENT_EMAIL

    # "Use the default" puts the default words back, and says so.
    use_default = section.get_by_role("button", name="Use the default").nth(1)
    await use_default.click()
    await expect(closing).to_have_value(brand_texts.DEFAULTS["closing"]["fr"])
    await expect(section.locator(".brand-text-status").nth(1)).to_have_text(
        "Back to the default words."
    )
    await expect(use_default).to_be_disabled()
    await context.close()
