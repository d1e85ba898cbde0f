"""The knowledge base in a real Chromium. An editor finds a content gap (customers asking
about gift cards), writes the article from it by keyboard, sees the API's refusal next to
the field, publishes, and the article is at once in the help center and the public search,
and the gap is gone. An agent in a customer's conversation sees the article suggested,
inserts it with "#", sends it, and marks that it resolved the case. Screenshots at 1280 and
390 px (var/screenshots/knowledge-*.png)."""

from __future__ import annotations

import asyncio
import re
import time

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from server.services import demo
from tests.e2e.test_browser import SHOTS
from tests.e2e.test_context_panel import console_page, contexts
from tests.harness import RunningServer
from tests.server.http.test_kb_agent import publish
from tests.server.http.test_kb_figures import handed_over
from tests.web_console.brands import PASSWORD, conversation_in, person
from tests.web_console.test_suggestions import embedded

pytestmark = pytest.mark.browser
__all__ = ["contexts"]  # the fixture, imported for this module's tests

BODY = "## Buying a gift card\n\nGift cards are sold in the shop from **10 to 200 euros**.\n\n"
BODY_TAIL = "They never expire. <script>window.__xss = 1</script>"


async def recorded(site: RunningServer, sql: str, *args: object) -> int:
    """Wait for a count the browser's actions make the server record (no fixed sleep: the
    loop ends as soon as it is there)."""
    deadline = time.monotonic() + 20
    while True:
        async with site.services.pool.acquire() as conn:
            found = int(await conn.fetchval(sql, *args))
        if found or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.05)


async def knowledge_tab(page: Page) -> None:
    tab = page.locator("#knowledge-tab")
    await expect(tab).to_be_visible()
    await tab.focus()
    await page.keyboard.press("Enter")
    await expect(page.locator("#knowledge-area")).to_be_visible()


