"""The customer's profile in a real Chromium: an agent edits it in the context panel (a
refused field says why and keeps the form), the card and the list show the new name, and a
look-alike contact (same email) is linked with one click."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, BrowserContext, expect

from server.services import demo
from tests.e2e.test_browser import SHOTS
from tests.e2e.test_context_panel import console_page, contexts
from tests.harness import RunningServer
from tests.web_console.brands import PASSWORD, conversation_in, person, signed_in

pytestmark = pytest.mark.browser
__all__ = ["contexts"]  # the fixture, shared with the context panel's tests


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)])
async def test_an_agent_edits_the_customer_and_links_a_look_alike(
    browser: Browser, site: RunningServer, contexts: list[BrowserContext], width: int, height: int
) -> None:
    earlier = await conversation_in(site, demo.WEBCHAT_INBOX, "my first question")
    await conversation_in(site, demo.WEBCHAT_INBOX, "where is my refund")
    sam = await person(site, demo.BRAND_SLUG, "supervisor")
    http = await signed_in(site, sam)
    done = f"/console/api/conversations/{earlier.conversation_id}"
    assert (await http.patch(f"{done}/contact", json={"email": "ana@example.com"})).is_success
    assert (await http.post(f"{done}/claim")).is_success
    assert (await http.post(f"{done}/resolve")).is_success
    await http.aclose()

    console = await console_page(browser, contexts, width, height)
    await console.sign_in(site.base_url, sam, PASSWORD)
    await console.open("where is my refund")
    page = console.page
    panel = page.locator("#context-panel")
    await panel.get_by_role("button", name="Edit customer").click()
    await panel.get_by_label("Name").fill("Ana Gomez")
    await panel.get_by_label("Email").fill("ana@example.com")
    await panel.get_by_label("Phone").fill("call me maybe")
    await panel.get_by_label("Time zone").fill("Europe/Paris")
    await panel.get_by_label("Notes about the customer").fill("wholesale buyer, prefers mail")
    await panel.get_by_role("button", name="Save").click()
    await expect(panel.get_by_role("alert")).to_contain_text("phone")
    await panel.get_by_label("Phone").fill("+33 6 12 34 56 78")
    await panel.get_by_role("button", name="Save").click()

    await expect(panel.locator(".cp-name strong")).to_have_text("Ana Gomez")
    await expect(panel).to_contain_text("Phone +33 6 12 34 56 78")
    await expect(panel).to_contain_text("Europe/Paris")
    await expect(panel.locator(".cp-customer-notes")).to_have_text("wholesale buyer, prefers mail")
    await expect(page.locator("#conversations li.active .name")).to_contain_text("Ana Gomez")
    SHOTS.mkdir(parents=True, exist_ok=True)
    await panel.screenshot(path=str(SHOTS / f"profile-edited-{width}.png"))

    # The earlier contact with the same email: offered, linked with one click.
    await expect(panel.locator(".cp-look-alikes")).to_contain_text("same email seen on webchat")
    await panel.get_by_role("button", name="Link").click()
    await expect(panel.locator(".cp-look-alikes")).to_have_count(0)
    await expect(panel.locator(".cp-identities li")).to_have_count(2)
    await expect(panel).to_contain_text("Previous conversations (1)")
    assert not console.refused
