"""The conversation list in Chromium with a long queue: the top of the ranked queue drawn at
once with its true count (for the eye and for screen readers), the rest drawn as the list
scrolls to its end or the focus nears it, one Tab stop with arrow keys between items, and a new
conversation added as one item without redrawing the others."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from server.services import demo
from tests.e2e.test_browser import SHOTS, login
from tests.harness import RunningServer, customer

pytestmark = pytest.mark.browser

QUEUED = 120  # more than the console's first read of the queue (100) and its first page (50)
ITEMS = "#conversations li[data-conversation-id]"


# Each item's height and its chips line's, how many items the list shows whole, the first
# item's chips title.
COMPACT = """els => {
  const nav = document.querySelector("nav").getBoundingClientRect();
  const bottom = Math.min(nav.bottom, innerHeight);
  return {
    items: els.map((e) => e.getBoundingClientRect().height),
    chips: els.map((e) => e.querySelector(".chips").getBoundingClientRect().height),
    visible: els.filter((e) => { const r = e.getBoundingClientRect();
      return r.top >= nav.top && r.bottom <= bottom; }).length,
    title: els[0].querySelector(".chips").title,
  };
}"""


async def seed_queue(site: RunningServer, count: int) -> None:
    """``count`` conversations queued in the demo brand's support team, a message each. All
    queued at the same moment with distinct priorities: their order cannot change while the
    test compares the console's with the server's (the wait adds the same to each)."""
    await site.services.pool.execute(
        """WITH brand AS (SELECT b.id AS brand_id, i.id AS inbox_id, t.id AS team_id
                            FROM brands b JOIN inboxes i ON i.brand_id = b.id
                            JOIN teams t ON t.brand_id = b.id AND t.slug = 'support'
                           WHERE b.slug = 'demo' LIMIT 1),
                c AS (INSERT INTO contacts (brand_id, name)
                      SELECT brand_id, 'Waiting customer ' || n FROM brand, generate_series(1, $1) n
                      RETURNING id, brand_id),
                v AS (INSERT INTO conversations (brand_id, inbox_id, contact_id, channel, status,
                                  team_id, required_skills, priority, priority_parts, band,
                                  queued_at, last_seq, last_message_at, handoff_reason, language)
                      SELECT c.brand_id, brand.inbox_id, c.id, 'webchat', 'queued',
                             brand.team_id, '{}', (row_number() OVER ())::int, '[]', 'normal',
                             now() - interval '1 minute', 1, now(),
                             'requested_human', 'en'
                        FROM c, brand RETURNING id)
           INSERT INTO messages (conversation_id, seq, direction, author_kind, channel, text,
                                 language)
           SELECT id, 1, 'in', 'customer', 'webchat', 'Where is my order?', 'en' FROM v""",
        count,
    )


async def ranked(site: RunningServer) -> list[str]:
    async with httpx.AsyncClient(base_url=site.base_url) as http:
        response = await http.post(
            "/console/api/login",
            json={"email": demo.AGENT_EMAIL, "password": demo.AGENT_PASSWORD},
        )
        assert response.status_code == 200
        return [q["id"] for q in (await http.get("/console/api/queue")).json()["queue"]]


async def shown(page: Page) -> list[str]:
    ids: list[str] = await page.locator(ITEMS).evaluate_all(
        "els => els.map(e => e.dataset.conversationId)"
    )
    return ids


@pytest.mark.parametrize("width", [1280, 390])
async def test_a_long_queue_shows_its_top_at_once_and_the_rest_as_the_agent_goes(
    browser: Browser, site: RunningServer, width: int
) -> None:
    await seed_queue(site, QUEUED)
    page = await (await browser.new_context(viewport={"width": width, "height": 900})).new_page()
    await login(page, site.base_url)
    items = page.locator(ITEMS)

    # The top of the queue and the true count, for the eye and for screen readers.
    await expect(page.locator("#queue-count")).to_have_text(f"({QUEUED})")
    await expect(items).to_have_count(50)
    await expect(items.first).to_have_attribute("aria-setsize", str(QUEUED))
    await expect(items.first).to_have_attribute("aria-posinset", "1")
    await expect(items.nth(49)).to_have_attribute("aria-posinset", "50")
    await expect(page.locator("#conversations .more-row")).to_contain_text(f"50 of {QUEUED} shown")
    order = await ranked(site)
    assert await shown(page) == order[:50]
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"console-list-top-{width}.png"))

    # Compact items: three lines each, the chips on one (cut short, never wrapped), so a
    # 900 px window shows nine of them (seven on a phone, under its taller header); what is cut
    # is in the chips' title. (Wrapped chips made items ~120 px tall: six fitted at 1280 px.)
    sizes = await items.evaluate_all(COMPACT)
    assert max(sizes["items"]) <= 84, sizes
    assert max(sizes["chips"]) <= 20, sizes
    assert sizes["visible"] >= (9 if width > 700 else 7), sizes
    assert "asked for a person" in sizes["title"], sizes

    # One Tab stop in the list; arrows move between items, and nearing the end draws more.
    stops = await items.evaluate_all("els => els.filter(e => e.tabIndex === 0).length")
    assert stops == 1
    await items.first.focus()
    await page.keyboard.press("ArrowDown")
    await expect(items.nth(1)).to_be_focused()
    await page.keyboard.press("End")
    await expect(items.nth(49)).to_be_focused()
    await expect(items).to_have_count(100)
    await page.keyboard.press("ArrowDown")
    await expect(items.nth(50)).to_be_focused()
    assert await items.evaluate_all("els => els.filter(e => e.tabIndex === 0).length") == 1
    await page.keyboard.press("Enter")
    await expect(items.nth(50)).to_have_class("active")
    await expect(page.locator("#thread-title")).to_contain_text("Waiting customer")
    if width < 700:  # a phone shows the conversation instead of the list: back to it
        await page.click("#pane-back")

    # Scrolling to the end of the list draws the rest; nothing is left to show.
    await page.locator("#conversations .more-row").scroll_into_view_if_needed()
    await expect(items).to_have_count(QUEUED)
    await expect(page.locator("#conversations .more-row")).to_have_count(0)
    assert await shown(page) == await ranked(site)

    # A new conversation is one new item: the others are the same elements as before.
    await items.evaluate_all("els => els.forEach(e => { e.dataset.kept = 'yes'; })")
    await customer(site, "a brand new question")
    await expect(page.locator("#queue-count")).to_have_text(f"({QUEUED + 1})")
    await expect(items).to_have_count(QUEUED + 1)
    fresh = page.locator(f"{ITEMS}:not([data-kept])")
    await expect(fresh).to_have_count(1)
    await expect(fresh).to_contain_text("a brand new question")
    assert await shown(page) == await ranked(site)
    await page.screenshot(path=str(SHOTS / f"console-list-live-{width}.png"))
    await page.context.close()
