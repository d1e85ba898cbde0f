"""The widget as a customer uses it, in Chromium: the brand's greeting, who wrote and when,
the closing message and the rating buttons on resolve, the history kept across a resolve and
a reload, its own words in French, and a keyboard-only pass with visible focus and labelled
controls. Screenshots at 1280 and 390 px go to var/screenshots/ (ignored)."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, ViewportSize, expect

from server.services import demo
from server.store import brand_texts
from tests.e2e.test_browser import SHOTS
from tests.harness import RunningServer

pytestmark = pytest.mark.browser

DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}


async def _agent(site: RunningServer) -> httpx.AsyncClient:
    http = httpx.AsyncClient(base_url=site.base_url)
    login = {"email": demo.AGENT_EMAIL, "password": demo.AGENT_PASSWORD}
    assert (await http.post("/console/api/login", json=login)).status_code == 200
    return http


async def _latest_conversation(site: RunningServer) -> str:
    async with site.services.pool.acquire() as conn:
        return str(
            await conn.fetchval(
                "SELECT id FROM conversations WHERE channel = 'webchat'"
                " ORDER BY created_at DESC LIMIT 1"
            )
        )


async def _say(page: Page, text: str) -> None:
    await page.fill("[data-sb=input]", text)
    await page.press("[data-sb=input]", "Enter")


async def test_a_customer_is_greeted_served_rated_and_keeps_the_history(
    browser: Browser, site: RunningServer
) -> None:
    context = await browser.new_context(viewport=DESKTOP, locale="en-GB")
    customer = await context.new_page()
    errors: list[str] = []
    customer.on(
        "console",
        lambda m: (
            errors.append(m.text)
            if m.type == "error" and "Failed to load resource" not in m.text
            else None
        ),
    )
    # Refused requests by address (the demo page has no favicon, which is not the widget's).
    customer.on(
        "response",
        lambda r: (
            errors.append(f"{r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico")
            else None
        ),
    )
    await customer.goto(site.base_url + "/")
    await expect(customer.locator("[data-sb=status]")).to_have_text("online")
    await expect(customer.locator("[data-sb=greeting] .sb-text")).to_have_text(
        brand_texts.DEFAULTS["greeting"]["en"]
    )
    await _say(customer, "My parcel is late")
    await expect(customer.locator(".sb-msg[data-author=system]")).to_have_count(1)

    dana = await _agent(site)
    conversation = await _latest_conversation(site)
    path = f"/console/api/conversations/{conversation}"
    assert (await dana.post(f"{path}/claim")).status_code == 200
    sent = await dana.post(
        f"{path}/messages", json={"text": "Sorry! It ships today.", "client_id": "journey-1"}
    )
    assert sent.status_code in (200, 201), sent.text
    reply = customer.locator(".sb-item.sb-agent")
    await expect(reply.locator(".sb-author")).to_have_text("Dana Demo")
    await expect(reply.locator("time")).to_have_text(re.compile(r"^\d{1,2}:\d{2}( [AP]M)?$"))
    # Announced to screen readers: the agent's reply (not the greeting, not one's own).
    await expect(customer.locator("[data-sb=announcer]")).to_contain_text(
        "Dana Demo: Sorry! It ships today."
    )

    assert (await dana.post(f"{path}/resolve")).status_code == 200
    closing = brand_texts.DEFAULTS["closing"]["en"]
    await expect(customer.locator(".sb-msg[data-author=system]").nth(1)).to_have_text(closing)
    rating = customer.locator("[data-sb=rating]")
    await expect(rating.locator("button[data-rating]")).to_have_count(5)
    await expect(customer.locator("[data-sb=rating-send]")).to_be_disabled()
    await customer.screenshot(path=str(SHOTS / "widget-rating-1280.png"))
    await rating.locator("button[data-rating='4']").click()
    await expect(rating.locator("button[data-rating='4']")).to_have_attribute(
        "aria-pressed", "true"
    )
    await customer.fill("[data-sb=rating-comment]", "quick and kind")
    await customer.click("[data-sb=rating-send]")
    await expect(customer.locator(".sb-msg[data-author=system]").last).to_have_text(
        "Thank you for your feedback!"
    )
    await expect(customer.locator("[data-sb=rating]")).to_have_count(0)
    async with site.services.pool.acquire() as conn:
        stored = await conn.fetchrow(
            "SELECT rating, comment FROM csat WHERE conversation_id = $1::uuid", conversation
        )
    assert stored is not None
    assert (stored["rating"], stored["comment"]) == (4, "quick and kind")

    # The next message opens a new conversation: what the customer saw stays.
    await _say(customer, "One more thing: can I change the address?")
    before_resolve = [
        "My parcel is late",
        site.services.settings.auto_ack_text,
        "Sorry! It ships today.",
        closing,
    ]
    messages = customer.locator(".sb-msg:not(.sb-pending)")
    # Shown after what came before (the new conversation's acknowledgement may follow it at
    # once: it is not asserted to be last).
    asked = messages.filter(has_text="One more thing: can I change the address?")
    await expect(asked).to_have_count(1)
    shown = await messages.all_inner_texts()
    assert shown.index("One more thing: can I change the address?") >= len(before_resolve)
    assert shown[:4] == before_resolve, shown
    assert await _latest_conversation(site) != conversation

    # A reload shows it all again, and announces none of it.
    await site.services.pipeline.settled()
    async with site.services.pool.acquire() as conn:
        count = await conn.fetchval(
            "SELECT count(*) FROM messages m JOIN conversations c ON c.id = m.conversation_id"
            " WHERE c.contact_id = (SELECT contact_id FROM conversations WHERE id = $1::uuid)",
            conversation,
        )
    await expect(messages).to_have_count(count)
    await customer.reload()
    await expect(customer.locator("[data-sb=status]")).to_have_text("online")
    await expect(messages).to_have_count(count)
    again = await messages.all_inner_texts()
    assert again[:4] == before_resolve, again
    assert "One more thing: can I change the address?" in again
    await expect(customer.locator("[data-sb=rating]")).to_have_count(0)
    assert await customer.locator("[data-sb=announcer]").inner_text() == ""
    await customer.screenshot(path=str(SHOTS / "widget-history-1280.png"))
    assert errors == []
    await dana.aclose()
    await context.close()


async def test_the_widget_speaks_french_with_the_brands_french_greeting_on_a_phone(
    browser: Browser, site: RunningServer
) -> None:
    admin = await _agent(site)
    brands: list[dict[str, Any]] = (await admin.get("/console/api/brand-texts")).json()["brands"]
    shop = next(b for b in brands if b["brand_name"] == "Demo Shop")
    greeting = "Bonjour ! Léa et Dana vous répondent du lundi au vendredi."
    put = await admin.put(
        f"/console/api/brands/{shop['brand_id']}/texts/greeting/fr", json={"text": greeting}
    )
    assert put.status_code == 200, put.text
    context = await browser.new_context(viewport=PHONE, locale="fr-FR", is_mobile=True)
    customer = await context.new_page()
    await customer.goto(site.base_url + "/")
    await expect(customer.locator("[data-sb=status]")).to_have_text("en ligne")
    await expect(customer.locator("[data-sb=greeting] .sb-text")).to_have_text(greeting)
    await expect(customer.locator("[data-sb=input]")).to_have_attribute(
        "placeholder", "Écrivez un message…"
    )
    await expect(customer.locator("[data-sb=attach]")).to_have_attribute(
        "aria-label", "Joindre un fichier (10 Mo au plus)"
    )
    await expect(customer.locator("[data-sb=launcher]")).to_have_text("Fermer la discussion")
    await _say(customer, "Bonjour, mon colis est en retard")
    await expect(customer.locator(".sb-item.sb-customer .sb-author")).to_have_text("Vous")
    # The panel fits the phone's width.
    box = await customer.locator(".sb-panel").bounding_box()
    assert box is not None
    assert 0 <= box["x"] <= box["x"] + box["width"] <= PHONE["width"]
    await customer.screenshot(path=str(SHOTS / "widget-fr-390.png"))
    await admin.aclose()
    await context.close()


async def _focused(page: Page) -> dict[str, Any]:
    """The element focused inside the widget's shadow root: its name and focus ring."""
    found: dict[str, Any] = await page.evaluate(
        """() => {
            const el = document.getElementById('switchboard-widget').shadowRoot.activeElement;
            if (!el) return {};
            const style = getComputedStyle(el);
            const label = el.getAttribute('aria-label') || (el.labels && el.labels[0]
                && el.labels[0].textContent) || el.textContent || el.placeholder || '';
            return {tag: el.tagName, sb: el.dataset.sb || '', label: label.trim(),
                    outline: style.outlineStyle, width: style.outlineWidth};
        }"""
    )
    return found


