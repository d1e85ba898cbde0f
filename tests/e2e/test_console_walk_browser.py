"""A new supervisor and a new bot designer walk their screens by keyboard alone, at 1280 and
390 px: signed in with Tab and typing, each screen reached by Tab from the top of the page and
Enter, then Tab after Tab through it. Every stop is in the window and shows a focus ring
(a date field's calendar button had none), axe finds no serious or critical violation and
every field's boundary is 3:1 (tests/e2e/contrast.py); on a phone the supervisor's Queues
table fits the width (its Overdue and Next SLA columns were past the right edge, in a box
a keyboard could not scroll). Screenshots: var/screenshots/walk-supervisor-*.png,
walk-bot-*.png."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from server.services import demo
from tests.e2e.axe import blocking, violations
from tests.e2e.contrast import field_contrast, too_faint
from tests.e2e.test_browser import SHOTS
from tests.e2e.walk import Stop, tab_through, trips
from tests.harness import RunningServer, free_port, run_server, settings_for
from tests.web_console.brands import PASSWORD, conversation_in, person

pytestmark = pytest.mark.browser

MOODBOT = Path(__file__).parents[1] / "nlu" / "data" / "moodbot"
SECTIONS = (
    "intents",
    "responses",
    "lexicon",
    "flows",
    "domain",
    "files",
    "versions",
    "training",
    "review",
    "health",
)


@pytest.fixture
async def bot_site(dsn: str, tmp_path: Path) -> AsyncIterator[RunningServer]:
    project = tmp_path / "moodbot"
    shutil.copytree(MOODBOT, project)
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


@pytest.fixture
async def walk_contexts(browser: Browser) -> AsyncIterator[list[BrowserContext]]:
    made: list[BrowserContext] = []
    yield made
    for context in made:
        await context.close()


async def keyboard_sign_in(
    browser: Browser, contexts: list[BrowserContext], site: RunningServer, email: str, width: int
) -> Page:
    # bypass_csp: only so axe can be added to the page (tests/e2e/axe.py says why).
    context = await browser.new_context(
        viewport={"width": width, "height": 800 if width > 600 else 844}, bypass_csp=True
    )
    contexts.append(context)
    page = await context.new_page()
    await page.goto(f"{site.base_url}/console")
    await expect(page.locator("#login-form")).to_be_visible()
    await tab_through(page, 5, until="input[name=email]")
    await page.keyboard.type(email)
    await page.keyboard.press("Tab")
    await page.keyboard.type(PASSWORD)
    await page.keyboard.press("Enter")
    await expect(page.locator("#live")).to_have_text("live")
    return page


class Walk:
    """What a walk found: per screen, the stops a keyboard user trips over, axe's serious and
    critical violations and the faint fields."""

    def __init__(self, page: Page, width: int) -> None:
        self.page = page
        self.width = width
        self.found: dict[str, list[str]] = {}
        self.fields = 0

    async def reach(self, selector: str, presses: int = 60) -> None:
        """Tab from the top of the page to ``selector`` and press Enter on it."""
        await self.page.evaluate("document.activeElement?.blur(); window.scrollTo(0, 0)")
        stops = await tab_through(self.page, presses, until=selector)
        focused = await self.page.evaluate("(s) => document.activeElement?.matches(s)", selector)
        assert focused, f"{selector} not reached by Tab: {[s['what'] for s in stops]}"
        self.note(f"to {selector}", stops)
        await self.page.keyboard.press("Enter")

    def note(self, screen: str, stops: list[Stop]) -> None:
        self.found.setdefault(screen, []).extend(trips(stops))

    async def through(self, screen: str, presses: int) -> None:
        """Tab through the screen, then audit it and shoot it."""
        self.note(screen, await tab_through(self.page, presses))
        fields = await field_contrast(self.page)
        self.fields += len(fields)
        self.found[screen] += blocking(await violations(self.page)) + [
            f"non-text contrast: {line}" for line in too_faint(fields)
        ]
        name = f"walk-{screen}-{self.width}.png"
        await self.page.screenshot(path=str(SHOTS / name), full_page=True)

    def failures(self) -> list[str]:
        return [
            f"{screen}@{self.width}: {line}" for screen, got in self.found.items() for line in got
        ]


@pytest.mark.parametrize("width", [1280, 390])
async def test_a_supervisor_walks_the_supervisor_screens_by_keyboard(
    browser: Browser, site: RunningServer, walk_contexts: list[BrowserContext], width: int
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await conversation_in(site, demo.WEBCHAT_INBOX, "my parcel is late")
    await site.services.pipeline.settled()
    sam = await person(site, demo.BRAND_SLUG, "supervisor")
    page = await keyboard_sign_in(browser, walk_contexts, site, sam, width)
    walk = Walk(page, width)

    await walk.reach("#supervisor-tab")
    queued = page.locator("#team-table tbody tr td:nth-child(2)", has_text="1")
    await expect(queued).to_have_count(1)
    await expect(page.locator("#team-table tbody .sla")).to_have_count(1)
    await walk.through("supervisor", 12)
    # Every column of both tables within the window: nothing to scroll sideways.
    board = page.locator("#supervisor")
    assert await board.evaluate("(b) => b.scrollWidth <= b.clientWidth + 1")
    right = await page.evaluate(
        "Math.max(...[...document.querySelectorAll('#supervisor th')]"
        ".map((c) => c.getBoundingClientRect().right))"
    )
    assert right <= width

    # The chat texts, by keyboard: a new greeting saved.
    await walk.reach("#brand-text-greeting", 80)
    await page.keyboard.press("ControlOrMeta+a")
    await page.keyboard.type("Hello from the walk!")
    await page.keyboard.press("Tab")
    await expect(page.locator(":focus")).to_have_text("Save greeting")
    await page.keyboard.press("Enter")
    await expect(page.locator(".brand-text-status").first).to_have_text("Saved.")
    # Back to the default words: the button, disabled now, hands the focus to the text.
    await page.keyboard.press("Tab")
    await expect(page.locator(":focus")).to_have_text("Use the default")
    await page.keyboard.press("Enter")
    await expect(page.locator(".brand-text-status").first).to_have_text(
        "Back to the default words."
    )
    await expect(page.locator("#brand-text-greeting")).to_be_focused()

    await walk.reach("#analytics-tab")
    await expect(page.locator("#analytics-volume .analytics-table tbody tr")).to_have_count(1)
    await walk.through("supervisor-analytics", 30)
    assert walk.fields > 0
    failing = walk.failures()
    assert failing == [], "\n".join(failing)


@pytest.mark.parametrize("width", [1280, 390])
async def test_a_designer_walks_the_bot_studio_by_keyboard(
    browser: Browser, bot_site: RunningServer, walk_contexts: list[BrowserContext], width: int
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    designer = await person(bot_site, demo.BRAND_SLUG, "designer")
    page = await keyboard_sign_in(browser, walk_contexts, bot_site, designer, width)
    walk = Walk(page, width)
    await expect(page.locator("#bot-summary")).to_contain_text("embedded")
    for section in SECTIONS:
        await walk.reach(f"#bot-show-{section}")
        shown = page.locator(f"#bot-show-{section}")
        await expect(shown).to_have_attribute("aria-pressed", "true")
        await page.wait_for_load_state("networkidle")
        await walk.through(f"bot-{section}", 30)
    assert walk.fields > 0
    failing = walk.failures()
    assert failing == [], "\n".join(failing)


async def focused(page: Page) -> str:
    """The focused element, as the walk names it."""
    return str(
        await page.evaluate(
            "() => { const a = document.activeElement;"
            " return a === document.body ? 'body' : a.outerHTML.slice(0, 160); }"
        )
    )


async def press(page: Page, selector: str) -> None:
    """Focus a control and press Enter on it, as a keyboard user who Tabbed there does."""
    await page.locator(selector).first.focus()
    await page.keyboard.press("Enter")


@pytest.mark.parametrize("width", [1280, 390])
async def test_a_designer_keeps_their_place_as_editors_open_and_close(
    browser: Browser, bot_site: RunningServer, walk_contexts: list[BrowserContext], width: int
) -> None:
    """An editor that opens in the place of its button takes the focus; closed (Cancel,
    Save, Delete) it gives it back to the button it came from, or the one now in the place
    of what was deleted. Before, each of these dropped the focus to the page's body."""
    designer = await person(bot_site, demo.BRAND_SLUG, "designer")
    page = await keyboard_sign_in(browser, walk_contexts, bot_site, designer, width)
    await expect(page.locator("#bot-summary")).to_contain_text("embedded")

    # An intent's example: edit, cancel, edit and save, delete.
    await page.locator("#bot-search").focus()
    await page.keyboard.type("greet")
    await page.keyboard.press("Tab")
    await page.keyboard.press("Enter")
    await expect(page.locator("#bot-intent-heading")).to_be_focused()
    first = page.locator("#bot-intent button[data-edit]").first
    text = await first.get_attribute("data-edit")
    assert text
    await press(page, "#bot-intent button[data-edit]")
    editor = page.locator("#bot-intent .bot-examples .bot-example-input")
    await expect(editor).to_be_focused()
    await expect(editor).to_have_value(text)
    await press(page, "#bot-intent .bot-examples .bot-editor button.secondary >> text=Cancel")
    await expect(page.locator(f'#bot-intent button[data-edit="{text}"]')).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(editor).to_be_focused()
    await page.keyboard.press("End")
    await page.keyboard.type(" again")
    await page.keyboard.press("Enter")
    changed = page.locator(f'#bot-intent button[data-edit="{text} again"]')
    await expect(changed).to_be_focused()
    await page.keyboard.press("Tab")
    await expect(page.locator(":focus")).to_have_text("Delete")
    await page.keyboard.press("Enter")
    await expect(changed).to_have_count(0)
    await expect(page.locator("#bot-intent button[data-edit]:focus")).to_have_count(1)

    # A new intent's form: opened, cancelled.
    await press(page, "#bot-back")
    await press(page, "#bot-new-intent")
    await expect(page.locator("#bot-new-intent-name")).to_be_focused()
    await press(page, "#bot-new-intent-form button.secondary")
    await expect(page.locator("#bot-new-intent")).to_be_focused()

    # A response: edit, cancel; a new one, cancelled.
    await press(page, "#bot-show-responses")
    await press(page, 'button[aria-label="Edit utter_greet"]')
    await expect(page.locator("#bot-response-editor .bot-variation-text").first).to_be_focused()
    await press(page, "#bot-response-editor button.secondary >> text=Cancel")
    await expect(page.locator('button[aria-label="Edit utter_greet"]')).to_be_focused()
    await press(page, "#bot-new-response")
    await expect(page.locator("#bot-response-name")).to_be_focused()
    await press(page, "#bot-response-editor button.secondary >> text=Cancel")
    await expect(page.locator("#bot-new-response")).to_be_focused()

    # A rule: edit its steps, remove the last step, cancel.
    await press(page, "#bot-show-flows")
    rule = page.locator('#bot-flows button[aria-label^="Edit steps of the rule"]').first
    label = await rule.get_attribute("aria-label")
    await rule.focus()
    await page.keyboard.press("Enter")
    await expect(page.locator("#bot-flow-name")).to_be_focused()
    await press(page, "#bot-flow-editor .bot-step-editor:last-child button >> text=Remove")
    await expect(page.locator("#bot-add-step")).to_be_focused()
    await shoot_focus(page, f"walk-bot-flow-editor-{width}.png")
    await press(page, "#bot-flow-editor button.secondary >> text=Cancel")
    await expect(page.locator(f'button[aria-label="{label}"]')).to_be_focused()

    # A synonym: added, then removed; the focus goes to the Synonyms heading.
    await press(page, "#bot-show-lexicon")
    add = page.locator("#bot-lexicon form.bot-editor")
    await add.locator("input[type=text]").focus()
    await page.keyboard.type("sad")
    await page.keyboard.press("Tab")
    await page.keyboard.type("blue\ndown")
    await page.keyboard.press("Tab")
    await page.keyboard.press("Enter")
    removal = page.locator('button[aria-label="Remove the synonym sad"]')
    await expect(removal).to_have_count(1)
    await removal.focus()
    await page.keyboard.press("Enter")
    await expect(removal).to_have_count(0)
    await expect(page.locator("#bot-lexicon-synonym")).to_be_focused()

    # Retrain from the review inbox: the button says it is busy and keeps the focus.
    await press(page, "#bot-show-review")
    await press(page, "#review-retrain")
    await expect(page.locator("#review-retrain")).to_have_attribute("aria-disabled", "true")
    await expect(page.locator("#review-retrain")).to_be_focused()
    await expect(page.locator("#review-retrain")).not_to_have_attribute(
        "aria-disabled", "true", timeout=120_000
    )
    await expect(page.locator("#review-retrain")).to_be_focused()
    assert await focused(page) != "body"


async def shoot_focus(page: Page, name: str) -> None:
    await page.screenshot(path=str(SHOTS / name))
