"""Two agents in two browsers: each sees the other open and type in the same conversation,
on its list item and in its header; the list item keeps it when it is drawn again (the
customer writes), and both go when the colleague's tab closes."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from server.services import demo
from tests.e2e.test_brands_browser import sign_in
from tests.e2e.test_browser import SHOTS
from tests.harness import RunningServer
from tests.web_console.brands import PASSWORD, message_from, person, two_brands

pytestmark = pytest.mark.browser


async def test_two_agents_see_each_other_in_one_conversation(
    browser: Browser, site: RunningServer
) -> None:
    shop, _ = await two_brands(site)
    lea = await person(site, demo.BRAND_SLUG, "agent", ["support"])
    sam = await person(site, demo.BRAND_SLUG, "supervisor")
    pages = []
    for email in (lea, sam):
        page = await (await browser.new_context()).new_page()
        await sign_in(page, site.base_url, email, PASSWORD)
        await page.click("#tabs [data-view=open]")
        await page.locator("#conversations li").first.click()
        pages.append(page)
    lea_page, sam_page = pages
    await expect(lea_page.locator("#presence")).to_have_text("supervisor of demo is viewing")
    await expect(lea_page.locator("#conversations li .viewers")).to_have_text(
        "with supervisor of demo"
    )
    # The customer writes: the item is drawn again with the new preview, and keeps its badge.
    item = lea_page.locator("#conversations li", has_text="supervisor of demo")
    await item.evaluate("li => { li.dataset.kept = 'yes'; }")
    await message_from(site, demo.WEBCHAT_INBOX, shop, "any news about the parcel?")
    await expect(item.locator(".preview")).to_have_text("any news about the parcel?")
    await expect(item.locator(".viewers")).to_have_text("with supervisor of demo")
    await expect(item).to_have_attribute("data-kept", "yes")  # one item redrawn, not replaced
    await sam_page.fill("#reply", "Let me check the parcel")
    await expect(lea_page.locator("#presence")).to_contain_text("supervisor of demo is typing…")
    await expect(item.locator(".viewers")).to_have_text("with supervisor of demo (typing)")
    await lea_page.screenshot(path=str(SHOTS / "console-presence.png"))
    await sam_page.context.close()
    await expect(lea_page.locator("#presence")).to_be_hidden()
    await expect(lea_page.locator("#conversations .viewers")).to_have_count(0)


async def test_a_status_stamped_earlier_arriving_later_does_not_win(
    browser: Browser, site: RunningServer
) -> None:
    """Two nodes' agent.updated events can reach a console out of order: a presence sweep's
    "away", read before the console's return brought the agent back, published after it.
    The console keeps the status stamped latest, in the header and in the directory."""
    email = await person(site, demo.BRAND_SLUG, "agent", ["support"])
    page = await (await browser.new_context()).new_page()
    await sign_in(page, site.base_url, email, PASSWORD)
    await page.select_option("#my-status", "online")
    await expect(page.locator("#my-status")).to_have_value("online")
    shown = await page.evaluate(
        """async () => {
          const s = await import("/console/static/conversations/store.js");
          await new Promise((done) => { const t = () => s.me.value.status === "online"
            && s.me.value.status_at ? done() : setTimeout(t, 20); t(); });
          const at = s.me.value.status_at;
          const agent = { ...s.me.value, roles: {}, teams: [], team_ids: [] };
          const frame = (status, stamp) => ({ type: "event", name: "agent.updated",
            conversation_id: "", data: { agent: { ...agent, status, status_at: stamp } } });
          s.dispatch(frame("online", at + 2));  // the return, published first
          s.dispatch(frame("away", at + 1));    // the sweep's older away, published after
          const listed = s.directory.value.agents.find((a) => a.id === agent.id);
          return [s.me.value.status, listed.status];
        }"""
    )
    assert shown == ["online", "online"]
    await expect(page.locator("#my-status")).to_have_value("online")
    await page.context.close()
