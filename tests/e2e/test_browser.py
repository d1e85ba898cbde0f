"""End to end in a real Chromium: a customer in the widget, an agent in the console."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from server import demo
from tests.harness import RunningServer, free_port, run_server, settings_for

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
# Flags for a machine with no network beyond loopback (see the env notes in the README).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def chromium() -> str:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make system-deps` installs Debian's chromium")
    return CHROMIUM


@pytest.fixture
async def browser(chromium: str) -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


@pytest.fixture
async def site(dsn: str, tmp_path: Path) -> AsyncIterator[RunningServer]:
    # The page's own origin must be allowed, so the port is chosen before the server starts.
    settings = settings_for(dsn, tmp_path, port=free_port(), allowed_origins=[])
    async with run_server(settings) as running:
        yield running


async def login(page: Page, base_url: str) -> None:
    await page.goto(f"{base_url}/console")
    await page.fill("input[name=email]", demo.AGENT_EMAIL)
    await page.fill("input[name=password]", demo.AGENT_PASSWORD)
    await page.click("button[type=submit]")
    await expect(page.locator("#live")).to_have_text("live")


async def test_customer_and_agent_talk_live_and_the_transcript_survives_a_closed_tab(
    browser: Browser, site: RunningServer
) -> None:
    agent_context = await browser.new_context()
    agent = await agent_context.new_page()
    await login(agent, site.base_url)

    customer_context = await browser.new_context()
    customer = await customer_context.new_page()
    await customer.goto(site.base_url + "/")
    await expect(customer.locator("[data-sb=status]")).to_have_text("online")
    await customer.fill("[data-sb=input]", "My parcel is late")
    await customer.press("[data-sb=input]", "Enter")
    await expect(customer.locator(".sb-msg[data-author=system]")).to_have_count(1)

    # The conversation appears live in the agent's queue; the agent opens it and replies.
    item = agent.locator("#conversations li", has_text="My parcel is late")
    await expect(item).to_have_count(1)
    await item.click()
    await expect(agent.locator("#messages li[data-author=customer]")).to_have_text(
        ["My parcel is late"]
    )
    await agent.fill("#reply", "Sorry! It ships today.")
    await agent.press("#reply", "Enter")

    await expect(customer.locator(".sb-msg[data-author=agent]")).to_have_text(
        ["Sorry! It ships today."]
    )

    # Customer text is shown as text in the console, never run as HTML.
    hostile = '<img src=x onerror="window.__pwned=1">'
    await customer.fill("[data-sb=input]", hostile)
    await customer.press("[data-sb=input]", "Enter")
    await expect(agent.locator("#messages li[data-author=customer]").last).to_have_text(hostile)
    assert await agent.evaluate("window.__pwned") is None
    assert await agent.locator("#messages img").count() == 0

    # The customer closes the tab; the agent writes meanwhile; reopening shows everything.
    await customer.close()
    await agent.fill("#reply", "Tracking number: 1Z999")
    await agent.press("#reply", "Enter")
    await expect(agent.locator("#messages li[data-author=agent]")).to_have_count(2)

    reopened = await customer_context.new_page()
    await reopened.goto(site.base_url + "/")
    messages = reopened.locator(".sb-msg:not(.sb-pending)")
    await expect(messages).to_have_text(
        [
            "My parcel is late",
            site.services.settings.auto_ack_text,
            "Sorry! It ships today.",
            hostile,
            "Tracking number: 1Z999",
        ]
    )
    seqs = [int(s) for s in await messages.evaluate_all("els => els.map(e => e.dataset.seq)")]
    assert seqs == [1, 2, 3, 4, 5]
    await agent_context.close()
    await customer_context.close()