async def test_an_editor_writes_an_article_from_a_gap_and_publishes_it_at_once(
    browser: Browser, site: RunningServer, contexts: list[BrowserContext]
) -> None:
    await handed_over(site, "Do you sell gift cards?", "kb_no_answer")
    await handed_over(site, "Can I buy a gift card for my sister?", "out_of_scope")
    await embedded(site)
    editor = await person(site, demo.BRAND_SLUG, "editor")
    SHOTS.mkdir(parents=True, exist_ok=True)

    console = await console_page(browser, contexts, 1280, 900)
    page = console.page
    await console.sign_in(site.base_url, editor, PASSWORD)
    # An editor reads no conversation: their console opens on the Knowledge area.
    await expect(page.locator("#knowledge-area")).to_be_visible()
    await expect(page.locator("#knowledge-tab")).to_have_attribute("aria-selected", "true")
    # Nor the conversation lists' tabs or the online switch: nothing there is theirs.
    await expect(page.locator('#tabs .tab[data-view="queue"]')).to_be_hidden()
    await expect(page.locator('#tabs .tab[data-view="resolved"]')).to_be_hidden()
    await expect(page.locator("#status-switch")).to_be_hidden()
    await expect(page.locator(".kb-count")).to_have_text("0 articles")
    await page.locator("#kb-gaps").click()
    gap = page.locator(".kb-gap").first
    await expect(gap.locator(".kb-gap-count")).to_have_text("2 questions")
    await expect(gap.locator(".kb-examples li")).to_have_count(2)
    await page.screenshot(path=str(SHOTS / "knowledge-gaps-1280.png"), full_page=True)

    # "Write an article" opens the editor with the question as its title.
    await gap.locator(".kb-write").focus()
    await page.keyboard.press("Enter")
    title = page.locator("#kb-title")
    await expect(title).to_have_value(re.compile("gift card"))
    # An empty title: the API's refusal shows next to the field, and the field says so.
    await title.fill("")
    await page.locator("#kb-save").click()
    await expect(page.locator("#kb-title-error")).to_contain_text("title")
    await expect(title).to_have_attribute("aria-invalid", "true")
    await title.fill("Gift cards")
    await page.locator("#kb-category").fill("Payments")
    await page.locator("#kb-tags").fill("gift, vouchers")
    await page.locator("#kb-body").fill(BODY + BODY_TAIL)
    # The live preview is the server's sanitised HTML: the author's script is text.
    preview = page.locator(".kb-rendered")
    await expect(preview.locator("h2")).to_have_text("Buying a gift card")
    await expect(preview.locator("strong")).to_have_text("10 to 200 euros")
    await expect(preview).to_contain_text("<script>")
    await page.locator("#kb-save").focus()
    await page.keyboard.press("Enter")
    await expect(page.locator(".kb-message")).to_have_text("Article created.")
    await page.locator("#kb-publish").click()
    await expect(page.locator(".kb-message")).to_contain_text("Published")
    await expect(page.locator(".kb-version-list li")).to_have_count(2)
    await expect(page.locator(".kb-version-list li").first).to_contain_text("editor of demo")
    await expect(page.locator("#kb-views")).to_have_text("0")
    await page.screenshot(path=str(SHOTS / "knowledge-editor-1280.png"), full_page=True)
    assert await page.evaluate("window.__xss") is None

    # At once in the help center and the public search.
    async with httpx.AsyncClient(base_url=site.base_url) as public:
        center = await public.get("/help/demo/en/gift-cards")
        assert center.status_code == 200
        assert "Buying a gift card" in center.text
        found = await public.get("/api/kb/search", params={"q": "gift card", "brand": "demo"})
        assert found.json()["results"][0]["title"] == "Gift cards"
    # And the gap is closed.
    await page.locator("#kb-back").click()
    await expect(page.locator(".kb-open")).to_have_text(["Gift cards"])
    await expect(page.locator(".kb-open")).to_be_focused()
    await page.locator("#kb-gaps").click()
    await expect(page.locator(".kb-count")).to_have_text("0 gaps")
    assert console.refused == []

    phone = await console_page(browser, contexts, 390, 844)
    await phone.sign_in(site.base_url, editor, PASSWORD)
    await knowledge_tab(phone.page)
    await expect(phone.page.locator(".kb-open")).to_have_text(["Gift cards"])
    await phone.page.screenshot(path=str(SHOTS / "knowledge-list-390.png"), full_page=True)
    await phone.page.locator(".kb-open").click()
    await expect(phone.page.locator(".kb-rendered h2")).to_have_text("Buying a gift card")
    await phone.page.screenshot(path=str(SHOTS / "knowledge-editor-390.png"), full_page=True)
    # Delete asks first, by keyboard; "Keep it" keeps it, "Delete it" deletes.
    await phone.page.locator("#kb-delete").focus()
    await phone.page.keyboard.press("Enter")
    await expect(phone.page.locator("#kb-delete-confirm")).to_be_focused()
    await expect(phone.page.locator(".kb-confirm")).to_contain_text("Delete “Gift cards”")
    await phone.page.screenshot(path=str(SHOTS / "knowledge-delete-390.png"), full_page=True)
    await phone.page.keyboard.press("Enter")
    await expect(phone.page.locator(".kb-count")).to_have_text("0 articles")
    async with httpx.AsyncClient(base_url=site.base_url) as public:
        assert (await public.get("/help/demo/en/gift-cards")).status_code == 404
    assert phone.refused == []


