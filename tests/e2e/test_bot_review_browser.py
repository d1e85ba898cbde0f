"""The trainer review inbox in a real Chromium (issue 19). An agent flags a customer message
as "bot got this wrong" from the transcript and it arrives in the inbox; a trainer, by
keyboard, selects five messages the bot did not understand, labels them with a new intent,
retrains with one click, and the same messages, written again by customers, now parse to
that intent; the Health section shows the retrain's effect. axe finds no serious violation.
Screenshots at 1280 and 390 px (var/screenshots/bot-review-*.png, bot-health-*.png)."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, expect

from nlu.project import SHIPPED_PROJECT
from server.services import demo
from tests.e2e.axe import blocking, violations
from tests.e2e.bot_area import bot_area_for_axe
from tests.e2e.test_browser import SHOTS
from tests.e2e.test_context_panel import console_page, contexts
from tests.harness import RunningServer, free_port, run_server, settings_for
from tests.web_console.brands import PASSWORD, conversation_in, person

pytestmark = pytest.mark.browser
__all__ = ["contexts"]

# Five ways of asking to pay with seashells that the shipped bot does not understand (a
# fallback or a confidence under its threshold, checked with `switchboard nlu parse`).
SHELLS = (
    "can I pay with seashells",
    "seashells accepted as money?",
    "shell money accepted",
    "do seashells count as cash",
    "is shell money fine with you",
)
FLAGGED = "the washing instructions for my jacket please"
INTENT = "pay_with_shells"


@pytest.fixture(scope="module")
def nlu_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("nlu-cache")


@pytest.fixture
async def review_site(dsn: str, tmp_path: Path, nlu_cache: Path) -> AsyncIterator[RunningServer]:
    project = tmp_path / "project"
    shutil.copytree(SHIPPED_PROJECT, project)
    settings = settings_for(
        dsn,
        tmp_path,
        port=free_port(),
        allowed_origins=[],
        nlu_engine="embedded",
        nlu_project=project,
        nlu_cache_dir=nlu_cache,
    )
    async with run_server(settings) as running:
        yield running


async def intents_of(site: RunningServer, texts: tuple[str, ...]) -> list[str]:
    """The intent the bot gives each text, written by a new customer now."""
    found = []
    for text in texts:
        said = await conversation_in(site, demo.WEBCHAT_INBOX, text)
        async with site.services.pool.acquire() as conn:
            intent = await conn.fetchval(
                "SELECT coalesce(nlu->>'retrieval_intent', nlu->>'intent') FROM messages"
                " WHERE id = $1",
                said.message_id,
            )
        found.append(str(intent))
    return found


async def test_a_trainer_relabels_five_messages_and_retrains_and_an_agent_flags_one(
    browser: Browser, review_site: RunningServer, contexts: list[BrowserContext]
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    before = await intents_of(review_site, SHELLS)
    assert INTENT not in before
    await conversation_in(review_site, demo.WEBCHAT_INBOX, FLAGGED)

    # An agent flags the bot's answer from the transcript.
    agent = await person(review_site, demo.BRAND_SLUG, "supervisor")
    desk = await console_page(browser, contexts)
    await desk.sign_in(review_site.base_url, agent, PASSWORD)
    await desk.open(FLAGGED)
    message = desk.page.locator("#messages li.customer", has_text=FLAGGED)
    await message.get_by_role("button", name="Bot got this wrong").click()
    await message.get_by_label("Note").fill("asked for care instructions, got a greeting")
    await message.get_by_role("button", name="Send flag").click()
    await expect(message.locator(".bot-flag-done")).to_have_text("Flagged for the trainers")
    await desk.page.screenshot(path=str(SHOTS / "bot-review-flag-1280.png"))

    # The trainer's inbox: the five messages, and the flagged one with its note.
    trainer = await person(review_site, demo.BRAND_SLUG, "designer")
    console = await console_page(browser, contexts, 1280, 900)
    page = console.page
    await console.sign_in(review_site.base_url, trainer, PASSWORD)
    await page.locator("#bot-show-review").focus()
    await page.keyboard.press("Enter")
    flagged = page.locator(".review-item", has_text=FLAGGED)
    await expect(flagged.locator(".review-flag")).to_contain_text("care instructions")
    for text in SHELLS:
        await expect(page.locator(".review-item", has_text=text).first).to_be_visible()
    # The area scrolls inside the page: a tall window shows all of it in the screenshot.
    await page.set_viewport_size({"width": 1280, "height": 2000})
    await page.screenshot(path=str(SHOTS / "bot-review-inbox-1280.png"))
    await page.set_viewport_size({"width": 1280, "height": 900})

    # Select the five by keyboard (Space on each checkbox), name the intent, label them.
    for text in SHELLS:
        await page.locator(".review-item", has_text=text).first.locator(".review-select").focus()
        await page.keyboard.press("Space")
    await expect(page.locator("#review-selected")).to_have_text("5 selected")
    await page.locator("#review-bulk-intent").focus()
    await page.keyboard.type(INTENT)
    await page.locator("#review-bulk-label").focus()
    await page.keyboard.press("Enter")
    await expect(page.locator("#review-notice")).to_contain_text("5 messages labelled")
    for text in SHELLS:
        await expect(page.locator(".review-item", has_text=text)).to_have_count(0)

    # One item's review: its ranking and the conversation around it.
    await flagged.locator(".review-open").click()
    await expect(page.locator("#review-message")).to_have_value(FLAGGED)
    await expect(page.locator(".review-line.current")).to_contain_text(FLAGGED)
    await page.screenshot(path=str(SHOTS / "bot-review-detail-1280.png"), full_page=True)

    # Retrain with one click; the five now parse to the confirmed intent.
    await page.locator("#review-retrain").focus()
    await page.keyboard.press("Enter")
    await expect(page.locator("#review-notice")).to_contain_text("Retrained", timeout=600_000)
    await expect(page.locator("#review-notice")).to_contain_text("100 % after")
    assert await intents_of(review_site, SHELLS) == [INTENT] * 5

    # Health: the retrain's effect on the reviewed set.
    await page.locator("#bot-show-health").focus()
    await page.keyboard.press("Enter")
    await expect(page.locator("#health-trainings tbody tr")).to_have_count(1)
    await expect(page.locator("#health-trainings tbody tr")).to_contain_text("100 %")
    await expect(page.locator("#health-weeks tbody tr")).not_to_have_count(0)
    await page.set_viewport_size({"width": 1280, "height": 2000})
    await page.screenshot(path=str(SHOTS / "bot-health-1280.png"))

    # The same at 390 px.
    await page.set_viewport_size({"width": 390, "height": 844})
    await page.screenshot(path=str(SHOTS / "bot-health-390.png"), full_page=True)
    await page.locator("#bot-show-review").click()
    await page.locator("#review-status").select_option("all")
    await expect(page.locator(".review-item", has_text=SHELLS[0]).first).to_be_visible()
    await page.screenshot(path=str(SHOTS / "bot-review-inbox-390.png"), full_page=True)
    assert not console.refused, console.refused
    assert not desk.refused, desk.refused


async def test_axe_finds_no_serious_violation_in_review_and_health(
    browser: Browser, review_site: RunningServer, contexts: list[BrowserContext]
) -> None:
    await conversation_in(review_site, demo.WEBCHAT_INBOX, SHELLS[0])
    await conversation_in(review_site, demo.WEBCHAT_INBOX, SHELLS[1])
    admin = await person(review_site, demo.BRAND_SLUG, "admin")
    found: list[str] = []
    for width in (1280, 390):
        page = await bot_area_for_axe(browser, review_site, admin, width, contexts)
        await page.click("#bot-show-review")
        await expect(page.locator(".review-item")).to_have_count(2)
        await page.locator(".review-item .review-open").first.click()
        await expect(page.locator("#review-message")).to_be_visible()
        await page.screenshot(path=str(SHOTS / f"bot-review-detail-{width}.png"), full_page=True)
        found += [f"review@{width}: {v}" for v in blocking(await violations(page))]
        await page.click("#bot-show-health")
        await expect(page.locator("#health-weeks tbody tr")).not_to_have_count(0)
        found += [f"health@{width}: {v}" for v in blocking(await violations(page))]
    assert found == [], "\n".join(found)


async def test_an_item_labelled_from_its_own_buttons_hands_the_focus_to_the_next(
    browser: Browser, review_site: RunningServer, contexts: list[BrowserContext]
) -> None:
    """An item labelled from its own buttons leaves the inbox: the focus goes to the item now
    in its place, then, the inbox empty, to "Select all shown" (before: the page's body)."""
    await conversation_in(review_site, demo.WEBCHAT_INBOX, SHELLS[0])
    await conversation_in(review_site, demo.WEBCHAT_INBOX, SHELLS[1])
    trainer = await person(review_site, demo.BRAND_SLUG, "designer")
    console = await console_page(browser, contexts, 390, 844)
    page = console.page
    await console.sign_in(review_site.base_url, trainer, PASSWORD)
    await page.locator("#bot-show-review").focus()
    await page.keyboard.press("Enter")
    items = page.locator(".review-item")
    await expect(items).to_have_count(2)
    second = await items.nth(1).get_attribute("data-message")
    await items.first.locator(".review-ignore").focus()
    await page.keyboard.press("Enter")
    await expect(items).to_have_count(1)
    await expect(page.locator(f'li[data-message="{second}"] .review-select')).to_be_focused()
    await items.first.locator(".review-ignore").focus()
    await page.keyboard.press("Enter")
    await expect(items).to_have_count(0)
    await expect(page.locator("#review-select-all")).to_be_focused()
    assert not console.refused, console.refused
