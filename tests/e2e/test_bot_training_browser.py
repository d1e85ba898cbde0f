"""The Bot area's "Train and test" section in a real Chromium (issue 19): by keyboard, a
designer validates the project files, trains after a saved edit (the steps shown as they
come, then "the new model serves"), tests a sentence and sees the ranking on both engines
side by side; a broken YAML edit is refused with file and line while a customer in the widget
still gets the bot's answer; an evaluation lists F1 per intent and one click opens a confused
example's intent. axe finds no serious violation. Screenshots at 1280 and 390 px
(var/screenshots/bot-training-*.png)."""

from __future__ import annotations

import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from server.services import demo
from tests.e2e.axe import blocking, violations
from tests.e2e.bot_area import bot_area_for_axe, press_on
from tests.e2e.test_browser import SHOTS
from tests.e2e.test_context_panel import console_page, contexts
from tests.harness import RunningServer, customer, free_port, run_server, settings_for
from tests.web_console.brands import PASSWORD, person

pytestmark = pytest.mark.browser
__all__ = ["contexts"]  # the fixture, imported for this module's tests

MOODBOT = Path(__file__).parents[1] / "nlu" / "data" / "moodbot"
WEATHER = (
    "\n- intent: ask_weather\n  examples: |\n    - what is the weather like\n"
    "    - will it rain today\n    - is it sunny outside\n    - weather forecast please\n"
    "    - how cold is it today\n"
)
# A training or an evaluation on two busy cores: generous, and waited on the page's state.
SLOW = 240_000


@pytest.fixture
def project(tmp_path: Path) -> Path:
    copy = tmp_path / "moodbot"
    shutil.copytree(MOODBOT, copy)
    return copy


@pytest.fixture
async def bot_site(dsn: str, tmp_path: Path, project: Path) -> AsyncIterator[RunningServer]:
    settings = settings_for(
        dsn,
        tmp_path,
        port=free_port(),
        allowed_origins=[],
        nlu_engine="embedded",
        nlu_project=project,
        nlu_cache_dir=tmp_path / "nlu-cache",
        bot_human_intents=[],
    )
    async with run_server(settings) as running:
        yield running


async def shoot(page: Page, selector: str, name: str) -> None:
    """The element whole: the Bot area scrolls inside the page, so the viewport is made tall
    enough for it while it is shot, then set back."""
    viewport = page.viewport_size
    assert viewport is not None
    tall = await page.locator("#bot-area").evaluate("(area) => area.scrollHeight")
    await page.set_viewport_size({"width": viewport["width"], "height": int(tall) + 200})
    await page.locator(selector).screenshot(path=str(SHOTS / name))
    await page.set_viewport_size(viewport)


async def bot_said(site: RunningServer, conversation_id: str) -> list[str]:
    async with site.services.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT text FROM messages WHERE conversation_id = $1::uuid AND author_kind = 'bot'"
            " ORDER BY seq",
            conversation_id,
        )
    return [r["text"] for r in rows]


