"""The agent's whole journey on an email conversation, in a real Chromium, over real SMTP both
ways: a customer mails the demo shop (a subject, an order number, a file) to our inbound SMTP;
with the bot off (as the tests' servers run) it is handed over at once; the agent signs in,
finds it in the queue, opens it, reads the context panel (the handoff summary with the order,
the customer card, the order), takes a canned response with "/", edits it and sends it, which
reaches the customer's relay threaded as a reply; the agent labels it, adds an internal note
and resolves; the customer gets the closing words and the rating question in one mail,
answers "4 thanks!" in the thread, and the console shows the rating on the conversation
without a new one being opened. Screenshots at 1280 px and one at 390 px go to
var/screenshots/ (ignored)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from server.services import demo
from server.store import brand_texts
from tests import mail
from tests.e2e.test_browser import SHOTS, login
from tests.harness import RunningServer, free_port, run_server, settings_for, until

pytestmark = pytest.mark.browser

CUSTOMER = "Ada Lovelace <ada@example.com>"
SUBJECT = "Order 10234 arrived damaged"
FIRST_ID = "journey-1@example.com"
CANNED = "Hello {{contact.name}}, sorry about order 10234. A replacement is on its way."


class Shop:
    """A server whose outgoing mail reaches a relay the test reads (the customer's inbox)."""

    def __init__(self, running: RunningServer, relay: mail.Relay) -> None:
        self.running = running
        self.relay = relay
        assert running.services.smtp is not None
        self.smtp_port = running.services.smtp.port

    async def receive(self, message: EmailMessage) -> None:
        """The customer's client sends it to our SMTP; returns once it is stored and routed."""
        await mail.send(self.smtp_port, message, "ada@example.com")
        await self.running.services.mailroom.settled()
        await self.running.services.pipeline.settled()

    async def mails_to_customer(self, count: int) -> list[EmailMessage]:
        return await self.relay.wait_for(count, within=20)


@pytest.fixture
async def shop(dsn: str, tmp_path: Path) -> AsyncIterator[Shop]:
    async with mail.relay() as relay:
        settings = settings_for(
            dsn,
            tmp_path,
            port=free_port(),
            allowed_origins=[],
            smtp_relay_url=relay.url,
            delivery_retry_seconds=0.2,
        )
        async with run_server(settings) as running:
            yield Shop(running, relay)


async def _canned_response(shop: Shop) -> None:
    """The brand's supervisor set up a canned response before (by API, as the panel does)."""
    pool = shop.running.services.pool
    brand_id = await pool.fetchval("SELECT id FROM brands WHERE slug = $1", demo.BRAND_SLUG)
    http = httpx.AsyncClient(base_url=shop.running.base_url)
    login = {"email": demo.AGENT_EMAIL, "password": demo.AGENT_PASSWORD}
    assert (await http.post("/console/api/login", json=login)).status_code == 200
    made = await http.post(
        "/console/api/canned-responses",
        json={
            "brand_id": str(brand_id),
            "shortcut": "damaged",
            "title": "Damaged parcel",
            "text": CANNED,
        },
    )
    assert made.status_code == 201, made.text
    await http.aclose()


def _text(message: EmailMessage) -> str:
    """The plain text part of a mail we sent (replies carry an HTML alternative too)."""
    body = message.get_body(preferencelist=("plain",))
    assert isinstance(body, EmailMessage)
    text: str = body.get_content()
    return text


async def _shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / name))