async def test_an_agent_inserts_a_suggested_article_with_hash_and_marks_it_resolved(
    browser: Browser, site: RunningServer, contexts: list[BrowserContext]
) -> None:
    article = await publish(site, demo.BRAND_SLUG)
    asked = await conversation_in(site, demo.WEBCHAT_INBOX, "Hello, do you sell gift cards?")
    lea = await person(site, demo.BRAND_SLUG, "agent", ["support"])
    analyst = await person(site, demo.BRAND_SLUG, "analyst")
    SHOTS.mkdir(parents=True, exist_ok=True)
    # An analyst has no Knowledge tab; an agent reads the articles, and writes none.
    outsider = await console_page(browser, contexts)
    await outsider.sign_in(site.base_url, analyst, PASSWORD)
    await expect(outsider.page.locator("#supervisor-tab")).to_be_visible()
    await expect(outsider.page.locator("#knowledge-tab")).to_be_hidden()
    reader = await console_page(browser, contexts)
    await reader.sign_in(site.base_url, lea, PASSWORD)
    await knowledge_tab(reader.page)
    await expect(reader.page.locator("#kb-new")).to_have_count(0)
    await reader.page.locator(".kb-open").click()
    await expect(reader.page.locator(".kb-rendered h2")).to_have_text("Buying a gift card")
    await expect(reader.page.locator("#kb-title")).to_have_count(0)
    await expect(reader.page.locator("#kb-views")).to_have_text("0")
    for width, height in ((1280, 800), (390, 844)):
        console = await console_page(browser, contexts, width, height)
        page = console.page
        await console.sign_in(site.base_url, lea, PASSWORD)
        await console.open("do you sell gift cards")
        card = page.locator(".kb-article-card")
        await expect(card).to_have_count(1)
        await expect(card.locator(".kb-article-title")).to_have_text("Gift cards")
        # The best article is one of the suggested replies too.
        await expect(page.locator("#suggested-replies .sr-article")).to_contain_text("Gift cards")
        if width == 390:
            await page.locator("#pane-other").click()
        await card.scroll_into_view_if_needed()
        await page.screenshot(path=str(SHOTS / f"knowledge-agent-panel-{width}.png"))
        if width == 390:
            # Marked at 1280 px a moment ago: the mark is the conversation's, read back.
            await expect(card.locator(".kb-resolved")).to_have_text("✓ Resolved it")
            await page.locator("#pane-other").click()
            await page.locator("#reply").focus()
            await page.keyboard.type("#gift")
            await expect(page.locator("#kb-insert-list [role=option]").first).to_be_visible()
            await page.screenshot(path=str(SHOTS / "knowledge-hash-390.png"))
            assert console.refused == []
            continue

        # "#" and words in the reply box: the articles, then Enter inserts the link.
        reply = page.locator("#reply")
        await reply.focus()
        await page.keyboard.type("Hi! Here you go: #gift card")
        options = page.locator("#kb-insert-list [role=option]")
        await expect(options.first).to_contain_text("Gift cards — insert link")
        await expect(reply).to_have_attribute("aria-activedescendant", "kb-insert-list-0")
        await page.screenshot(path=str(SHOTS / "knowledge-hash-1280.png"))
        await page.keyboard.press("Enter")
        await expect(reply).to_have_value(
            re.compile(r"^Hi! Here you go: Gift cards: http://[^ ]+/help/demo/en/gift-cards$")
        )
        await expect(page.locator("#kb-insert-list")).to_have_count(0)
        # Enter again sends it; the article is recorded as sent with that message.
        await page.keyboard.press("Enter")
        await expect(page.locator("#messages li.agent")).to_contain_text("gift-cards")
        assert (
            await recorded(
                site,
                "SELECT count(*) FROM kb_article_uses WHERE conversation_id = $1::uuid"
                " AND kind = 'sent_by_agent' AND article_id = $2::uuid AND message_id IS NOT NULL",
                asked.conversation_id,
                article,
            )
            == 1
        )
        # An order number is no search.
        await reply.focus()
        await page.keyboard.type("order #10234")
        await expect(reply).to_have_value("order #10234")
        await expect(page.locator("#kb-insert-box")).to_be_empty()
        await reply.fill("")
        await card.locator(".kb-mark").click()
        await expect(card.locator(".kb-resolved")).to_have_text("✓ Resolved it")
        assert console.refused == []
    async with site.services.pool.acquire() as conn:
        verdict = await conn.fetchrow(
            "SELECT outcome, source FROM kb_article_outcomes WHERE conversation_id = $1::uuid",
            asked.conversation_id,
        )
        suggested = await conn.fetchval(
            "SELECT count(*) FROM kb_article_uses WHERE conversation_id = $1::uuid"
            " AND kind = 'suggested_to_agent'",
            asked.conversation_id,
        )
    assert verdict is not None
    assert tuple(verdict) == ("resolved", "agent")
    assert suggested == 1

    # The article's figures now count it, and its conversation opens from there.
    page = reader.page
    await page.click("#kb-back")
    await page.locator(".kb-open").click()
    await expect(page.locator("#kb-views")).to_have_text("2")
    await expect(page.locator("#kb-resolution")).to_have_text("100%")
    await expect(page.locator("#kb-not-helpful")).to_have_text("0%")
    used = page.locator(".kb-used li")
    await expect(used).to_have_count(1)
    await expect(used).to_contain_text("resolved it (an agent marked)")
    await page.screenshot(path=str(SHOTS / "knowledge-figures-1280.png"), full_page=True)
    await used.locator("button").click()
    await expect(page.locator("#knowledge-area")).to_be_hidden()
    await expect(page.locator("#messages")).to_contain_text("do you sell gift cards")
    assert reader.refused == []
