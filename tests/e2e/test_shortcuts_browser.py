"""Keyboard shortcuts in Chromium (web_console/static/shortcuts.js): j/k and Alt+↓/↑ move
through the queue, a claims, r and Enter reply, e resolves (asking first over an unsent
draft), n and / reach the note and the search box, and ? opens a dialog that keeps the focus
and gives it back on Escape, at 1280 and 390 px; letters typed in a field stay text."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, Page, expect

from server.services import demo
from tests.e2e.test_browser import SHOTS
from tests.harness import RunningServer
from tests.web_console.brands import conversation_in

pytestmark = pytest.mark.browser

FOCUS_IN = "(s) => document.activeElement?.matches(s) ?? false"


async def sign_in(page: Page, base_url: str, problems: list[str]) -> None:
    page.on(
        "console",
        lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    await page.goto(f"{base_url}/console")
    await page.fill("input[name=email]", demo.AGENT_EMAIL)
    await page.fill("input[name=password]", demo.AGENT_PASSWORD)
    await page.click("button[type=submit]")
    # Signing in hashes a password and opens a socket: slow on a loaded machine.
    await expect(page.locator("#live")).to_have_text("live", timeout=30_000)


async def focused(page: Page, selector: str) -> bool:
    return bool(await page.evaluate(FOCUS_IN, selector))


@pytest.mark.parametrize("width", [1280, 390])
async def test_shortcuts_take_a_conversation_from_the_queue_to_resolved(
    browser: Browser, site: RunningServer, width: int
) -> None:
    first = await conversation_in(site, demo.WEBCHAT_INBOX, "my parcel never came")
    second = await conversation_in(site, demo.WEBCHAT_INBOX, "the invoice is wrong")
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = await browser.new_context(
        viewport={"width": width, "height": 800 if width > 600 else 844}
    )
    page = await context.new_page()
    problems: list[str] = []
    await sign_in(page, site.base_url, problems)
    items = page.locator("#conversations li[data-conversation-id]")
    await expect(items).to_have_count(2)
    order = [await li.get_attribute("data-conversation-id") for li in await items.all()]
    assert set(order) == {first.conversation_id, second.conversation_id}

    # j opens the first, j the next, k (and Alt+↑) back; the opened item keeps the focus.
    active = page.locator("#conversations li.active")
    await page.keyboard.press("j")
    await expect(active).to_have_attribute("data-conversation-id", order[0])
    await page.keyboard.press("j")
    await expect(active).to_have_attribute("data-conversation-id", order[1])
    # (On a phone the list gives way to the conversation: its title has the focus.)
    opened = f'#conversations li[data-conversation-id="{order[1]}"]'
    assert await focused(page, opened if width > 600 else "#thread-title")
    await page.keyboard.press("Alt+ArrowUp")
    await expect(active).to_have_attribute("data-conversation-id", order[0])
    await page.keyboard.press("Alt+ArrowDown")
    await page.keyboard.press("k")
    await expect(active).to_have_attribute("data-conversation-id", order[0])
    await expect(page.locator("#thread-title")).to_be_visible()

    # a claims it.
    await page.keyboard.press("a")
    await expect(page.locator("#thread-facts")).to_contain_text("assigned")
    await expect(page.locator("#claim")).to_be_hidden()

    # r: the reply box; the letters typed there are text, Enter sends.
    await page.keyboard.press("r")
    assert await focused(page, "#reply")
    await page.keyboard.type("Sorry, a new one is on its way: just reply if it is not.")
    await page.keyboard.press("Enter")
    await expect(page.locator("#messages li[data-author=agent]")).to_contain_text(
        ["a new one is on its way: just reply if it is not."]
    )

    # n: the note; / : the search box; Escape leaves a field so the letters work again.
    await page.keyboard.press("Escape")
    assert not await focused(page, "#reply")
    await page.keyboard.press("n")
    assert await focused(page, "#note-text")
    await page.keyboard.press("Escape")
    await page.keyboard.press("/")
    assert await focused(page, "#search-box")
    await page.keyboard.press("Escape")
    if width <= 600:  # on a phone "/" went back to the list: open the conversation again
        await page.click("#tabs [data-view=mine]")  # (claimed: it left the queue)
        await page.locator(f'#conversations li[data-conversation-id="{order[0]}"]').click()

    # e over an unsent draft asks first; "Keep writing" (or Escape) leaves it open.
    await page.keyboard.press("r")
    await page.keyboard.type("half a thought")
    await page.keyboard.press("Escape")
    await page.keyboard.press("e")
    confirm = page.locator("#resolve-confirm")
    await expect(confirm).to_be_visible()
    await expect(confirm).to_contain_text("Your reply has not been sent")
    await page.screenshot(path=str(SHOTS / f"shortcuts-{width}-confirm.png"))
    assert await focused(page, "#resolve-confirm button.quiet")
    await page.keyboard.press("Escape")
    await expect(confirm).to_be_hidden()
    await expect(page.locator("#resolve")).to_be_visible()
    assert await focused(page, "#thread-title")

    await page.keyboard.press("e")
    await expect(confirm).to_be_visible()
    await page.keyboard.press("Tab")
    assert await focused(page, "#resolve-confirm button:not(.quiet)")
    await page.keyboard.press("Enter")
    await expect(page.locator("#thread-facts")).to_contain_text("resolved")
    await expect(page.locator("#resolve")).to_be_hidden()
    # The draft stays in its box: resolving does not throw words away.
    await expect(page.locator("#reply")).to_have_value("half a thought")
    await page.screenshot(path=str(SHOTS / f"shortcuts-{width}-resolved.png"))
    assert problems == []
    await context.close()


@pytest.mark.parametrize("width", [1280, 390])
async def test_question_mark_lists_the_shortcuts_in_a_dialog_that_holds_the_focus(
    browser: Browser, site: RunningServer, width: int
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = await browser.new_context(
        viewport={"width": width, "height": 800 if width > 600 else 844}
    )
    page = await context.new_page()
    problems: list[str] = []
    await sign_in(page, site.base_url, problems)
    await page.locator("#tabs [data-view=mine]").focus()

    await page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    await expect(dialog).to_be_visible()
    for keys in ("j", "k", "r", "n", "e", "a", "/", "?", "Alt+↓"):
        await expect(dialog.locator("kbd", has_text=keys).first).to_be_visible()
    await page.screenshot(path=str(SHOTS / f"shortcuts-{width}-help.png"))

    # Tab and Shift+Tab go round the dialog's controls and never leave it.
    for key in ["Tab"] * 5 + ["Shift+Tab"] * 5:
        await page.keyboard.press(key)
        assert await page.evaluate(
            "() => document.getElementById('shortcuts-dialog').contains(document.activeElement)"
        ), f"{key} left the dialog"

    # Escape closes it and gives the focus back to what had it.
    await page.keyboard.press("Escape")
    await expect(dialog).to_be_hidden()
    assert await focused(page, "#tabs [data-view=mine]")

    # Single keys can be turned off (WCAG 2.1.4); Alt+arrows and the Alerts panel remain.
    await page.keyboard.press("?")
    await page.get_by_label("Single-key shortcuts").uncheck()
    await page.keyboard.press("Escape")
    await page.keyboard.press("?")
    await expect(dialog).to_be_hidden()
    await page.click("#alerts-button")
    await page.get_by_role("button", name="Keyboard shortcuts (?)").click()
    await expect(dialog).to_be_visible()
    await page.get_by_label("Single-key shortcuts").check()
    await page.get_by_role("button", name="Close").click()
    await expect(dialog).to_be_hidden()
    assert problems == []
    await context.close()