async def test_an_email_goes_from_handoff_to_a_mailed_rating_in_the_console(
    browser: Browser, shop: Shop
) -> None:
    await _canned_response(shop)
    first = mail.mail(
        sender=CUSTOMER,
        subject=SUBJECT,
        message_id=FIRST_ID,
        body="Hello,\n\nmy order 10234 arrived today with a broken frame. "
        "A photo is attached.\n\nAda",
    )
    first.add_attachment(
        b"\x89PNG broken frame", maintype="image", subtype="png", filename="frame.png"
    )
    await shop.receive(first)
    [ack] = await shop.mails_to_customer(1)
    assert ack["Subject"] == f"Re: {SUBJECT}"
    pool = shop.running.services.pool
    conversation = str(await pool.fetchval("SELECT id FROM conversations WHERE channel = 'email'"))
    # The shop's order belongs to this customer (what the shop's data link does).
    await pool.execute(
        "UPDATE orders SET contact_id = (SELECT contact_id FROM conversations WHERE id = $1::uuid)"
        " WHERE number = '10234'",
        conversation,
    )

    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    await login(page, shop.running.base_url)

    # The queue: the mail, from Ada, with its subject.
    item = page.locator("#conversations li", has_text="Ada Lovelace")
    await expect(item).to_have_count(1)
    # The name's line says the channel beside the time ("email · now").
    await expect(item.locator(".meta")).to_contain_text("email")
    await expect(item.locator(".subject")).to_have_text(SUBJECT)
    await _shot(page, "email-journey-queue-1280.png")
    await item.click()
    await expect(page.locator("#thread-title")).to_contain_text(f"email: {SUBJECT}")
    customer = page.locator("#messages li[data-author=customer]")
    await expect(customer.locator(".subject")).to_have_text(SUBJECT)
    await expect(customer.locator("a.file", has_text="frame.png")).to_have_text("frame.png (1 KB)")
    await expect(customer.locator("a.original")).to_have_text("original mail (.eml)")

    # The context panel: the summary names the order, the card the customer, and the order.
    panel = page.locator("#context-panel")
    await expect(panel.locator(".cp-summary-text").first).to_contain_text("10234")
    await expect(panel.locator(".cp-fact-order")).to_contain_text(["10234"])
    await expect(panel.locator(".cp-name")).to_contain_text("Ada Lovelace")
    await expect(panel.locator(".cp-email")).to_have_text("ada@example.com")
    await expect(panel.locator(".cp-identities li")).to_contain_text(["email"])
    await expect(panel.locator(".cp-order")).to_contain_text(["#10234"])
    await _shot(page, "email-journey-context-1280.png")

    # Claim, then a canned response by its shortcut, edited, sent.
    await page.click("#claim")
    await expect(page.locator("#claim")).to_be_hidden()
    reply = page.locator("#reply")
    await reply.focus()
    await page.keyboard.type("/damag")
    await expect(page.locator("#canned-list [role=option]")).to_have_count(1)
    await page.keyboard.press("Enter")
    filled = CANNED.replace("{{contact.name}}", "Ada Lovelace")
    await expect(reply).to_have_value(filled)
    edited = filled + " No need to send the broken one back."
    await reply.press("End")
    await page.keyboard.type(" No need to send the broken one back.")
    await expect(reply).to_have_value(edited)
    await _shot(page, "email-journey-reply-1280.png")
    await reply.press("Enter")
    sent = page.locator("#messages li[data-author=agent]")
    await expect(sent.locator(".text")).to_have_text([edited])

    # The reply reaches the customer's inbox as a reply in the thread.
    [_, answer] = await shop.mails_to_customer(2)
    assert answer["Subject"] == f"Re: {SUBJECT}"
    assert answer["In-Reply-To"] == f"<{FIRST_ID}>"
    assert answer["References"].split()[0] == f"<{FIRST_ID}>"
    assert answer["To"] == CUSTOMER
    assert answer["Auto-Submitted"] is None  # a person wrote it
    assert edited in _text(answer)
    await expect(sent.locator(".delivery")).to_have_text("sent")

    # A label and an internal note (never mailed).
    label = page.get_by_label("Add a label")
    await label.fill("Damaged item")
    await label.press("Enter")
    await expect(page.locator("#thread-labels .label")).to_contain_text(["damaged-item"])
    note = page.locator("#note-text")
    await note.fill("Replacement ordered from the warehouse, ref W-88.")
    await page.get_by_role("button", name="Add note").click()
    await expect(panel.locator(".note")).to_contain_text(["ref W-88"])
    await _shot(page, "email-journey-label-note-1280.png")

    # Resolve: one mail with the closing words and the rating question, in the thread.
    await page.click("#resolve")
    await expect(page.locator("#resolve")).to_be_hidden()
    [_, _, closing] = await shop.mails_to_customer(3)
    body = _text(closing)
    assert brand_texts.DEFAULTS["closing"]["en"] in body
    assert "from 1 (poor) to 5 (great)" in body
    assert closing["Subject"] == f"Re: {SUBJECT}"
    assert closing["In-Reply-To"] == f"<{FIRST_ID}>"
    assert "ref W-88" not in "".join(_text(m) for m in shop.relay.received)

    # The customer answers in the thread, as their client would quote it.
    rating = mail.mail(
        sender=CUSTOMER,
        subject=f"Re: {SUBJECT}",
        message_id="journey-2@example.com",
        body="4 thanks!\n\nOn Monday, Demo Shop wrote:\n> How did we do?\n",
        In_Reply_To=closing["Message-ID"],
        References=f"<{FIRST_ID}> {closing['Message-ID']}",
    )
    await shop.receive(rating)

    async def rated() -> bool:
        found: int | None = await pool.fetchval(
            "SELECT rating FROM csat WHERE conversation_id = $1::uuid", conversation
        )
        return found == 4

    await until(rated)
    assert await pool.fetchval("SELECT count(*) FROM conversations") == 1
    assert (
        await pool.fetchval("SELECT status FROM conversations WHERE id = $1::uuid", conversation)
        == "resolved"
    )
    # The thanks goes out; nothing else.
    [*_, thanks] = await shop.mails_to_customer(4)
    assert "Thank you for your feedback!" in _text(thanks)

    # The console: the answer in the transcript, the rating in the panel, no new conversation.
    await expect(customer.locator(".text").last).to_have_text("4 thanks!")
    await expect(panel.locator(".cp-csat")).to_contain_text("4/5")
    await expect(panel.locator(".cp-csat")).to_contain_text("thanks!")
    await page.click("#tabs [data-view=resolved]")
    await expect(page.locator("#conversations > li")).to_have_count(1)
    await page.click("#tabs [data-view=queue]")
    await expect(page.locator("#conversations > li.empty")).to_have_count(1)
    await page.click("#tabs [data-view=resolved]")
    await page.locator("#conversations > li", has_text="Ada Lovelace").click()
    await expect(panel.locator(".cp-csat")).to_contain_text("4/5")
    await panel.locator(".cp-csat").scroll_into_view_if_needed()
    await _shot(page, "email-journey-rated-1280.png")

    # At phone width the same conversation, rated, stacked under the transcript.
    phone = await browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    small = await phone.new_page()
    await login(small, shop.running.base_url)
    await small.click("#tabs [data-view=resolved]")
    await small.locator("#conversations > li", has_text="Ada Lovelace").click()
    await expect(small.locator("#context-panel .cp-csat")).to_contain_text("4/5")
    await small.locator("#context-panel .cp-csat").scroll_into_view_if_needed()
    await _shot(small, "email-journey-rated-390.png")
    assert errors == []
    await phone.close()
    await context.close()
