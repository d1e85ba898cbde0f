"""The bot designer's whole journey in one real Chromium (issue 19): in the Bot area a
designer adds an intent with examples in English and French, a response with an English and a
French variation and the rule that ties them; trains from "Train and test" (the steps shown,
then "the new model serves"); tests a sentence and sees the new intent ranked first; then a
customer in the web-chat widget writes a sentence of that intent, in French, and gets the new
answer. Every wait is on the page's or the database's state. Screenshots at 1280 px
(var/screenshots/bot-journey-*.png)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, expect

from server.services import demo
from tests.e2e.bot_area import press_on
from tests.e2e.test_bot_studio_browser import EXAMPLES, nlu_cache, project, studio_site
from tests.e2e.test_bot_training_browser import SLOW, bot_said, shoot
from tests.e2e.test_browser import SHOTS
from tests.e2e.test_context_panel import console_page, contexts
from tests.harness import RunningServer, customer
from tests.web_console.brands import PASSWORD, person

pytestmark = pytest.mark.browser
__all__ = ["contexts", "nlu_cache", "project", "studio_site"]  # fixtures, imported

ENGLISH = "I can't see outside, but your phone's forecast can."
FRENCH = "Je ne vois pas dehors, mais la météo de votre téléphone, si."


async def test_a_designer_ships_a_new_intent_and_a_customer_gets_its_answer(
    browser: Browser,
    studio_site: RunningServer,
    contexts: list[BrowserContext],
    project: Path,
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    designer = await person(studio_site, demo.BRAND_SLUG, "designer")
    console = await console_page(browser, contexts, 1280, 800)
    page = console.page
    await console.sign_in(studio_site.base_url, designer, PASSWORD)
    await expect(page.locator("#bot-intents tbody tr")).not_to_have_count(0)

    # The intent, with examples in English and French.
    await press_on(page, "#bot-new-intent")
    await page.locator("#bot-new-intent-name").fill("ask_weather")
    await page.locator("#bot-new-intent-examples").fill("\n".join(EXAMPLES))
    await page.locator("#bot-version-message").fill("weather questions")
    await press_on(page, "#bot-new-intent-save")
    await expect(page.locator("#bot-save-status")).to_contain_text("Saved as version")
    await expect(page.locator("#bot-intent h4", has_text="en:")).to_be_visible()
    await expect(page.locator("#bot-intent h4", has_text="fr:")).to_be_visible()

    # The response, in any language and in French.
    await press_on(page, "#bot-show-responses")
    await press_on(page, "#bot-new-response")
    await page.locator("#bot-response-name").fill("utter_weather")
    texts = page.locator("#bot-response-editor .bot-variation-text")
    await texts.nth(0).fill(ENGLISH)
    if await texts.count() < 2:
        await press_on(page, "#bot-add-variation")
    await page.locator("#bot-response-editor .bot-variation-language").nth(1).fill("fr")
    await texts.nth(1).fill(FRENCH)
    await press_on(page, "#bot-response-save")
    await expect(page.locator("#bot-save-status")).to_contain_text("Saved as version 2")

    # The rule: when the customer asks about the weather, the bot says utter_weather.
    await press_on(page, "#bot-show-flows")
    await press_on(page, "#bot-new-rule")
    await page.locator("#bot-flow-name").fill("weather")
    names = page.locator("#bot-flow-editor .bot-step-name")
    await names.nth(0).fill("ask_weather")
    await names.nth(1).fill("utter_weather")
    await press_on(page, "#bot-flow-save")
    await expect(page.locator("#bot-save-status")).to_contain_text("Saved as version 3")
    assert "utter_weather" in (project / "data" / "rules.yml").read_text()

    # Train: the steps as they come, then the new model serves.
    await press_on(page, "#bot-show-training")
    await press_on(page, "#bt-train")
    job = page.locator("#bt-train-job")
    await expect(job.locator(".bt-steps li").first).to_be_visible(timeout=SLOW)
    await expect(page.locator("#bt-train-done")).to_contain_text("new model serves", timeout=SLOW)
    await expect(job.locator(".bt-steps li", has_text="training: intents")).to_have_count(1)

    # Test a sentence: the new intent ranked first, and utter_weather would follow.
    await page.locator("#bt-sentence").focus()
    await page.keyboard.type("is it going to rain today?")
    await page.keyboard.press("Enter")
    first = page.locator("#bt-result-embedded .bt-ranking li").first
    await expect(first).to_contain_text("ask_weather")
    await expect(page.locator("#bt-result-embedded .bt-next li").first).to_contain_text(
        "utter_weather"
    )
    await shoot(page, "#bot-training", "bot-journey-trained-1280.png")

    # A customer in the widget asks, in French, and gets the new answer.
    english = await customer(studio_site, "will it rain today?")
    assert await bot_said(studio_site, english) == [ENGLISH]
    french = await customer(studio_site, "va-t-il pleuvoir demain ?")
    assert await bot_said(studio_site, french) == [FRENCH]
