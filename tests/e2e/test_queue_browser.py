"""The console's queue stays right without reading it again: placements and a router pass reach
a console in Chromium as queue.changed events, and it asks GET /console/api/queue only when it
starts (or reconnects), while the list it shows stays the server's ranked queue."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import Browser, Page, Request, expect

from server.services import demo
from tests.e2e.test_browser import SHOTS, login
from tests.harness import RunningServer, customer

pytestmark = pytest.mark.browser

LEA = "lea@demo.switchboard.test"


async def ranked(http: httpx.AsyncClient) -> list[str]:
    response = await http.get("/console/api/queue")
    assert response.status_code == 200
    return [q["id"] for q in response.json()["queue"]]


async def shown(page: Page) -> list[str]:
    ids: list[str] = await page.locator("#conversations li").evaluate_all(
        "els => els.map(e => e.dataset.conversationId)"
    )
    return ids


@pytest.mark.parametrize("width", [1280, 390])
async def test_a_router_pass_reaches_the_console_without_a_queue_read(
    browser: Browser, site: RunningServer, width: int
) -> None:
    page = await (await browser.new_context(viewport={"width": width, "height": 900})).new_page()
    reads: list[str] = []

    def count(request: Request) -> None:
        if request.url.split("?")[0].endswith("/console/api/queue"):
            reads.append(request.url)

    page.on("request", count)
    # Signing in reads the queue once (its first page, which holds it all here).
    async with page.expect_response(lambda r: "/console/api/queue?" in r.url):
        await login(page, site.base_url)
    await expect(page.locator("#conversations li.empty")).to_have_text("Nobody is waiting.")
    assert len(reads) == 1
    reads.clear()

    # Ten customers are handed over while the console is open: each appears where it ranks.
    async with httpx.AsyncClient(base_url=site.base_url) as dana:
        response = await dana.post(
            "/console/api/login",
            json={"email": demo.AGENT_EMAIL, "password": demo.AGENT_PASSWORD},
        )
        assert response.status_code == 200
        for n in range(10):
            await customer(
                site, f"question number {n}", f"customer{n}@example.com" if n % 3 else None
            )
        await expect(page.locator("#queue-count")).to_have_text("(10)")
        assert await shown(page) == await ranked(dana)
        scores = await page.locator("#conversations li").evaluate_all(
            "els => els.map(e => Number(e.dataset.score))"
        )
        assert scores == sorted(scores, reverse=True)

        # Léa (capacity 4) goes online: a router pass assigns four of them.
        async with httpx.AsyncClient(base_url=site.base_url) as lea:
            response = await lea.post(
                "/console/api/login", json={"email": LEA, "password": demo.AGENT_PASSWORD}
            )
            assert response.status_code == 200
            await lea.post("/console/api/me/status", json={"status": "online"})
            await site.services.router.assign_pass()
        await expect(page.locator("#queue-count")).to_have_text("(6)")
        assert await shown(page) == await ranked(dana)
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"console-queue-live-{width}.png"))
    assert reads == []
    await page.context.close()
