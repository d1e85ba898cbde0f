"""The handoff summary in a real Chromium: after the bot hands a conversation over, the agent
opens it and reads, at the top of the context panel, what the customer wants, what the bot
tried and why it stopped, with the key facts as buttons that show their message in the
transcript. A slow language model never holds the panel up (the extractive summary is there
while the model is still being asked); a model that answers replaces the paragraph."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, expect

from server.services import demo
from tests.e2e.test_browser import SHOTS
from tests.e2e.test_context_panel import console_page, contexts
from tests.harness import RunningServer, free_port, run_server, settings_for
from tests.nlu.llm_standin import StandIn, llm_standin
from tests.web_console.brands import PASSWORD, conversation_in, message_from, person

pytestmark = pytest.mark.browser
__all__ = ["contexts"]


@pytest.fixture
async def standin() -> AsyncIterator[StandIn]:
    async with llm_standin() as running:
        yield running


@pytest.fixture
async def bot_and_model(
    dsn: str, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, standin: StandIn
) -> AsyncIterator[RunningServer]:
    settings = settings_for(
        dsn,
        tmp_path,
        port=free_port(),
        allowed_origins=[],
        nlu_engine="embedded",
        nlu_cache_dir=tmp_path_factory.getbasetemp() / "nlu-cache",
        llm_url=standin.url,
        llm_model="stand-in-7b",
        llm_timeout_seconds=3.0,
    )
    async with run_server(settings) as running:
        yield running


async def test_the_agent_reads_the_handoff_summary_and_a_fact_shows_its_message(
    browser: Browser,
    bot_and_model: RunningServer,
    standin: StandIn,
    contexts: list[BrowserContext],
) -> None:
    site = bot_and_model
    shop = await conversation_in(site, demo.WEBCHAT_INBOX, "where is my order 10234?")
    await message_from(
        site, demo.WEBCHAT_INBOX, shop, "I paid 59,90 € for it, this is the third time"
    )
    await site.services.pipeline.settled()
    await message_from(site, demo.WEBCHAT_INBOX, shop, "I want to talk to a person")
    await site.services.pipeline.settled()
    sam = await person(site, demo.BRAND_SLUG, "supervisor")
    SHOTS.mkdir(parents=True, exist_ok=True)

    # The model is slow: the panel shows the extractive summary while it is being asked.
    standin.mode = "slow"
    console = await console_page(browser, contexts, 1280, 800)
    page = console.page
    await console.sign_in(site.base_url, sam, PASSWORD)
    await console.open("I want to talk to a person")
    panel = page.locator("#context-panel")
    summary = panel.locator(".cp-summary")
    await expect(summary).to_contain_text("The customer wants to know where their order is")
    await expect(summary).to_contain_text("check order status")
    # "The third time" reads as a complaint, which the demo's policy gives to a person. (For
    # a while the sentence encoder found it unlike the demo's complaints and turned it away,
    # 0.96; it reads every number as one placeholder since 7708fa7, and the amount no longer
    # pulls the message out of scope.)
    await expect(summary).to_contain_text(
        "It handed over because this kind of request needs a person, on “I paid 59,90 €"
    )
    # At the top of the panel: the first section, above the customer.
    await expect(panel.locator(".cp-section").first).to_have_class("cp-section cp-summary")
    # The panel does not wait for the model: the request may reach it just after.
    await standin.asked(1)
    assert len(standin.requests) == 1
    assert not standin.release.is_set()  # the model has not answered, the summary is shown
    facts = summary.locator(".cp-fact")
    # The order and the amount from the customer, the expected delivery from the bot's answer.
    await expect(facts).to_have_count(3)
    await expect(facts.first).to_have_text("order #10234")
    # The demo order 10234 is due two days after the demo data was made (read, not computed
    # from today: a run that crosses midnight would be a day off).
    eta = await site.services.pool.fetchval(
        "SELECT o.estimated_delivery FROM orders o JOIN brands b ON b.id = o.brand_id"
        " WHERE b.slug = $1 AND o.number = '10234'",
        demo.BRAND_SLUG,
    )
    due = eta.isoformat()
    await expect(facts.nth(1)).to_contain_text(f"date {due}")
    amount = facts.filter(has_text="amount 59.90 EUR")
    # The model's deadline passes: the extractive summary stays, and says so.
    await expect(summary.locator(".cp-model-state")).to_contain_text("did not answer")
    # A fact shows the message it came from, highlighted, in the transcript.
    await amount.click()
    highlighted = page.locator("#messages li.highlight")
    await expect(highlighted).to_have_count(1)
    await expect(highlighted).to_contain_text("I paid 59,90 €")
    await expect(highlighted).to_be_in_viewport()
    await page.screenshot(path=str(SHOTS / "console-summary-extractive-1280.png"))
    await facts.first.click()
    await expect(highlighted).to_contain_text("where is my order 10234?")
    assert console.refused == []

    # The customer adds an email (a new version of the conversation); the model now answers.
    standin.mode = "ok"
    standin.release.set()
    await message_from(site, demo.WEBCHAT_INBOX, shop, "my email is sam.k@example.com")
    await site.services.pipeline.settled()
    for width, height in ((1280, 800), (390, 844)):
        console = await console_page(browser, contexts, width, height)
        page = console.page
        await console.sign_in(site.base_url, sam, PASSWORD)
        await console.open("my email is sam.k@example.com")
        summary = page.locator("#context-panel .cp-summary")
        await expect(summary.locator(".cp-by")).to_have_text("by stand-in-7b")
        await expect(summary.locator(".cp-summary-text").first).to_contain_text(
            "The customer wants order 10234"
        )
        # The extractive paragraph is a click away; the facts stay, the email among them.
        await expect(summary.locator(".cp-extractive")).to_contain_text(
            "From the messages themselves"
        )
        facts = summary.locator(".cp-fact")
        await expect(facts).to_have_count(4)
        email = facts.filter(has_text="email sam.k@example.com")
        await email.click()
        highlighted = page.locator("#messages li.highlight")
        await expect(highlighted).to_contain_text("my email is sam.k@example.com")
        await expect(highlighted).to_be_in_viewport()
        await page.screenshot(path=str(SHOTS / f"console-summary-{width}.png"), full_page=True)
        await summary.screenshot(path=str(SHOTS / f"console-summary-panel-{width}.png"))
        assert console.refused == []
    # Both consoles opened the same version: the model was asked once for it.
    assert len(standin.requests) == 2
    prompt = standin.requests[1]["messages"][1]["content"]
    assert "Customer: my email is sam.k@example.com" in prompt
