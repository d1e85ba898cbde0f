"""The bot studio in a real Chromium (issue 19): a designer adds an intent with examples in
two languages (en, fr), annotates an entity by selecting its words, writes a response with an
English and a French variation, and finds each save in the versions with its diff; an edit
that breaks a file is refused with its file and line, nothing is written, and the bot keeps
answering. Screenshots at 1280 and 390 px (var/screenshots/studio-*.png)."""

from __future__ import annotations

import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, expect

from nlu.project import SHIPPED_PROJECT
from server.services import demo
from tests.e2e.axe import blocking, violations
from tests.e2e.bot_area import bot_area_for_axe, press_on
from tests.e2e.test_browser import SHOTS
from tests.e2e.test_context_panel import console_page, contexts
from tests.harness import RunningServer, free_port, run_server, settings_for
from tests.web_console.brands import PASSWORD, person

pytestmark = pytest.mark.browser
__all__ = ["contexts"]  # the fixture, imported for this module's tests

EXAMPLES = [
    "what is the weather like",
    "will it rain today",
    "weather forecast please",
    "quel temps fait-il",
    "va-t-il pleuvoir aujourd'hui",
    "la météo de demain s'il vous plaît",
]


@pytest.fixture(scope="module")
def nlu_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("nlu-cache")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "shipped"
    # The shipped bot speaks English and French; its custom actions are not needed here.
    shutil.copytree(SHIPPED_PROJECT, root, ignore=shutil.ignore_patterns("actions", "__pycache__"))
    return root


@pytest.fixture
async def studio_site(
    dsn: str, tmp_path: Path, nlu_cache: Path, project: Path
) -> AsyncIterator[RunningServer]:
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


