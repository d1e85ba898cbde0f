"""The Bot area's evaluation with notes, in a real Chromium: ten folds over moodbot, whose
affirm, bot_challenge and deny have fewer examples than that (evaluated and named, as `rasa test
nlu` does). By keyboard alone at 390 px a designer chooses the folds and evaluates; the focus
stays on Evaluate and the end is said in the live region; the list "About these figures" sits
under the figures, inside the card, named for a screen reader; the report's intents are
reached with Tab. axe finds no serious violation on the page and none in the Evaluate card.
Screenshots at 1280 and 390 px (var/screenshots/bot-evaluation-notes-*.png, and
keyboard-bot-evaluation-*.png for each focused control)."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, BrowserContext, FloatRect, Page, expect

from server.services import demo
from tests.e2e.axe import blocking, violations
from tests.e2e.bot_area import bot_area_for_axe, press_on
from tests.e2e.test_bot_training_browser import SLOW, bot_site, project, shoot
from tests.e2e.test_browser import SHOTS
from tests.e2e.test_context_panel import console_page, contexts
from tests.e2e.test_keyboard import tab_to
from tests.harness import RunningServer
from tests.web_console.brands import PASSWORD, person

pytestmark = pytest.mark.browser
__all__ = ["bot_site", "contexts", "project"]  # fixtures, imported for this module's tests

NOTE = "3 intents have fewer than 10 examples (affirm, bot_challenge, deny)"


async def looks(page: Page) -> None:
    """What a reader sees: the notes under the figures and above the table, inside the card,
    in type of 12 px or more; the folds' select a target of 24 px or more (WCAG 2.5.8); no
    figure or column heading of the table broken across lines; nothing in the report wider than
    its box (the table included: it fits a phone) nor the page."""
    faults: list[str] = await page.evaluate(
        """() => {
            const box = (s) => document.querySelector(s).getBoundingClientRect();
            const notes = box('.bt-notes'), figures = box('.bt-figures');
            const table = box('#bt-f1'), card = box('#bt-evaluate-job');
            const page = document.documentElement;
            const faults = [];
            if (notes.top < figures.bottom - 1 || notes.bottom > table.top + 1)
                faults.push('the notes are not between the figures and the table');
            if (notes.left < card.left - 1 || notes.right > card.right + 1)
                faults.push('the notes stick out of the card');
            const note = document.querySelector('.bt-notes li');
            const size = parseFloat(getComputedStyle(note).fontSize);
            if (size < 12) faults.push(`the notes in ${size} px type`);
            if (box('#bt-folds').height < 24) faults.push('the folds select under 24 px tall');
            if (page.scrollWidth > page.clientWidth) faults.push('the page scrolls sideways');
            for (const cell of document.querySelectorAll('#bt-f1 .bot-num')) {
                const range = document.createRange();
                range.selectNodeContents(cell);
                if (range.getClientRects().length > 1) faults.push(`${cell.textContent} broken`);
            }
            // (A visually hidden live region is a clipped pixel by design.)
            const shown = '#bt-evaluate-job *:not(.visually-hidden)';
            for (const e of document.querySelectorAll(shown))
                if (e.clientWidth > 0 && e.scrollWidth > e.clientWidth + 1)
                    faults.push(`${e.tagName}.${e.className} overflows`);
            return faults;
        }"""
    )
    assert faults == []


async def shoot_figures(page: Page, name: str) -> None:
    """The figures, their notes and the table, as the viewport shows them once scrolled to."""
    await page.locator(".bt-figures").evaluate("(e) => e.scrollIntoView({ block: 'start' })")
    card, figures, table = [
        await page.locator(s).bounding_box() for s in ("#bt-evaluate-job", ".bt-figures", "#bt-f1")
    ]
    assert card is not None
    assert figures is not None
    assert table is not None
    top, bottom = figures["y"] - 8, table["y"] + table["height"] + 8
    clip = FloatRect(x=card["x"] - 8, y=top, width=card["width"] + 16, height=bottom - top)
    await page.screenshot(path=str(SHOTS / name), clip=clip)


async def test_an_evaluation_with_small_intents_says_so_beside_its_figures(
    browser: Browser, bot_site: RunningServer, contexts: list[BrowserContext]
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    designer = await person(bot_site, demo.BRAND_SLUG, "designer")
    console = await console_page(browser, contexts, 390, 844)
    page = console.page
    await console.sign_in(bot_site.base_url, designer, PASSWORD)
    await press_on(page, "#bot-show-training")
    await expect(page.locator("#bot-show-training")).to_have_attribute("aria-pressed", "true")

    # Keyboard alone: Tab to the folds, the arrow keys choose ten, Tab to Evaluate, Enter.
    await tab_to(page, "#bt-folds", "bot-evaluation-folds-390")
    await expect(page.locator("#bt-folds")).to_have_value("5")
    await page.keyboard.press("ArrowDown")
    await expect(page.locator("#bt-folds")).to_have_value("10")
    await tab_to(page, "#bt-evaluate", "bot-evaluation-button-390")
    await page.keyboard.press("Enter")
    notes = page.get_by_role("list", name="About these figures", exact=True)
    await expect(notes).to_be_visible(timeout=SLOW)
    await expect(notes.get_by_role("listitem")).to_have_count(1)
    await expect(notes.get_by_role("listitem")).to_contain_text(NOTE)
    await expect(page.locator("#bt-evaluate-job .bt-steps li").last).to_contain_text("10 of 10")
    # The pressed button kept the focus through the run (a disabled one dropped it to the body).
    await expect(page.locator("#bt-evaluate")).to_be_focused()
    # The end is said where the steps were (the report's table comes in silently).
    said = page.locator("#bt-evaluate-job [aria-live]")
    await expect(said).to_have_text(re.compile(r"^Evaluated: accuracy \d+%, macro F1 [01]\.\d\d\."))
    await expect(said).to_contain_text("1 note about these figures.")
    await looks(page)
    await shoot(page, "#bt-evaluate-job", "bot-evaluation-notes-390.png")
    await shoot_figures(page, "bot-evaluation-notes-figures-390.png")

    # On from the Evaluate button: the report's first intent, then back to the folds.
    await tab_to(page, "#bt-f1 tbody button", "bot-evaluation-intent-390")
    await tab_to(page, "#bt-folds", "bot-evaluation-folds-back-390", backwards=True)
    assert console.refused == []

    # A wide screen, the same job (the section finds the newest evaluation again).
    wide = await console_page(browser, contexts, 1280, 800)
    await wide.sign_in(bot_site.base_url, designer, PASSWORD)
    await press_on(wide.page, "#bot-show-training")
    await expect(wide.page.get_by_role("list", name="About these figures")).to_contain_text(NOTE)
    await looks(wide.page)
    await shoot(wide.page, "#bt-evaluate-job", "bot-evaluation-notes-1280.png")
    await shoot_figures(wide.page, "bot-evaluation-notes-figures-1280.png")

    admin = await person(bot_site, demo.BRAND_SLUG, "admin")
    found: list[str] = []
    for width in (1280, 390):
        audited = await bot_area_for_axe(browser, bot_site, admin, width, contexts)
        await audited.click("#bot-show-training")
        await expect(audited.locator(".bt-notes")).to_contain_text(NOTE)
        found += [f"page@{width}: {v}" for v in blocking(await violations(audited))]
        # In the Evaluate card itself, none of any impact.
        card = await violations(audited, 'section[aria-labelledby="bt-evaluate-heading"]')
        found += [f"evaluation@{width}: {v['impact']} {v['id']}: {v['help']}" for v in card]
    assert found == [], "\n".join(found)
