"""Rasa's own `rasa data validate` on the "Train and test" page in a real Chromium (issue 19):
with SWITCHBOARD_RASA_COMMAND set to the Rasa 3.6.21 the tests use, a designer validates by
keyboard and reads Rasa's warning with its file and line. axe finds no serious violation in
it, nor in the "Slots and forms" section. Skipped without the Rasa virtualenv (`make rasa`).
Screenshot: var/screenshots/bot-rasa-validate-1280.png."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, expect

from server.services import demo
from tests.e2e.axe import blocking, violations
from tests.e2e.bot_area import bot_area_for_axe, press_on
from tests.e2e.test_bot_training_browser import SLOW, WEATHER, project, shoot
from tests.e2e.test_browser import SHOTS
from tests.e2e.test_context_panel import console_page, contexts
from tests.harness import RunningServer, free_port, run_server, settings_for
from tests.rasa_stack import RASA_BIN
from tests.web_console.brands import PASSWORD, person

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not RASA_BIN.exists(), reason="no Rasa virtualenv (make rasa)"),
]
__all__ = ["contexts", "project"]  # fixtures, imported


@pytest.fixture
async def rasa_site(dsn: str, tmp_path: Path, project: Path) -> AsyncIterator[RunningServer]:
    settings = settings_for(
        dsn,
        tmp_path,
        port=free_port(),
        allowed_origins=[],
        nlu_engine="embedded",
        nlu_project=project,
        nlu_cache_dir=tmp_path / "nlu-cache",
        rasa_command=RASA_BIN,
    )
    async with run_server(settings) as running:
        yield running


async def test_rasa_data_validate_says_its_warnings_with_file_and_line(
    browser: Browser, rasa_site: RunningServer, project: Path, contexts: list[BrowserContext]
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    # An intent the domain does not list: Rasa warns, the data still passes.
    nlu = project / "data" / "nlu.yml"
    nlu.write_text(nlu.read_text() + WEATHER)
    designer = await person(rasa_site, demo.BRAND_SLUG, "designer")
    console = await console_page(browser, contexts, 1280, 800)
    page = console.page
    await console.sign_in(rasa_site.base_url, designer, PASSWORD)
    await press_on(page, "#bot-show-training")
    await press_on(page, "#bt-validate")
    check = page.locator("#bt-rasa-check")
    await expect(check).to_contain_text("passed", timeout=SLOW)
    warning = page.locator("#bt-rasa-problems li", has_text="ask_weather")
    await expect(warning.locator(".bot-where")).to_have_text(re.compile(r"^data/nlu\.yml:\d+$"))
    await expect(warning).to_contain_text("warning: There is a message in the training data")
    await shoot(page, "#bot-training", "bot-rasa-validate-1280.png")


async def test_axe_finds_no_serious_violation_in_rasa_checks_and_slots(
    browser: Browser, rasa_site: RunningServer, project: Path, contexts: list[BrowserContext]
) -> None:
    nlu = project / "data" / "nlu.yml"
    nlu.write_text(nlu.read_text() + WEATHER)
    admin = await person(rasa_site, demo.BRAND_SLUG, "admin")
    found: list[str] = []
    for width in (1280, 390):
        page = await bot_area_for_axe(browser, rasa_site, admin, width, contexts)
        await page.click("#bot-show-training")
        await page.click("#bt-validate")
        await expect(page.locator("#bt-rasa-problems li").first).to_be_visible(timeout=SLOW)
        found += [f"rasa@{width}: {v}" for v in blocking(await violations(page))]
        await page.click("#bot-show-domain")
        await expect(page.locator("#bot-action-server")).to_be_visible()
        found += [f"domain@{width}: {v}" for v in blocking(await violations(page))]
    assert found == [], "\n".join(found)
