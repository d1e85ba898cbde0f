"""The bot's knowledge-base answer in a real Chromium (issue 18). A customer asks something
no intent covers, gets article cards (title linked to the help center, excerpt) and "Did
this answer your question?"; they answer "No" by keyboard, a person is brought in with
reason kb_not_helpful, and the agent sees the articles shown, with the customer's verdict,
on the context card. The widget's cards in English at 1280 px and in French at 390 px
(var/screenshots/widget-kb-*.png). And the XSS check: 528 payloads as titles, excerpts and
links of article cards render as text in the widget, and none runs."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from server.pipeline.messages import message_created
from server.services import demo
from server.services.kb import Author
from server.store import conversation_row, insert_message, store_events
from server.store.kb import Draft
from tests.e2e.axe import blocking, violations
from tests.e2e.test_bot import bot_settings
from tests.e2e.test_browser import SHOTS
from tests.e2e.test_context_panel import console_page, contexts
from tests.e2e.test_xss import PAYLOADS, Watched
from tests.e2e.xss.payloads import ATTACKER
from tests.harness import RunningServer, free_port, run_server
from tests.web_console.brands import PASSWORD, person

pytestmark = pytest.mark.browser
__all__ = ["contexts"]

EDITOR = Author(None, "Editor")
ARTICLES = [
    Draft(
        "en",
        "",
        "Caring for leather boots",
        "Brush leather boots with a soft brush after wearing them, then rub in a leather balm "
        "once a month. Let wet boots dry slowly, away from radiators.",
        "Products",
        [],
        "published",
    ),
    Draft(
        "en",
        "",
        "Waterproofing leather shoes",
        "Spray a waterproofing product on clean, dry leather shoes and boots every few weeks.",
        "Products",
        [],
        "published",
    ),
    Draft(
        "fr",
        "",
        "Entretenir vos bottes en cuir",
        "Brossez vos bottes en cuir avec une brosse douce après les avoir portées, puis "
        "appliquez un baume pour cuir une fois par mois.",
        "Produits",
        [],
        "published",
    ),
]
# Questions the shop's bot has no intent for (the embedded engine says out_of_scope).
QUESTION = "How should I care for my leather boots?"
QUESTION_FR = "Comment entretenir mes bottes en cuir ?"


@pytest.fixture(scope="module")
def nlu_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("nlu-cache")


@pytest.fixture
async def shop(dsn: str, tmp_path: Path, nlu_cache: Path) -> AsyncIterator[RunningServer]:
    """The server with the embedded bot, its own page's origin allowed, and articles."""
    settings = bot_settings(
        "embedded", dsn, tmp_path, nlu_cache, None, port=free_port(), allowed_origins=[]
    )
    async with run_server(settings) as running:
        kb = running.services.kb
        assert kb is not None
        for draft in ARTICLES:
            await kb.create(demo.BRAND_SLUG, draft, EDITOR)
        yield running


async def widget(
    browser: Browser, contexts: list[BrowserContext], width: int, lang: str
) -> tuple[Page, list[str]]:
    """A customer's page, and what its scripts threw or its CSP refused."""
    context = await browser.new_context(
        viewport={"width": width, "height": 800 if width > 500 else 844}, locale=lang
    )
    contexts.append(context)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on(
        "console",
        lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None,
    )
    return page, errors


async def open_chat(page: Page, site: RunningServer, question: str) -> None:
    await page.goto(site.base_url + "/")
    await expect(page.locator("[data-sb=status]")).to_have_text(re.compile("online|en ligne"))
    if not await page.locator("[data-sb=input]").is_visible():
        await page.click("[data-sb=launcher]")
    await page.fill("[data-sb=input]", question)
    await page.press("[data-sb=input]", "Enter")


