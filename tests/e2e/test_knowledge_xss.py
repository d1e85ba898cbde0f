"""The 528 XSS payloads of tests/e2e/xss/ as knowledge-base articles, in Chromium: in the
Knowledge area's list (titles and excerpts), each article's editor and its live preview (the
server's sanitised HTML, copied element by element), and beside a conversation (suggested
articles, the suggested reply, the "#" list). Nothing runs: no dialog, ``window.__xss``
unset, no request to the attacker's host, no CSP refusal.

Every payload is in a body (11 to an article, each its own paragraph, 48 articles) and 48
are titles, one to an article.
"""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from server.services import demo
from server.services.kb import Author
from server.store.kb import Draft
from tests.e2e.test_browser import SHOTS
from tests.e2e.test_xss import PAYLOADS, Watched
from tests.harness import RunningServer
from tests.web_console.brands import PASSWORD, conversation_in, person

pytestmark = pytest.mark.browser

ARTICLES = 48
PER_ARTICLE = len(PAYLOADS) // ARTICLES


async def seed_articles(site: RunningServer) -> list[str]:
    kb = site.services.kb
    assert kb is not None
    made = []
    for n in range(ARTICLES):
        mine = PAYLOADS[n * PER_ARTICLE : (n + 1) * PER_ARTICLE]
        body = "\n\n".join(f"## Part {i}\n\n{p.text}" for i, p in enumerate(mine))
        title = " ".join(PAYLOADS[n * PER_ARTICLE].text.split())[:300] or f"article {n}"
        draft = Draft("en", f"xss-{n}", title, body, "Gift cards", [], "published")
        made.append(str((await kb.create(demo.BRAND_SLUG, draft, Author(None, "xss"))).id))
    return made


async def test_no_article_payload_runs_in_the_knowledge_area_or_beside_a_conversation(
    browser: Browser, site: RunningServer
) -> None:
    await seed_articles(site)
    # A customer whose question is the first article's text: its articles are suggested.
    await conversation_in(site, demo.WEBCHAT_INBOX, f"gift cards {PAYLOADS[0].text}")
    sam = await person(site, demo.BRAND_SLUG, "supervisor")
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    watched = Watched(page, site.base_url)
    await page.goto(f"{site.base_url}/console")
    await page.fill("input[name=email]", sam)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await expect(page.locator("#live")).to_have_text("live")

    await page.click("#knowledge-tab")
    await expect(page.locator(".kb-open")).to_have_count(ARTICLES)
    await watched.assert_clean("the article list")
    for n in range(ARTICLES):
        await page.locator(".kb-open").nth(n).click()
        await expect(page.locator(".kb-rendered h2")).to_have_count(PER_ARTICLE)
        await expect(page.locator("#kb-views")).to_be_visible()
        await watched.assert_clean(f"article {n}'s editor and preview")
        await page.locator("#kb-back").click()
        await expect(page.locator(".kb-open")).to_have_count(ARTICLES)
    # The live preview of every payload at once, as an author types.
    await page.locator("#kb-new").click()
    await page.locator("#kb-body").fill("\n\n".join(p.text for p in PAYLOADS))
    await expect(page.locator(".kb-rendered p").first).to_be_visible()
    await page.screenshot(path=str(SHOTS / "knowledge-xss-preview.png"))
    await watched.assert_clean("the live preview of all 528")

    await page.click("#tabs [data-view=open]")
    await page.locator("#conversations li", has_text="gift cards").click()
    await expect(page.locator(".kb-article-card")).not_to_have_count(0)
    await page.locator("#reply").focus()
    await page.keyboard.type("#gift cards")
    await expect(page.locator("#kb-insert-list [role=option]").first).to_be_visible()
    await page.keyboard.press("Enter")
    await page.screenshot(path=str(SHOTS / "knowledge-xss-panel.png"))
    await watched.assert_clean("suggested articles, the suggested reply and the # list")
    await context.close()