@pytest.mark.parametrize("width", [1280, 390])
async def test_a_designer_edits_the_bot_and_every_save_is_a_version(
    browser: Browser,
    studio_site: RunningServer,
    contexts: list[BrowserContext],
    project: Path,
    width: int,
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    designer = await person(studio_site, demo.BRAND_SLUG, "designer")
    console = await console_page(browser, contexts, width, 800 if width > 600 else 844)
    page = console.page
    await console.sign_in(studio_site.base_url, designer, PASSWORD)
    await expect(page.locator("#bot-area")).to_be_visible()
    await expect(page.locator("#bot-intents tbody tr")).not_to_have_count(0)

    # A new intent, by keyboard: its name and first examples in English and French.
    await press_on(page, "#bot-new-intent")
    await page.locator("#bot-new-intent-name").fill("ask_weather")
    await page.locator("#bot-new-intent-examples").fill("\n".join(EXAMPLES))
    await page.locator("#bot-version-message").fill("weather questions")
    await press_on(page, "#bot-new-intent-save")
    await expect(page.locator("#bot-save-status")).to_contain_text("Saved as version")
    await expect(page.locator("#bot-intent-heading")).to_have_text("ask_weather")
    await expect(page.locator("#bot-intent .bot-examples > li")).to_have_count(6)
    await expect(page.locator("#bot-intent h4", has_text="fr:")).to_be_visible()
    # Fewer than five examples a language: the designer is warned.
    await expect(page.locator("#bot-intent .bot-warnings")).to_contain_text("Only 3 examples in en")

    # An example with an entity, marked by selecting its words.
    editor = page.locator('#bot-intent form[aria-label="New example"]')
    box = editor.locator(".bot-example-input")
    await box.fill("how about Paris tomorrow")
    # What already exists under another intent is said as they type.
    await box.fill("hello support")
    await expect(editor.locator(".bot-warning")).to_contain_text("another intent: greet")
    await box.fill("how about Paris tomorrow")
    await box.focus()
    await page.keyboard.press("Home")
    for _ in range(len("how about ")):
        await page.keyboard.press("ArrowRight")
    for _ in range(len("Paris")):
        await page.keyboard.press("Shift+ArrowRight")
    await expect(editor.locator(".bot-selection")).to_contain_text("Paris")
    await editor.locator(".bot-annotate select").select_option("__new")
    await editor.get_by_label("New entity's name").fill("city")
    await editor.get_by_role("button", name="Mark as entity").click()
    await expect(editor.locator(".bot-markup")).to_have_text("how about [Paris](city) tomorrow")
    await editor.screenshot(path=str(SHOTS / f"studio-example-{width}.png"))
    await editor.get_by_role("button", name="Add example").click()
    await expect(page.locator("#bot-intent .bot-examples > li")).to_have_count(7)
    await expect(
        page.locator("#bot-intent li", has_text="how about Paris").locator("mark")
    ).to_have_text("Pariscity")
    assert "how about [Paris](city) tomorrow" in (project / "data" / "nlu.yml").read_text()

    # A response, in English (any language) and in French.
    await press_on(page, "#bot-show-responses")
    await press_on(page, "#bot-new-response")
    await page.locator("#bot-response-name").fill("utter_weather")
    texts = page.locator("#bot-response-editor .bot-variation-text")
    await texts.nth(0).fill("I can't see outside, but your phone's forecast can.")
    languages = page.locator("#bot-response-editor .bot-variation-language")
    if await texts.count() < 2:
        await press_on(page, "#bot-add-variation")
    await languages.nth(1).fill("fr")
    await texts.nth(1).fill("Je ne vois pas dehors, mais la météo de votre téléphone, si.")
    await page.locator("#bot-response-editor").screenshot(
        path=str(SHOTS / f"studio-response-{width}.png")
    )
    await press_on(page, "#bot-response-save")
    await expect(page.locator("#bot-save-status")).to_contain_text("Saved as version 3")
    weather = page.locator("#bot-responses > li", has_text="utter_weather")
    await expect(weather.locator(".bot-variations > li")).to_have_count(2)
    await expect(weather.locator(".bot-variations > li").nth(1)).to_contain_text("fr")

    # A rule: when the customer asks about the weather, the bot says utter_weather.
    await press_on(page, "#bot-show-flows")
    await press_on(page, "#bot-new-rule")
    await page.locator("#bot-flow-name").fill("weather")
    names = page.locator("#bot-flow-editor .bot-step-name")
    await names.nth(0).fill("ask_weather")
    await names.nth(1).fill("utter_weather")
    await page.locator("#bot-flow-editor").screenshot(path=str(SHOTS / f"studio-rule-{width}.png"))
    await press_on(page, "#bot-flow-save")
    await expect(page.locator("#bot-save-status")).to_contain_text("Saved as version 4")
    rule = page.locator("#bot-flows > li", has_text="weather").filter(has_text="utter_weather")
    await expect(rule.locator(".bot-step")).to_have_count(2)

    # The versions: each save, its author and message; the first one's diff.
    await press_on(page, "#bot-show-versions")
    listed = page.locator("#bot-versions .bot-version-list > li")
    await expect(listed).to_have_count(4)
    first = page.locator('#bot-versions li[data-version="1"]')
    await expect(first).to_contain_text("weather questions")
    await expect(first).to_contain_text(f"designer of {demo.BRAND_SLUG}")
    await first.get_by_role("button", name="Show the diff").click()
    await expect(first.locator(".bot-diff .add", has_text="- quel temps fait-il")).to_be_visible()
    await expect(first.locator(".bot-diff .add", has_text="- ask_weather")).to_be_visible()
    await page.screenshot(path=str(SHOTS / f"studio-versions-{width}.png"))
    await first.screenshot(path=str(SHOTS / f"studio-diff-{width}.png"))

    # A broken edit in the YAML view: refused with file and line; nothing written.
    before = (project / "domain.yml").read_bytes()
    await press_on(page, "#bot-show-files")
    await page.locator("#bot-file").select_option("domain.yml")
    text = page.locator("#bot-file-text")
    await expect(text).to_have_value(re.compile("responses:"))
    await text.fill((await text.input_value()) + "responses: [oops\n")
    await press_on(page, "#bot-file-save")
    status = page.locator("#bot-save-status")
    await expect(status).to_contain_text("Refused at domain.yml:")
    await expect(status).to_contain_text("last good model")
    await status.scroll_into_view_if_needed()
    await page.screenshot(path=str(SHOTS / f"studio-refused-{width}.png"))
    assert (project / "domain.yml").read_bytes() == before
    await press_on(page, "#bot-show-versions")
    await expect(listed).to_have_count(4)
    # Sections that save nothing show no save bar.
    await press_on(page, "#bot-show-training")
    await expect(page.locator("#bot-version-message")).to_have_count(0)
    # The bot keeps answering.
    engine = studio_site.services.interpreter
    assert engine is not None
    assert (await engine.parse("hello, anyone here?")).intent == "greet"


async def test_axe_finds_no_serious_violation_in_the_studio(
    browser: Browser, studio_site: RunningServer, contexts: list[BrowserContext]
) -> None:
    admin = await person(studio_site, demo.BRAND_SLUG, "admin")
    found: list[str] = []
    for width in (1280, 390):
        page = await bot_area_for_axe(browser, studio_site, admin, width, contexts)
        await page.locator('[data-intent="order_status"]').click()
        await expect(page.locator('#bot-intent form[aria-label="New example"]')).to_be_visible()
        await page.locator("#bot-intent .bot-example-actions button").first.click()
        found += [f"intent@{width}: {v}" for v in blocking(await violations(page))]
        await page.click("#bot-show-responses")
        await page.locator("#bot-new-response").click()
        await page.get_by_role("button", name="Add a button").first.click()
        found += [f"response@{width}: {v}" for v in blocking(await violations(page))]
        await page.click("#bot-show-lexicon")
        await expect(page.locator("#bot-lexicon .bot-lists > li").first).to_be_visible()
        found += [f"lexicon@{width}: {v}" for v in blocking(await violations(page))]
        await page.click("#bot-show-files")
        await page.locator("#bot-file").select_option("config.yml")
        await expect(page.locator("#bot-file-text")).to_have_value(re.compile("pipeline"))
        found += [f"files@{width}: {v}" for v in blocking(await violations(page))]
        await page.click("#bot-show-versions")
        await expect(page.locator("#bot-versions")).to_be_visible()
        found += [f"versions@{width}: {v}" for v in blocking(await violations(page))]
    assert found == [], "\n".join(found)