async def test_a_customer_gets_article_cards_says_no_and_the_agent_sees_them(
    browser: Browser, shop: RunningServer, contexts: list[BrowserContext]
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    customer, errors = await widget(browser, contexts, 1280, "en-GB")
    await open_chat(customer, shop, QUESTION)
    answer = customer.locator("[data-sb=kb]")
    await expect(answer).to_be_visible()
    cards = answer.locator("[data-sb=article]")
    await expect(cards.first).to_contain_text("Caring for leather boots")
    await expect(cards.first.locator(".sb-excerpt")).to_contain_text("Brush leather boots")
    link = cards.first.locator("a")
    href = await link.get_attribute("href")
    assert href == f"{shop.base_url}/help/demo/en/caring-for-leather-boots"
    assert await link.get_attribute("target") == "_blank"
    # Screen readers hear that the link opens a new tab, and what each button answers.
    await expect(link).to_have_accessible_name("Caring for leather boots (opens in a new tab)")
    ask = answer.locator("[data-sb=kb-ask]")
    await expect(ask).to_have_accessible_name("Did this answer your question?")
    no = ask.locator("[data-sb=kb-no]")
    await expect(no).to_have_accessible_name("No, this did not answer my question")
    # Read out as the titles and the question, not the links.
    announcer = customer.locator("[data-sb=announcer]")
    await expect(announcer).to_contain_text("Caring for leather boots")
    await expect(announcer).to_contain_text("Did this answer your question?")
    assert "http" not in await announcer.inner_text()
    await customer.locator("[data-sb=sb-panel], .sb-panel").screenshot(
        path=str(SHOTS / "widget-kb-1280.png")
    )
    # By keyboard: Tab from the article link reaches the buttons; Enter on "No".
    await link.focus()
    for _ in range(len(await cards.all()) + 2):
        if await no.evaluate("b => b === b.getRootNode().activeElement"):
            break
        await customer.keyboard.press("Tab")
    assert await no.evaluate("b => b === b.getRootNode().activeElement")
    await customer.keyboard.press("Enter")
    # The buttons go; a person is brought in.
    await expect(ask).to_have_count(0)
    await expect(customer.locator(".sb-msg[data-author=system]")).to_have_count(1)
    async with shop.services.pool.acquire() as conn:
        conv = await conn.fetchrow(
            "SELECT id, status, handoff_reason FROM conversations WHERE channel = 'webchat'"
        )
        verdicts = await conn.fetch(
            "SELECT a.title, o.outcome, o.source FROM kb_article_outcomes o"
            " JOIN kb_articles a ON a.id = o.article_id"
        )
    assert conv is not None
    assert (conv["status"], conv["handoff_reason"]) in (
        ("queued", "kb_not_helpful"),
        ("assigned", "kb_not_helpful"),
    )
    assert ("Caring for leather boots", "not_helpful", "customer") in [tuple(v) for v in verdicts]
    assert errors == []

    # The agent opens it: the articles shown, and what the customer said, on the card.
    sam = await person(shop, demo.BRAND_SLUG, "supervisor")
    console = await console_page(browser, contexts)
    await console.sign_in(shop.base_url, sam, PASSWORD)
    # The one conversation (its list item shows its latest message).
    await console.page.click("#tabs [data-view=open]")
    await console.page.locator("#conversations li").first.click()
    await expect(console.page.locator("#context-panel")).to_be_visible()
    panel = console.page.locator("#context-panel")
    await expect(panel.locator("#cp-handoff + p")).to_contain_text("articles did not help")
    shown = panel.locator(".kb-shown-item")
    await expect(shown.first).to_contain_text("Caring for leather boots")
    await expect(shown.first).to_contain_text("shown by the bot")
    await expect(shown.first).to_contain_text("did not help")
    await expect(shown.first).to_contain_text("the customer said so")
    await panel.locator(".kb-shown").screenshot(path=str(SHOTS / "console-kb-shown-1280.png"))
    assert console.refused == []


async def test_the_cards_in_french_on_a_phone(
    browser: Browser, shop: RunningServer, contexts: list[BrowserContext]
) -> None:
    customer, errors = await widget(browser, contexts, 390, "fr-FR")
    await open_chat(customer, shop, QUESTION_FR)
    answer = customer.locator("[data-sb=kb]")
    await expect(answer.locator("[data-sb=article]").first).to_contain_text(
        "Entretenir vos bottes en cuir"
    )
    await expect(answer.locator("[data-sb=kb-ask]")).to_have_accessible_name(
        "Cela répond-il à votre question ?"
    )
    await expect(answer.locator("[data-sb=kb-yes]")).to_have_text("Oui")
    await customer.screenshot(path=str(SHOTS / "widget-kb-390.png"))
    await answer.locator("[data-sb=kb-yes]").click()
    bot = customer.locator(".sb-msg[data-author=bot] .sb-text")
    await expect(bot.last).to_contain_text("Ravi d'avoir pu vous aider")
    async with shop.services.pool.acquire() as conn:
        verdict = await conn.fetchrow("SELECT outcome, source FROM kb_article_outcomes")
    assert verdict is not None
    assert tuple(verdict) == ("resolved", "customer")
    assert errors == []


ARTICLES_PER_CARD = 3
# What a payload's link is made of: a help center address with it in the query, the payload
# alone, and a javascript: address (the widget links only http(s)).
LINKS = ("https://help.test/a?q=", "", "javascript:")


async def test_no_payload_runs_in_the_widgets_article_cards(
    browser: Browser, shop: RunningServer, contexts: list[BrowserContext]
) -> None:
    context = await browser.new_context(viewport={"width": 390, "height": 844})
    contexts.append(context)
    await context.route(f"**://{ATTACKER}/**", lambda route: route.abort())
    watched = Watched(await context.new_page(), shop.base_url)
    page = watched.page
    await open_chat(page, shop, "hello")
    # Stored and answered (the bot greets back).
    await expect(page.locator(".sb-msg[data-author=bot]").first).to_be_visible()
    async with shop.services.pool.acquire() as conn:
        conversation_id = str(
            await conn.fetchval("SELECT id FROM conversations WHERE channel = 'webchat'")
        )
        # The bot's answers carry every payload as a title, an excerpt and a link (the
        # widget keeps http(s) links only), three articles to an answer, stored and
        # published as the pipeline does.
        async with conn.transaction():
            conv = await conversation_row(conn, conversation_id, lock=True)
            pending = []
            for start in range(0, len(PAYLOADS), ARTICLES_PER_CARD):
                batch = PAYLOADS[start : start + ARTICLES_PER_CARD]
                card: dict[str, Any] = {
                    "language": "en",
                    "intro": batch[0].text,
                    "ask": batch[-1].text,
                    "articles": [
                        {
                            "id": f"00000000-0000-0000-0000-{p.number:012d}",
                            "title": p.text,
                            "url": LINKS[p.number % len(LINKS)] + p.text,
                            "excerpt": p.text,
                        }
                        for p in batch
                    ],
                }
                message = await insert_message(
                    conn,
                    conversation_id,
                    direction="out",
                    author_kind="bot",
                    channel="webchat",
                    text="articles",
                    meta={"action": "kb_answer", "kb": card},
                )
                assert message is not None
                pending.append(message_created(conv, message))
            stored = await store_events(conn, pending)
    for event in stored:
        await shop.services.bus.publish(event)
    titles = page.locator("[data-sb=article] .sb-article-title")
    await expect(titles).to_have_count(len(PAYLOADS), timeout=60_000)
    await watched.assert_clean("widget, article cards live")
    # Only http(s) addresses became links; the others are plain titles.
    hrefs = await page.locator("a.sb-article-title").evaluate_all("as => as.map(a => a.href)")
    assert hrefs
    assert len(hrefs) == len(PAYLOADS[:: len(LINKS)])
    assert all(h.startswith("https://help.test/") for h in hrefs)
    # Every title is its payload, as text.
    shown = await titles.evaluate_all("ts => ts.map(t => t.firstChild.textContent)")
    assert shown == [p.text for p in PAYLOADS]
    # And after a reload, from the history.
    await page.reload()
    await expect(page.locator("[data-sb=article]")).to_have_count(len(PAYLOADS), timeout=60_000)
    await watched.assert_clean("widget, article cards from the history")
    await page.screenshot(path=str(SHOTS / "xss-widget-kb.png"))


async def test_the_cards_pass_axe_at_1280_and_390(
    browser: Browser, shop: RunningServer, contexts: list[BrowserContext]
) -> None:
    """WCAG 2.1 A/AA on the widget showing the cards and their question (axe-core; the
    audit's context bypasses the CSP only to add axe, tests/e2e/axe.py says why)."""
    found = {}
    for width in (1280, 390):
        context = await browser.new_context(
            viewport={"width": width, "height": 800 if width > 500 else 844}, bypass_csp=True
        )
        contexts.append(context)
        page = await context.new_page()
        await open_chat(page, shop, QUESTION)
        await expect(page.locator("[data-sb=kb-ask]").last).to_be_visible()
        found[width] = blocking(await violations(page))
    assert found == {1280: [], 390: []}
