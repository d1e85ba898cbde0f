"""The transcript in a real Chromium: each message names its author and time, and what
happened between messages (handed off and why, taken, resolved) sits inline in time order,
live as it happens and the same after a reload."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from server.services import demo
from tests.e2e.test_browser import SHOTS
from tests.e2e.test_context_panel import console_page, contexts
from tests.harness import RunningServer, until
from tests.web_console.brands import PASSWORD, conversation_in, message_from, person, signed_in

pytestmark = pytest.mark.browser
# The acknowledgement a web chat customer gets when no bot answers.
ACK = (
    "Thanks for your message! We have received it and a member of our team will reply here shortly."
)
__all__ = ["contexts"]  # the fixture, shared with the context panel's tests


async def rows_of(page: Page) -> list[str]:
    """Each transcript row as "author: text" (a message) or "· what" (an activity)."""
    return list(
        await page.locator("#messages > li").evaluate_all(
            """rows => rows.map(r => r.classList.contains('activity')
                 ? '· ' + r.querySelector('.what').textContent
                 : r.querySelector('.who .author').textContent + ': '
                   + r.querySelector('.text').textContent)"""
        )
    )


async def resolved_header(page: Page) -> None:
    """A resolved conversation's header says by whom and when it was resolved, instead of
    the queue's priority line, and offers no contact link."""
    line = page.locator("#thread-priority")
    await expect(line).to_have_text(re.compile(r"^Resolved by supervisor of demo · \S"))
    await expect(line).not_to_contain_text("Priority")
    await expect(line.locator("time")).to_have_attribute("datetime", re.compile(r"^2\d{3}-"))
    await expect(page.locator("#merge-box")).to_be_hidden()
    await expect(page.locator("#merge-toggle")).to_be_hidden()
    await expect(page.locator("#thread-facts")).to_contain_text("resolved")


async def test_activities_sit_between_messages_in_time_order_and_arrive_live(
    browser: Browser, site: RunningServer, contexts: list[BrowserContext]
) -> None:
    shop = await conversation_in(site, demo.WEBCHAT_INBOX, "my parcel is late")
    sam = await person(site, demo.BRAND_SLUG, "supervisor")
    console = await console_page(browser, contexts)
    await console.sign_in(site.base_url, sam, PASSWORD)
    page = console.page
    await page.click("#tabs [data-view=open]")
    await page.locator("#conversations li", has_text="my parcel is late").click()
    messages = page.locator("#messages > li")
    await expect(messages).to_have_count(3)
    assert await rows_of(page) == [
        "Customer of demo-web: my parcel is late",
        f"Switchboard: {ACK}",
        "· Handed to a human: no bot",
    ]
    stamp = messages.first.locator(".who time")
    await expect(stamp).to_have_attribute("datetime", re.compile(r"^2\d{3}-"))

    # Replying takes the conversation; then the customer writes; then Resolve.
    await page.fill("#reply", "Let me look at your parcel.")
    await page.click("#send")
    await expect(messages).to_have_count(5)
    await message_from(site, demo.WEBCHAT_INBOX, shop, "thanks, it is order 10234")
    await expect(messages).to_have_count(6)
    await page.click("#merge-toggle")
    await expect(page.locator("#merge-box")).to_be_visible()
    await expect(page.locator("#merge-with")).to_be_focused()
    await page.keyboard.press("Escape")
    await expect(page.locator("#merge-box")).to_be_hidden()
    await page.click("#resolve")
    await expect(page.locator("#messages li.activity.resolved")).to_have_count(1)
    await resolved_header(page)

    # Resolving also says goodbye and asks for a rating (one transaction with its csat row).
    async def asked() -> bool:
        return bool(
            await site.services.pool.fetchval(
                "SELECT count(*) FROM csat WHERE conversation_id = $1::uuid", shop.conversation_id
            )
        )

    await until(asked)
    async with site.services.pool.acquire() as conn:
        stored = await conn.fetchval(
            "SELECT (SELECT count(*) FROM messages WHERE conversation_id = $1::uuid)"
            " + (SELECT count(*) FROM activities WHERE conversation_id = $1::uuid)",
            shop.conversation_id,
        )
    await expect(messages).to_have_count(stored)
    live = await rows_of(page)
    assert live[:7] == [
        "Customer of demo-web: my parcel is late",
        f"Switchboard: {ACK}",
        "· Handed to a human: no bot",
        "supervisor of demo: Let me look at your parcel.",
        "· supervisor of demo took the conversation (by replying)",
        "Customer of demo-web: thanks, it is order 10234",
        "· Resolved by supervisor of demo",
    ]
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / "transcript-activities-1280.png"))

    # Read again from the server (messages and activities arrive in either order).
    phone = await console_page(browser, contexts, 390, 844)
    await phone.sign_in(site.base_url, sam, PASSWORD)
    await phone.page.click("#tabs [data-view=resolved]")
    await phone.page.locator("#conversations li", has_text="order 10234").click()
    await expect(phone.page.locator("#messages > li")).to_have_count(len(live))
    assert await rows_of(phone.page) == live
    await resolved_header(phone.page)
    await phone.page.screenshot(path=str(SHOTS / "transcript-activities-390.png"))
    assert not console.refused
    assert not phone.refused


