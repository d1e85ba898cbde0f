"""The console's context panel in a real Chromium: the whole customer beside the
conversation, internal notes that reach a colleague live and never the customer, and canned
responses typed with "/" in the reply box, by keyboard."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from server.services import demo
from tests.e2e.test_browser import SHOTS
from tests.harness import RunningServer
from tests.web_console.brands import (
    PASSWORD,
    conversation_in,
    message_from,
    person,
    signed_in,
)

pytestmark = pytest.mark.browser


class Console:
    """A console page that records what its Content-Security-Policy refused."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.refused: list[str] = []
        page.on(
            "console",
            lambda m: self.refused.append(m.text) if "Content Security Policy" in m.text else None,
        )
        page.on("pageerror", lambda e: self.refused.append(f"page error: {e}"))

    async def sign_in(self, base_url: str, email: str, password: str) -> None:
        await self.page.goto(f"{base_url}/console")
        await self.page.fill("input[name=email]", email)
        await self.page.fill("input[name=password]", password)
        await self.page.click("button[type=submit]")
        await expect(self.page.locator("#live")).to_have_text("live")

    async def open(self, text: str) -> None:
        """Open the conversation whose list item shows ``text`` (from the All open tab)."""
        await self.page.click("#tabs [data-view=open]")
        await self.page.locator("#conversations li", has_text=text).click()
        await expect(self.page.locator("#context-panel")).to_be_visible()


@pytest.fixture
async def contexts(browser: Browser) -> AsyncIterator[list[BrowserContext]]:
    made: list[BrowserContext] = []
    yield made
    for context in made:
        await context.close()


async def console_page(
    browser: Browser, contexts: list[BrowserContext], width: int = 1280, height: int = 800
) -> Console:
    context = await browser.new_context(viewport={"width": width, "height": height})
    contexts.append(context)
    return Console(await context.new_page())


async def test_the_panel_shows_the_customer_the_handoff_message_a_past_conversation_and_an_order(
    browser: Browser, site: RunningServer, contexts: list[BrowserContext]
) -> None:
    shop = await conversation_in(site, demo.WEBCHAT_INBOX, "my parcel is late")
    sam = await person(site, demo.BRAND_SLUG, "supervisor")
    http = await signed_in(site, sam)
    first = f"/console/api/conversations/{shop.conversation_id}"
    assert (await http.post(f"{first}/claim")).status_code == 200
    assert (await http.post(f"{first}/resolve")).status_code == 200
    await http.aclose()
    async with site.services.pool.acquire() as conn:
        await conn.execute(
            "UPDATE orders SET contact_id = $1::uuid WHERE number = '10234'", shop.contact_id
        )
    # The customer writes again: a new conversation, handed over at once (the bot is off).
    await message_from(site, demo.WEBCHAT_INBOX, shop, "the parcel never came")
    await site.services.pipeline.settled()
    await message_from(site, demo.WEBCHAT_INBOX, shop, "hello??")
    await site.services.pipeline.settled()

    SHOTS.mkdir(parents=True, exist_ok=True)
    for width, height in ((1280, 800), (1024, 768), (390, 844)):
        console = await console_page(browser, contexts, width, height)
        page = console.page
        await console.sign_in(site.base_url, sam, PASSWORD)
        await console.open("hello??")
        panel = page.locator("#context-panel")
        await expect(panel.locator(".cp-name")).to_contain_text(f"Customer of {demo.WEBCHAT_INBOX}")
        await expect(panel.locator(".cp-name .unverified")).to_be_visible()
        await expect(panel.locator(".cp-identities li")).to_contain_text(["webchat"])
        await expect(panel.locator("#cp-handoff + p")).to_contain_text("no bot")
        past = panel.locator(".cp-past-item")
        await expect(past).to_have_count(1)
        await expect(past).to_contain_text("resolved")
        await expect(past).to_contain_text("supervisor of demo")
        await expect(panel.locator(".cp-order")).to_contain_text(["#10234"])
        await expect(panel.locator(".cp-order")).to_contain_text(["DHL"])
        # Beside the transcript on a wide screen, under it on a phone.
        transcript = await page.locator("#transcript").bounding_box()
        box = await panel.bounding_box()
        assert transcript is not None
        assert box is not None
        if width >= 1100:
            assert box["x"] >= transcript["x"] + transcript["width"] - 1
        else:
            assert box["y"] >= transcript["y"] + transcript["height"] - 1
        # The message the bot handed over on: a click shows it, highlighted, in the transcript.
        trigger = panel.locator(".cp-trigger")
        await expect(trigger).to_contain_text("the parcel never came")
        await trigger.click()
        highlighted = page.locator("#messages li.highlight")
        await expect(highlighted).to_have_count(1)
        await expect(highlighted).to_contain_text("the parcel never came")
        await expect(highlighted).to_be_in_viewport()
        await page.screenshot(path=str(SHOTS / f"console-context-{width}.png"), full_page=True)
        if width == 1280:
            # A conversation.updated of the open conversation (a claim) re-reads the panel.
            async with site.services.pool.acquire() as conn:
                await conn.execute(
                    "UPDATE orders SET contact_id = $1::uuid WHERE number = '10377'",
                    shop.contact_id,
                )
            await page.click("#claim")
            await expect(panel.locator(".cp-order")).to_have_count(2)
        if width < 1100:
            await panel.screenshot(path=str(SHOTS / f"console-context-panel-{width}.png"))
        assert console.refused == []