async def test_a_keyboard_alone_chats_and_rates_with_focus_always_visible(
    browser: Browser, site: RunningServer
) -> None:
    context = await browser.new_context(viewport=DESKTOP)
    customer = await context.new_page()
    await customer.goto(site.base_url + "/")
    await expect(customer.locator("[data-sb=status]")).to_have_text("online")
    # The attach button needs no emoji font: an inline SVG icon, and a label.
    attach = customer.locator("[data-sb=attach]")
    await expect(attach.locator("svg")).to_have_count(1)
    assert (await attach.inner_text()).strip() == ""

    seen: list[dict[str, Any]] = []
    await customer.locator("body").focus()
    for _ in range(8):
        await customer.keyboard.press("Tab")
        now = await _focused(customer)
        if not now:
            continue
        seen.append(now)
        assert now["label"], f"a control with no name: {now}"
        assert now["outline"] != "none", f"no visible focus: {now}"
        assert now["width"] != "0px", f"no visible focus: {now}"
        if now["sb"] == "input":
            break
    assert [f["sb"] for f in seen][-1] == "input", seen
    assert "attach" in [f["sb"] for f in seen]
    await customer.keyboard.type("Typed without a mouse")
    await customer.keyboard.press("Enter")
    await expect(customer.locator(".sb-msg[data-author=customer]").first).to_have_text(
        "Typed without a mouse"
    )

    dana = await _agent(site)
    path = f"/console/api/conversations/{await _latest_conversation(site)}"
    assert (await dana.post(f"{path}/claim")).status_code == 200
    assert (await dana.post(f"{path}/resolve")).status_code == 200
    await expect(customer.locator("[data-sb=rating] button[data-rating]")).to_have_count(5)
    await customer.locator("[data-sb=rating] button[data-rating='1']").focus()
    for _ in range(4):
        await customer.keyboard.press("Tab")
    now = await _focused(customer)
    assert now["label"] == "5 out of 5", now
    assert now["outline"] != "none", now
    await customer.keyboard.press("Space")
    await customer.keyboard.press("Tab")
    assert (await _focused(customer))["sb"] == "rating-comment"
    await customer.keyboard.type("great")
    await customer.keyboard.press("Tab")
    assert (await _focused(customer))["sb"] == "rating-send"
    await customer.screenshot(path=str(SHOTS / "widget-keyboard-1280.png"))
    await customer.keyboard.press("Enter")
    await expect(customer.locator(".sb-msg[data-author=system]").last).to_have_text(
        "Thank you for your feedback!"
    )
    await dana.aclose()
    await context.close()