@pytest.mark.parametrize("width", [1280, 390])
async def test_a_new_agent_reads_the_list_and_the_header_before_acting(
    browser: Browser, site: RunningServer, contexts: list[BrowserContext], width: int
) -> None:
    """What a newcomer needs before writing: in All open, who holds each conversation; opened,
    that a colleague holds it (only they can reply) with no action offered; a queued one
    offers Claim, and Transfer only once a team or colleague is picked; claimed, the header
    says it is theirs."""
    waiting = await conversation_in(site, demo.WEBCHAT_INBOX, "where is order 1042")
    taken = await conversation_in(site, demo.WEBCHAT_INBOX, "my tent is torn")
    colleague = await person(site, demo.BRAND_SLUG, "supervisor")
    sam = await signed_in(site, colleague)
    claimed = await sam.post(f"/console/api/conversations/{taken.conversation_id}/claim")
    assert claimed.status_code == 200, claimed.text
    await sam.aclose()
    newcomer = await person(site, demo.BRAND_SLUG, "agent", ["support"])
    console = await console_page(browser, contexts, width, 900 if width > 700 else 844)
    await console.sign_in(site.base_url, newcomer, PASSWORD)
    page = console.page

    # All open: each item says who holds it.
    await page.click("#tabs [data-view=open]")
    held_item = page.locator("#conversations li", has_text="my tent is torn")
    await expect(held_item.locator(".status")).to_have_text("supervisor of demo · Support")
    await expect(
        page.locator("#conversations li", has_text="order 1042").locator(".status")
    ).to_have_text(re.compile(r"^queued"))
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"walk-list-{width}.png"))

    # A colleague's: said before one writes, and nothing to claim or resolve.
    await held_item.click()
    await expect(page.locator("#held-by")).to_have_text(
        "Held by supervisor of demo: only they can reply"
    )
    await expect(page.locator("#thread-facts")).to_contain_text("assigned to supervisor of demo")
    await expect(page.locator("#claim")).to_be_hidden()
    await expect(page.locator("#resolve")).to_be_hidden()
    await page.screenshot(path=str(SHOTS / f"walk-held-{width}.png"))
    if width < 700:
        await page.click("#pane-back")

    # A queued one: Claim; Transfer waits for a choice.
    await page.locator("#conversations li", has_text="order 1042").click()
    await expect(page.locator("#held-by")).to_have_count(0)
    await expect(page.locator("#transfer-to")).to_have_value("")
    await expect(page.locator("#transfer")).to_be_disabled()
    await page.select_option("#transfer-to", label="Team: Billing")
    await expect(page.locator("#transfer")).to_be_enabled()
    await page.screenshot(path=str(SHOTS / f"walk-queued-{width}.png"))
    await page.click("#claim")
    await expect(page.locator("#thread-facts")).to_contain_text("assigned to you")
    await expect(page.locator("#claim")).to_be_hidden()
    await page.fill("#reply", "Order 1042 left our warehouse this morning.")
    await page.click("#send")
    await expect(page.locator("#messages li[data-author=agent]")).to_have_count(1)
    await page.screenshot(path=str(SHOTS / f"walk-claimed-{width}.png"))
    assert not console.refused
    _ = waiting