async def test_a_note_with_a_mention_reaches_the_colleague_live_and_never_the_customer(
    browser: Browser, site: RunningServer, contexts: list[BrowserContext]
) -> None:
    sam = await person(site, demo.BRAND_SLUG, "supervisor")
    customer_context = await browser.new_context()
    contexts.append(customer_context)
    customer = await customer_context.new_page()
    await customer.goto(site.base_url + "/")
    await expect(customer.locator("[data-sb=status]")).to_have_text("online")
    await customer.fill("[data-sb=input]", "I was charged twice")
    await customer.press("[data-sb=input]", "Enter")
    await expect(customer.locator(".sb-msg[data-author=system]")).to_have_count(1)

    dana = await console_page(browser, contexts)
    await dana.sign_in(site.base_url, demo.AGENT_EMAIL, demo.AGENT_PASSWORD)
    colleague = await console_page(browser, contexts)
    await colleague.sign_in(site.base_url, sam, PASSWORD)
    await colleague.open("I was charged twice")

    await dana.open("I was charged twice")
    page = dana.page
    note = page.locator("#note-text")
    await note.click()
    await page.keyboard.type("Refund approved, @sup")
    option = page.locator("#mention-list [role=option]", has_text="supervisor of demo")
    await expect(option).to_be_visible()
    await expect(note).to_have_attribute("aria-activedescendant", "mention-list-0")
    await page.keyboard.press("Enter")
    await page.keyboard.type("please tell them")
    await expect(note).to_have_value("Refund approved, @supervisor of demo please tell them")
    await page.get_by_role("button", name="Add note").click()
    mine = page.locator("#context-panel .note")
    await expect(mine).to_contain_text(["please tell them"])
    await expect(mine).to_contain_text(["Internal note — not sent to the customer"])

    # Sam's console: the note in the open conversation's panel, live, and a toast.
    toast = colleague.page.locator("#toasts .toast.mention")
    await expect(toast).to_contain_text("mentioned you in a note")
    await expect(toast).to_contain_text("please tell them")
    await expect(colleague.page.locator("#context-panel .note")).to_contain_text(
        ["please tell them"]
    )
    await colleague.page.screenshot(path=str(SHOTS / "console-note-mention.png"))
    # A note's text is shown as text, never run as markup, in either console.
    hostile = '<img src=x onerror="window.__pwned=1">'
    await note.fill(hostile)
    await page.get_by_role("button", name="Add note").click()
    for console in (dana, colleague):
        shown = console.page.locator("#context-panel .note .note-text")
        await expect(shown.last).to_have_text(hostile)
        assert await console.page.evaluate("window.__pwned") is None
        assert await console.page.locator("#context-panel img").count() == 0

    # The customer sees the agent's next reply, and never the note.
    await page.fill("#reply", "We have refunded you.")
    await page.press("#reply", "Enter")
    await expect(customer.locator(".sb-msg[data-author=agent]")).to_have_text(
        ["We have refunded you."]
    )
    assert "please tell them" not in await customer.locator("body").inner_text()
    # The people area takes the main column: the panel steps aside with the transcript.
    await page.click("#people-tab")
    await expect(page.locator("#context-panel")).to_be_hidden()
    assert dana.refused == []
    assert colleague.refused == []


async def test_a_canned_response_is_made_in_the_panel_and_typed_with_a_slash_by_keyboard(
    browser: Browser, site: RunningServer, contexts: list[BrowserContext]
) -> None:
    await conversation_in(site, demo.WEBCHAT_INBOX, "where is my parcel?")
    sam = await person(site, demo.BRAND_SLUG, "supervisor")
    console = await console_page(browser, contexts)
    page = console.page
    await console.sign_in(site.base_url, sam, PASSWORD)
    await console.open("where is my parcel?")

    # The brand's supervisor adds two responses in the panel.
    manager = page.locator(".canned-manager")
    await manager.locator("summary").click()
    for shortcut, title, text in (
        ("label", "Return label", "Here is your return label."),
        ("late", "Late parcel", "Hello {{contact.name}}, {{agent.name}} here: it is on its way."),
    ):
        await manager.get_by_role("button", name="Add a canned response").click()
        form = manager.get_by_role("form", name="New canned response")
        await form.get_by_label("Shortcut").fill(shortcut)
        await form.get_by_label("Title").fill(title)
        await form.get_by_label("Text").fill(text)
        await form.get_by_role("button", name="Save").click()
        await expect(manager.locator(".canned-item", has_text=f"/{shortcut}")).to_be_visible()

    # Keyboard only: focus the reply box, "/la", down to the second match, Enter.
    await page.focus("#reply")
    await page.keyboard.type("/la")
    options = page.locator("#canned-list [role=option]")
    await expect(options).to_have_count(2)
    reply = page.locator("#reply")
    await expect(reply).to_have_attribute("aria-activedescendant", "canned-list-0")
    await page.keyboard.press("ArrowDown")
    await expect(reply).to_have_attribute("aria-activedescendant", "canned-list-1")
    await expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    await page.screenshot(path=str(SHOTS / "console-canned-list.png"))
    await page.keyboard.press("Enter")
    await expect(reply).to_have_value(
        f"Hello Customer of {demo.WEBCHAT_INBOX}, supervisor of demo here: it is on its way."
    )
    await expect(page.locator("#canned-list")).to_have_count(0)
    # Enter picked the response: nothing was sent.
    await expect(page.locator("#messages li[data-author=agent]")).to_have_count(0)
    # Escape closes the list; Enter then sends what the box holds.
    await reply.fill("")
    await page.keyboard.type("/lab")
    await expect(options).to_have_count(1)
    await page.keyboard.press("Escape")
    await expect(page.locator("#canned-list")).to_have_count(0)
    await expect(reply).to_have_value("/lab")
    # An unknown shortcut says so.
    await reply.fill("")
    await page.keyboard.type(f"/zz{uuid.uuid4().hex[:4]}")
    await expect(page.locator("#canned-box [role=status]")).to_contain_text("No canned response")
    assert console.refused == []