@pytest.mark.parametrize("width", [1280, 390])
async def test_a_designer_validates_trains_tests_and_sees_a_broken_edit_refused(
    browser: Browser,
    bot_site: RunningServer,
    project: Path,
    contexts: list[BrowserContext],
    width: int,
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    designer = await person(bot_site, demo.BRAND_SLUG, "designer")
    console = await console_page(browser, contexts, width, 800 if width > 600 else 844)
    page = console.page
    await console.sign_in(bot_site.base_url, designer, PASSWORD)
    await expect(page.locator("#bot-summary")).to_contain_text("embedded")
    await press_on(page, "#bot-show-training")
    await expect(page.locator("#bot-show-training")).to_have_attribute("aria-pressed", "true")

    await press_on(page, "#bt-validate")
    await expect(page.locator("#bt-valid")).to_contain_text("7 intents")
    await expect(page.locator("#bt-rasa-check")).to_contain_text("not available")

    # A saved edit: a new intent. Training shows its steps, then the new model serves.
    nlu = project / "data" / "nlu.yml"
    good = nlu.read_text() + WEATHER
    nlu.write_text(good)
    await press_on(page, "#bt-train")
    job = page.locator("#bt-train-job")
    await expect(page.locator("#bt-train-done")).to_contain_text("new model serves", timeout=SLOW)
    await expect(job.locator(".bt-steps li", has_text="training: intents")).to_have_count(1)
    await expect(page.locator("#bt-train-done")).to_contain_text("8 intents")

    await page.locator("#bt-sentence").focus()
    await page.keyboard.type("will it rain today?")
    await page.keyboard.press("Enter")
    first = page.locator("#bt-result-embedded .bt-ranking li").first
    await expect(first).to_contain_text("ask_weather")
    await expect(page.locator("#bt-result-rasa")).to_contain_text("not configured")
    await shoot(page, "#bot-training", f"bot-training-{width}.png")

    await page.locator("#bt-sentence").fill("")
    await page.locator("#bt-sentence").focus()
    await page.keyboard.type("hello there")
    await page.keyboard.press("Enter")
    nexts = page.locator("#bt-result-embedded .bt-next li").first
    await expect(nexts).to_contain_text("utter_greet")
    await expect(nexts).to_contain_text("Hey! How are you?")
    await shoot(page, "#bt-trial", f"bot-training-trial-{width}.png")

    # A broken edit: refused with file and line; the bot keeps answering customers.
    lines = good.splitlines()
    nlu.write_text(
        "\n".join([*lines[:3], "  examples: |", '    - "hello', "  oops: [", *lines[5:]])
    )
    await press_on(page, "#bt-validate")
    await expect(page.locator("#bt-errors li")).to_contain_text(re.compile(r"data/nlu\.yml:\d+"))
    await press_on(page, "#bt-train")
    refused = page.locator("#bt-train-refused")
    await expect(refused).to_contain_text("the last good model keeps serving", timeout=SLOW)
    await expect(refused.locator(".bot-where")).to_have_text(re.compile(r"^data/nlu\.yml:\d+$"))
    conversation = await customer(bot_site, "hello")
    assert await bot_said(bot_site, conversation) == ["Hey! How are you?"]
    await shoot(page, "#bot-training", f"bot-training-refused-{width}.png")


@pytest.mark.parametrize("width", [1280, 390])
async def test_an_evaluation_lists_f1_per_intent_and_opens_a_confused_intent(
    browser: Browser, bot_site: RunningServer, contexts: list[BrowserContext], width: int
) -> None:
    """One click from the report to an intent, and back to the same report: by "Back to
    evaluation" or the browser's Back, the focus on the control that opened it. After a
    reload the report is found again, and the folds' select says the 3 it used."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    designer = await person(bot_site, demo.BRAND_SLUG, "designer")
    console = await console_page(browser, contexts, width, 800 if width > 600 else 844)
    page = console.page
    await console.sign_in(bot_site.base_url, designer, PASSWORD)
    await press_on(page, "#bot-show-training")
    await expect(page.locator("#bt-folds")).to_have_value("5")
    await page.locator("#bt-folds").select_option("3")
    await press_on(page, "#bt-evaluate")
    rows = page.locator("#bt-f1 tbody tr")
    await expect(rows.first).to_be_visible(timeout=SLOW)
    await expect(page.locator("#bt-evaluate-job .bt-steps li").last).to_contain_text("3 of 3")
    greet = rows.filter(has_text="greet").first
    await expect(greet.locator("td").first).to_have_text(re.compile(r"^[01]\.\d\d$"))
    await shoot(page, "#bt-evaluate-job", f"bot-training-evaluation-{width}.png")
    report = await page.locator("#bt-report").inner_text()

    fix = page.locator("#bt-confused .bt-fix").first
    if await fix.count():
        intent = (await fix.text_content() or "").removeprefix("Open ")
    else:  # nothing confused: an intent of the table opens the same way
        fix = greet.locator("button")
        intent = "greet"
    opener = await fix.evaluate("(b) => b.outerHTML")
    await fix.focus()
    await page.keyboard.press("Enter")
    await expect(page.locator("#bot-intent-heading")).to_have_text(intent)
    await expect(page.locator("#bot-show-intents")).to_have_attribute("aria-pressed", "true")
    back = page.locator("#bot-back-to")
    await expect(back).to_have_text("← Back to evaluation")
    await expect(back).to_be_visible()
    await shoot(page, "#bot-intent", f"bot-training-intent-from-evaluation-{width}.png")

    # The browser's Back: the same report, the focus on what opened the intent.
    await page.go_back()
    await expect(page.locator("#bot-show-training")).to_have_attribute("aria-pressed", "true")
    assert await page.locator("#bt-report").inner_text() == report
    focused = page.locator(":focus")
    await expect(focused).to_have_count(1)
    assert await focused.evaluate("(b) => b.outerHTML") == opener
    assert page.url == f"{bot_site.base_url}/console"

    # Again, back by the link, by keyboard alone; then Back leaves nothing of it behind.
    await page.keyboard.press("Enter")
    await expect(page.locator("#bot-intent-heading")).to_have_text(intent)
    await press_on(page, "#bot-back-to")
    await expect(page.locator("#bot-show-training")).to_have_attribute("aria-pressed", "true")
    assert await page.locator(":focus").evaluate("(b) => b.outerHTML") == opener
    assert await page.locator("#bt-report").inner_text() == report
    await shoot(page, "#bot-training", f"bot-training-back-to-evaluation-{width}.png")

    # "All intents" drops the way back and its history entry.
    await page.keyboard.press("Enter")
    await press_on(page, "#bot-back")
    await expect(page.locator("#bot-intents")).to_be_visible()
    await expect(page.locator("#bot-back-to")).to_have_count(0)
    await page.wait_for_function("history.state === null")

    # A reload: the report again, and the folds it used.
    await page.reload()
    await expect(page.locator("#live")).to_have_text("live")
    await press_on(page, "#bot-tab")
    await press_on(page, "#bot-show-training")
    await expect(page.locator("#bt-report")).to_be_visible()
    await expect(page.locator("#bt-folds")).to_have_value("3")
    assert await page.locator("#bt-report").inner_text() == report
    assert console.refused == []


async def test_axe_finds_no_serious_violation_in_train_and_test(
    browser: Browser, bot_site: RunningServer, contexts: list[BrowserContext]
) -> None:
    admin = await person(bot_site, demo.BRAND_SLUG, "admin")
    found: list[str] = []
    for width in (1280, 390):
        page = await bot_area_for_axe(browser, bot_site, admin, width, contexts)
        await page.click("#bot-show-training")
        await page.click("#bt-validate")
        await expect(page.locator("#bt-valid")).to_be_visible()
        await page.fill("#bt-sentence", "hello")
        await page.click("#bt-try")
        await expect(page.locator("#bt-result-embedded .bt-ranking li").first).to_be_visible()
        found += [f"training@{width}: {v}" for v in blocking(await violations(page))]
    assert found == [], "\n".join(found)
