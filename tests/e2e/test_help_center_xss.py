"""The 528 XSS payloads of tests/e2e/xss/ in the help center, in Chromium, run nothing: each
is in an article's Markdown body (12 to an article, a paragraph each), one in each article's
title and category, and some as search questions. No dialog opens, ``window.__xss`` stays
unset, no request leaves for the attacker's host, and the page's policy refuses nothing (a
refusal would mean markup got through the sanitiser)."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser

from server.services import demo
from server.services.kb import Author
from server.store.kb import Draft
from tests.e2e.test_browser import SHOTS
from tests.e2e.test_xss import PAYLOADS, Watched
from tests.harness import RunningServer

pytestmark = pytest.mark.browser

PER_ARTICLE = 12  # 44 articles
QUESTIONS = 24


async def test_no_payload_runs_in_the_help_center(site: RunningServer, browser: Browser) -> None:
    kb = site.services.kb
    assert kb is not None
    slugs = []
    for n in range(0, len(PAYLOADS), PER_ARTICLE):
        own = PAYLOADS[n : n + PER_ARTICLE]
        title = own[0].text[:250] or "payload"
        draft = Draft(
            "en",
            f"xss-{n}",
            title,
            "\n\n".join(p.text for p in own),
            own[-1].text[:100],
            [],
            "published",
        )
        slugs.append((await kb.create(demo.BRAND_SLUG, draft, Author(None, own[1].text))).slug)
    page = await browser.new_page()
    watched = Watched(page, site.base_url)
    await page.goto(f"{site.base_url}/help/{demo.BRAND_SLUG}/en")
    await watched.assert_clean("the help center's home")
    assert await page.locator("article, section").count() > 0
    await page.screenshot(path=str(SHOTS / "help_center_xss_home.png"), full_page=False)
    for slug in slugs:
        response = await page.goto(f"{site.base_url}/help/{demo.BRAND_SLUG}/en/{slug}")
        assert response is not None
        assert response.status == 200
        await watched.assert_clean(f"article {slug}")
    for payload in PAYLOADS[:: len(PAYLOADS) // QUESTIONS]:
        await page.goto(f"{site.base_url}/help/{demo.BRAND_SLUG}/en")
        await page.fill("input[name=q]", payload.text[:500])
        await page.press("input[name=q]", "Enter")
        await page.wait_for_load_state()
        await watched.assert_clean(f"search for payload {payload.number}")
    await page.close()
