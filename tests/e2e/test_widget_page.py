"""The widget's demo page runs under a strict Content-Security-Policy: the widget loads, opens
and talks with nothing refused."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import Browser, expect

from tests.harness import RunningServer

pytestmark = pytest.mark.browser


async def test_the_widget_works_on_a_page_with_a_strict_policy(
    browser: Browser, site: RunningServer
) -> None:
    async with httpx.AsyncClient(base_url=site.base_url) as http:
        page = await http.get("/")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "'unsafe-inline'" not in policy
    customer = await (await browser.new_context()).new_page()
    refused: list[str] = []
    customer.on(
        "console",
        lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None,
    )
    await customer.goto(site.base_url + "/")
    await expect(customer.locator("[data-sb=status]")).to_have_text("online")
    await customer.fill("[data-sb=input]", "Hello under a strict policy")
    await customer.press("[data-sb=input]", "Enter")
    await expect(customer.locator(".sb-msg[data-author=customer]")).to_have_count(1)
    assert refused == []
