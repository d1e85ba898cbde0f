"""Accounts in a real Chromium: the Account panel lists sessions, turns two-factor sign-in on,
makes an API token; the login form then asks for the code; the set-password page takes an
invite link. No CSP refusal on the way (no inline script)."""

from __future__ import annotations

import re
import time

import pyotp
import pytest
from playwright.async_api import Browser, Page, expect

from server.services import demo
from tests.e2e.test_browser import SHOTS
from tests.harness import RunningServer

pytestmark = pytest.mark.browser


def csp_watch(page: Page) -> list[str]:
    refused: list[str] = []
    page.on(
        "console",
        lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None,
    )
    return refused


async def sign_in(page: Page, base_url: str) -> None:
    await page.goto(f"{base_url}/console")
    await page.fill("input[name=email]", demo.AGENT_EMAIL)
    await page.fill("input[name=password]", demo.AGENT_PASSWORD)
    await page.click("#login-form button[type=submit]")


async def test_the_account_panel_sets_up_two_factor_and_login_asks_for_the_code(
    browser: Browser, site: RunningServer
) -> None:
    page = await (await browser.new_context()).new_page()
    refused = csp_watch(page)
    await sign_in(page, site.base_url)
    await expect(page.locator("#live")).to_have_text("live")
    await page.click("#account-button")
    await expect(page.locator("#account-sessions tbody tr")).to_have_count(1)
    await expect(page.locator("#account-sessions")).to_contain_text("this one")
    await page.click("#account-totp button")
    secret = (await page.locator("#account-totp .secret").text_content() or "").strip()
    await expect(page.locator("#account-totp img")).to_be_visible()
    await page.screenshot(path=str(SHOTS / "account-totp-enrolment.png"), full_page=True)
    await page.fill("#account-totp input[name=code]", pyotp.TOTP(secret).now())
    await page.click("#account-totp button[type=submit]")
    await expect(page.locator("#account-totp .codes li")).to_have_count(10)
    await page.fill("#account-new-token input[name=name]", "reports script")
    await page.check("#account-new-token input[value='conversations:read']")
    await page.click("#account-new-token button[type=submit]")
    await expect(page.locator("#account-tokens .secret")).to_have_text(re.compile(r"^sbp_"))
    await page.screenshot(path=str(SHOTS / "account-panel.png"), full_page=True)
    # Signed out, the login form asks for the code after the password.
    await page.click("#logout")
    await page.fill("input[name=email]", demo.AGENT_EMAIL)
    await page.fill("input[name=password]", demo.AGENT_PASSWORD)
    await page.click("#login-form button[type=submit]")
    await expect(page.locator("#login-code")).to_be_visible()
    await page.screenshot(path=str(SHOTS / "account-login-code.png"))
    await page.fill("input[name=code]", "not-a-code")
    await page.click("#login-form button[type=submit]")
    await expect(page.locator("#login-error")).to_have_text("wrong code")
    # The next step's code (the one enrolment used is never taken twice; one step ahead is
    # within the drift allowed).
    await page.fill("input[name=code]", pyotp.TOTP(secret).at(time.time() + 30))
    await page.click("#login-form button[type=submit]")
    await expect(page.locator("#live")).to_have_text("live")
    assert refused == []


async def test_the_set_password_page_takes_an_invite_link(
    browser: Browser, site: RunningServer
) -> None:
    invite = await site.services.passwords.invite("lea@demo.switchboard.test", actor="test")
    page = await (await browser.new_context()).new_page()
    refused = csp_watch(page)
    await page.goto(invite.link.replace(site.services.settings.base_url, site.base_url))
    await expect(page.locator("#link-for")).to_contain_text("lea@demo.switchboard.test")
    await page.fill("#set-password input[name=password]", "short")
    await page.fill("#set-password input[name=again]", "short")
    await page.evaluate(
        "document.querySelector('#set-password input[name=password]').minLength = 0"
    )
    await page.evaluate("document.querySelector('#set-password input[name=again]').minLength = 0")
    await page.click("#set-password button[type=submit]")
    await expect(page.locator("#set-error")).to_have_text(
        "password must have at least 12 characters"
    )
    await page.fill("#set-password input[name=password]", "heron-lantern-quartz")
    await page.fill("#set-password input[name=again]", "heron-lantern-quartz")
    await page.click("#set-password button[type=submit]")
    await expect(page.locator("#done")).to_be_visible()
    await page.screenshot(path=str(SHOTS / "account-password-set.png"))
    assert "token=" not in await page.evaluate("location.href")
    assert refused == []
