"""Two brands in a real Chromium: an agent of the outdoor brand works their own customers and
never sees the shop's, not in the list, not live, not by URL, not its files; an admin gives
people roles and teams in the People area."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, Page, expect

from server.services import demo
from tests.e2e.test_browser import SHOTS
from tests.harness import RunningServer
from tests.web_console.brands import PASSWORD, message_from, person, two_brands

pytestmark = pytest.mark.browser


async def sign_in(page: Page, base_url: str, email: str, password: str) -> None:
    await page.goto(f"{base_url}/console")
    await page.fill("input[name=email]", email)
    await page.fill("input[name=password]", password)
    await page.click("button[type=submit]")
    await expect(page.locator("#live")).to_have_text("live")


async def status_of(page: Page, path: str) -> int:
    """What the console's own page gets for a URL, as a script in it would."""
    status: int = await page.evaluate(
        "async (path) => (await fetch(path, {credentials: 'same-origin'})).status", path
    )
    return status


async def test_an_agent_of_one_brand_never_sees_the_other_brands_customer(
    browser: Browser, site: RunningServer
) -> None:
    shop, outdoor = await two_brands(site)
    noor = await person(site, demo.OTHER_BRAND_SLUG, "agent", ["support"])
    page = await (await browser.new_context()).new_page()
    await sign_in(page, site.base_url, noor, PASSWORD)
    await page.click("#tabs [data-view=open]")
    items = page.locator("#conversations li")
    await expect(items).to_have_count(1)
    await expect(items.first).to_contain_text("my tent is torn")
    # Both customers write again, the shop's first: Noor's list gets the outdoor one only.
    await message_from(site, demo.WEBCHAT_INBOX, shop, "where is my parcel??")
    await message_from(site, demo.OTHER_WEBCHAT_INBOX, outdoor, "any news on the tent?")
    await expect(items.first).to_contain_text("any news on the tent?")
    await expect(items).to_have_count(1)
    await expect(page.locator("#conversations")).not_to_contain_text("parcel")
    # By URL, as a curious script would: nothing there, files included.
    c, m = shop.conversation_id, shop.message_id
    assert await status_of(page, f"/console/api/conversations/{c}") == 404
    assert await status_of(page, f"/console/api/conversations/{c}/messages") == 404
    assert await status_of(page, f"/console/api/messages/{m}/attachments/0") == 404
    assert await status_of(page, f"/console/api/messages/{outdoor.message_id}/attachments/0") == 200
    # Search finds the outdoor customer's words and nothing of the shop's.
    found = await page.evaluate("async () => (await fetch('/console/api/search?q=parcel')).json()")
    assert found["messages"] == []
    assert found["conversations"] == []
    tent = await page.evaluate("async () => (await fetch('/console/api/search?q=tent')).json()")
    assert {hit["conversation_id"] for hit in tent["messages"]} == {outdoor.conversation_id}
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / "console-outdoor-agent.png"))


async def test_an_admin_gives_a_colleague_a_second_brand_in_the_people_area(
    browser: Browser, site: RunningServer
) -> None:
    await two_brands(site)
    lea = await person(site, demo.BRAND_SLUG, "agent")
    for width, height in ((1280, 800), (390, 844)):
        page = await (
            await browser.new_context(viewport={"width": width, "height": height})
        ).new_page()
        await sign_in(page, site.base_url, demo.AGENT_EMAIL, demo.AGENT_PASSWORD)
        await page.click("#people-tab")
        row = page.locator("#people-table tr", has_text=lea)
        await expect(row).to_contain_text("agent")
        await page.screenshot(path=str(SHOTS / f"console-people-{width}.png"), full_page=True)
        # Nothing wider than the screen: no sideways scrolling of the whole page.
        assert await page.evaluate("document.documentElement.scrollWidth") <= width
        await page.close()
    page = await (await browser.new_context()).new_page()
    await sign_in(page, site.base_url, demo.AGENT_EMAIL, demo.AGENT_PASSWORD)
    # Keyboard only: the tab, the row's Edit button, the form's fields.
    await page.focus("#people-tab")
    await page.keyboard.press("Enter")
    edit = page.locator("#people-table tr", has_text=lea).get_by_role("button")
    await edit.focus()
    await page.keyboard.press("Enter")
    form = page.get_by_role("form", name="Access of agent of demo")
    await form.get_by_label("Brand", exact=True).select_option(label="Trailhead Outdoors")
    await form.get_by_label("Agent", exact=True).check()
    await form.get_by_label("Support").check()
    await page.screenshot(path=str(SHOTS / "console-people-editing.png"), full_page=True)
    await form.get_by_role("button", name="Save").press("Enter")
    await expect(page.locator("#people-editor [role=status]")).to_contain_text("Saved")
    await expect(page.locator("#people-table tr", has_text=lea)).to_contain_text(
        "Trailhead Outdoors: agent"
    )
    # Inviting a colleague: no mail relay here, so the link to hand over is shown.
    invite = page.get_by_role("form", name="Invite a colleague")
    await invite.get_by_label("Email").fill("kim@outdoor.example")
    await invite.get_by_label("Name").fill("Kim")
    await invite.get_by_label("Brand").select_option(label="Trailhead Outdoors")
    await invite.get_by_role("button", name="Send invitation").press("Enter")
    await expect(page.locator(".invite-result")).to_contain_text("/console/password#token=")
    await expect(page.locator("#people-table")).to_contain_text("kim@outdoor.example")
    # The change is on record, in the audit log under the people.
    await page.get_by_label("Action").fill("agent.access_changed")
    await page.get_by_role("button", name="Filter").click()
    await expect(page.locator("#audit-table tbody tr").first).to_contain_text(
        "agent.access_changed"
    )
    await page.screenshot(path=str(SHOTS / "console-audit-log.png"), full_page=True)
    # Léa signs in again and now has the outdoor customer too.
    other = await (await browser.new_context()).new_page()
    await sign_in(other, site.base_url, lea, PASSWORD)
    await other.click("#tabs [data-view=open]")
    await expect(other.locator("#conversations")).to_contain_text("my tent is torn")
