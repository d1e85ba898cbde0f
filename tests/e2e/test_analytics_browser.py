"""The Analytics area in a real Chromium, over the scripted history of the store's tests: a
supervisor opens it by keyboard, picks the history's week, sees the figures, the volume chart
and its table, changes the breakdown, downloads a CSV, clicks a bar and opens a conversation
behind it in the console, and a handoff reason's row its conversations (by mouse and by
keyboard); the "now" figures follow a new waiting customer live; an agent gets
no Analytics tab. Screenshots at 1280 and 390 px
(var/screenshots/analytics-*.png). The CSP refuses nothing on the way."""

from __future__ import annotations

import contextlib
import re

import pytest
from playwright.async_api import Browser, BrowserContext, Page, Route, expect
from playwright.async_api import TimeoutError as PlaywrightTimeout

from server.services import demo
from tests.e2e.axe import blocking, violations
from tests.e2e.test_browser import SHOTS
from tests.e2e.test_context_panel import Console, console_page, contexts
from tests.harness import RunningServer
from tests.server.store.history import write
from tests.server.store.test_analytics import DAY, STORIES
from tests.web_console.brands import PASSWORD, conversation_in, person

pytestmark = pytest.mark.browser
__all__ = ["contexts"]  # the fixture, imported for this module's tests


async def seeded(site: RunningServer) -> None:
    await demo.seed_other_brand(site.services.pool)
    async with site.services.pool.acquire() as conn:
        for story in STORIES:
            await write(conn, story)


async def the_history_week(page: Page) -> None:
    tab = page.locator("#analytics-tab")
    await expect(tab).to_be_visible()
    await tab.focus()
    await page.keyboard.press("Enter")
    area = page.locator("#analytics-area")
    await expect(area).to_be_visible()
    await page.locator("#analytics-from").fill("2026-03-02")
    await page.locator("#analytics-to").fill("2026-03-08")
    volume = page.locator("#analytics-volume .analytics-table tbody tr")
    await expect(volume).to_have_count(3)


@pytest.mark.parametrize("width", [1280, 390])
async def test_a_supervisor_reads_the_dashboard_and_drills_down_to_a_conversation(
    browser: Browser, site: RunningServer, contexts: list[BrowserContext], width: int
) -> None:
    await seeded(site)
    supervisor = await person(site, demo.BRAND_SLUG, "supervisor")
    SHOTS.mkdir(parents=True, exist_ok=True)
    console = await console_page(browser, contexts, width, 900)
    page = console.page
    await console.sign_in(site.base_url, supervisor, PASSWORD)
    await the_history_week(page)

    tiles = page.locator(".analytics-tiles.headline")
    await expect(tiles.locator(".analytics-tile", has_text="Conversations")).to_contain_text("5")
    await expect(tiles.get_by_text("10 min 0 s")).to_be_visible()  # FRT (human) median: 600 s
    # Containment: the bot-only conversations, quiet for months by now (2 of 5).
    await expect(tiles.get_by_text("40.0 %")).to_be_visible()
    await expect(page.locator("#analytics-volume canvas").first).to_be_visible()
    first_day = page.locator("#analytics-volume .analytics-table tbody tr").first
    await expect(first_day.locator("th")).to_contain_text("2026-03-02")
    await expect(first_day.locator("td").first).to_have_text("3")

    agent_time = page.locator("#analytics-agents .analytics-table", has_text="Time online")
    await expect(agent_time.locator("tbody tr").first).to_be_visible()
    # The load over time: the one agent held conversations on the Monday and the Tuesday.
    load = page.locator("#analytics-agents .analytics-table", has_text="Load per day")
    await expect(load.locator("tbody tr")).to_have_count(2)
    await expect(load.locator("tbody tr").first.locator("th")).to_contain_text("2026-03-02")
    await expect(page.locator("#analytics-agents canvas").first).to_be_visible()

    # The breakdown picker changes the table; its CSV downloads with the same rows.
    await page.locator("#analytics-by").select_option("channel")
    breakdown = page.locator("#analytics-breakdown .analytics-table tbody tr")
    await expect(breakdown.first.locator("th")).to_contain_text("webchat")
    href = await page.locator("#analytics-breakdown a.csv").get_attribute("href")
    assert href is not None
    assert "format=csv" in href
    answer = await page.request.get(site.base_url + href)
    assert answer.ok
    assert answer.headers["content-type"].startswith("text/csv")
    assert "email" in await answer.text()

    # The bot's figures over the range: 1 of the 5 fell back (the low-confidence handoff);
    # no article was shown, so none was judged helpful or not.
    bot = page.locator("#analytics-bot .analytics-line")
    await expect(bot).to_contain_text("fell back 20.0 %")
    await expect(bot).to_contain_text("answered from the knowledge base 0.0 %")
    await expect(bot).to_contain_text("articles helpful —")
    # Each rate of the bot's and the ratings' lines stays whole at 390 px: "60.0 %" was broken
    # between the number and its sign.
    figures = page.locator(".analytics-line .analytics-figure")
    await expect(figures).to_have_count(8)
    broken = await figures.evaluate_all(
        "(els) => els.filter((e) => e.getClientRects().length > 1).map((e) => e.textContent)"
    )
    assert broken == []
    speed = page.locator("#analytics-speed .analytics-table thead")
    await expect(speed).to_contain_text("Handle time, p90")
    # The customer's comment with its rating, under the ratings.
    comments = page.locator("#analytics-quality .analytics-table.comments tbody tr")
    await expect(comments).to_have_count(1)
    await expect(comments.first).to_contain_text("slow")
    await expect(page.locator("#analytics-quality .analytics-line")).to_contain_text("1 comment ·")

    # The area scrolls inside the page: a picture of each part, as a supervisor scrolls.
    for part in (
        "volume",
        "volume-split",
        "speed",
        "bot",
        "quality",
        "comments",
        "sla",
        "agents",
        "breakdown",
    ):
        if part == "comments":
            await comments.first.scroll_into_view_if_needed()
        else:
            await page.locator(f"#analytics-{part}").scroll_into_view_if_needed()
        if part == "agents":
            await page.locator("#analytics-load-title").scroll_into_view_if_needed()
        await page.screenshot(path=str(SHOTS / f"analytics-{part}-{width}.png"))
    await page.locator("#analytics-area h2").scroll_into_view_if_needed()
    await page.screenshot(path=str(SHOTS / f"analytics-{width}.png"))

    # A row of the handoffs by reason lists the conversations handed off for it: the one
    # the bot did not understand (the other brand's handoff is not among them).
    reasons = page.locator("#analytics-area .analytics-table", has_text="Handoffs by reason")
    low = reasons.locator("tbody tr", has_text="bot did not understand").get_by_role("button")
    await expect(low).to_have_accessible_name(
        re.compile(r"^bot did not understand ?: show the conversations$")
    )
    await low.click()
    drill = page.locator("#analytics-drill")
    await expect(page.locator("#analytics-drill-title")).to_have_text(
        "Conversations: handed off: bot did not understand"
    )
    await expect(drill.get_by_role("status")).to_have_text("1 to 1 of 1")
    await expect(drill.locator(".analytics-conversations li")).to_contain_text("email")
    await expect(page.locator("#analytics-drill-title")).to_be_focused()
    await page.screenshot(path=str(SHOTS / f"analytics-drill-reason-{width}.png"))
    await reasons.scroll_into_view_if_needed()
    await page.screenshot(path=str(SHOTS / f"analytics-reasons-{width}.png"))

    # A click on the first day's bar lists its three conversations.
    over = page.locator("#analytics-volume .u-over")
    await over.scroll_into_view_if_needed()
    await over.click(position={"x": 3, "y": 40})
    await expect(drill.get_by_role("status")).to_have_text("1 to 3 of 3")
    await expect(page.locator("#analytics-drill-title")).to_be_focused()
    await expect(page.locator("#analytics-drill-title")).to_have_text(
        "Conversations: started 2026-03-02"
    )
    await page.screenshot(path=str(SHOTS / f"analytics-drill-{width}.png"))
    first = drill.locator(".analytics-conversations button").first
    await expect(first).to_contain_text("Customer 0")
    await first.click()
    await expect(page.locator("#analytics-area")).to_be_hidden()
    await expect(page.locator("#thread-head")).to_contain_text("Customer 0")
    assert console.refused == []


async def test_the_table_rows_drill_down_by_keyboard_and_an_agent_has_no_dashboard(
    browser: Browser, site: RunningServer, contexts: list[BrowserContext]
) -> None:
    await seeded(site)
    supervisor = await person(site, demo.BRAND_SLUG, "supervisor")
    console = await console_page(browser, contexts, 1280, 900)
    page = console.page
    await console.sign_in(site.base_url, supervisor, PASSWORD)
    await the_history_week(page)
    row = page.locator("#analytics-volume .analytics-table tbody tr").nth(1)
    await row.get_by_role("button").focus()
    await page.keyboard.press("Enter")
    await expect(page.locator("#analytics-drill").get_by_role("status")).to_have_text("1 to 1 of 1")
    # The SLA breaches' bar (its row's button): the conversation breached that day.
    breaches = page.locator("#analytics-breaches .analytics-table tbody tr").first
    await breaches.get_by_role("button").click()
    await expect(page.locator("#analytics-drill-title")).to_have_text(
        "Conversations: breached 2026-03-02"
    )
    await expect(page.locator("#analytics-drill").get_by_role("status")).to_have_text("1 to 1 of 1")
    await expect(page.locator("#analytics-drill .analytics-conversations li")).to_contain_text(
        "email"
    )

    # The volume split per channel (the default): a row per day and channel, webchat (the
    # most) first; per intent, Monday's refunds (2) open those two conversations.
    split = page.locator("#analytics-volume-split .analytics-table tbody tr")
    await expect(split.first.locator("th")).to_contain_text("2026-03-02")
    await expect(split.first).to_contain_text("webchat")
    # A day has a row per channel: each row's button says which, not the day alone.
    await expect(split.first.get_by_role("button")).to_have_accessible_name(
        re.compile(r"^2026-03-02 ?, webchat ?: show the conversations$")
    )
    await expect(page.locator("#analytics-volume-split canvas").first).to_be_visible()
    await page.locator("#analytics-split").select_option("intent")
    await expect(split.first).to_contain_text("refund")
    await expect(split.first.locator("td").last).to_have_text("2")
    await split.first.get_by_role("button").click()
    await expect(page.locator("#analytics-drill-title")).to_have_text(
        "Conversations: started 2026-03-02, intent refund"
    )
    await expect(page.locator("#analytics-drill").get_by_role("status")).to_have_text("1 to 2 of 2")
    await page.locator("#analytics-volume-split").scroll_into_view_if_needed()
    await page.screenshot(path=str(SHOTS / "analytics-volume-split-1280.png"))

    # The CSAT ratings' bar of 5 (its row's button): the one conversation rated 5.
    five = page.locator("#analytics-quality .analytics-table tbody tr", has_text="5").first
    await five.get_by_role("button").click()
    await expect(page.locator("#analytics-drill-title")).to_have_text("Conversations: rated 5")
    await expect(page.locator("#analytics-drill").get_by_role("status")).to_have_text("1 to 1 of 1")
    await expect(page.locator("#analytics-drill .analytics-conversations li")).to_contain_text(
        "webchat"
    )

    # The handoffs by reason, by keyboard: Tab from the table's CSV link reaches the first
    # reason's button, its focus drawn; Space lists the two handed off for it (a person asked).
    reasons = page.locator("#analytics-area .analytics-table", has_text="Handoffs by reason")
    await reasons.locator("caption a.csv").focus()
    await page.keyboard.press("Tab")
    asked_for = reasons.locator("tbody tr").first.get_by_role("button")
    await expect(asked_for).to_be_focused()
    await expect(asked_for).to_have_accessible_name(
        re.compile(r"^asked for a person ?: show the conversations$")
    )
    outline = await asked_for.evaluate("(el) => getComputedStyle(el).outlineStyle")
    assert outline == "solid", outline
    await page.keyboard.press("Space")
    await expect(page.locator("#analytics-drill-title")).to_have_text(
        "Conversations: handed off: asked for a person"
    )
    await expect(page.locator("#analytics-drill").get_by_role("status")).to_have_text("1 to 2 of 2")
    listed = page.locator("#analytics-drill .analytics-conversations li")
    await expect(listed).to_have_count(2)
    await expect(listed.first).to_contain_text("Customer 3600")
    await expect(listed.nth(1)).to_contain_text(f"Customer {DAY:g}")
    # Enter works as well: the one the bot did not understand.
    await reasons.locator("tbody tr").nth(1).get_by_role("button").focus()
    await page.keyboard.press("Enter")
    await expect(page.locator("#analytics-drill").get_by_role("status")).to_have_text("1 to 1 of 1")

    # A comment opens its conversation.
    comment = page.locator("#analytics-quality .analytics-table.comments tbody tr").first
    await comment.get_by_role("button").focus()
    await page.keyboard.press("Enter")
    await expect(page.locator("#analytics-area")).to_be_hidden()
    await expect(page.locator("#thread-head")).to_contain_text("Customer 7200")
    await page.locator("#analytics-tab").click()
    await expect(page.locator("#analytics-area")).to_be_visible()

    # Only the email conversations: the agent's row counts one, and lists that one (not the
    # agent's three on every channel).
    await page.locator("#analytics-filter-kind").select_option("channel")
    await page.locator("#analytics-filter-value").select_option("email")
    agents = page.locator("#analytics-agents .analytics-table", has_text="Per agent")
    agent_row = agents.locator("tbody tr").first
    await expect(agent_row.locator("td").first).to_have_text("1")
    await agent_row.get_by_role("button").click()
    drill = page.locator("#analytics-drill")
    await expect(drill.get_by_role("status")).to_have_text("1 to 1 of 1")
    await expect(drill.locator(".analytics-conversations li")).to_contain_text("email")
    await page.locator("#analytics-filter-kind").select_option("")

    # A customer writes and waits: the socket's events bring the "now" figures up to date.
    waiting = page.locator(".analytics-tile", has_text="Waiting")
    await expect(waiting.locator("dd")).to_have_text("0")
    asked = await conversation_in(site, demo.WEBCHAT_INBOX, "where is my parcel?")
    await expect(waiting.locator("dd")).to_have_text("1")
    # Its first-response deadline passes: the next event shows it at risk, and it opens.
    async with site.services.pool.acquire() as conn:
        await conn.execute(
            "UPDATE conversations SET first_response_due = now() - interval '2 minutes',"
            " status = 'queued' WHERE id = $1::uuid",
            asked.conversation_id,
        )
    await conversation_in(site, demo.WEBCHAT_INBOX, "and my invoice?")
    risky = page.locator("#analytics-area .analytics-table", has_text="At risk now")
    overdue = risky.locator("tbody tr", has_text="overdue")
    await expect(overdue).to_have_count(1)
    await expect(overdue).to_contain_text("2 min")
    await expect(page.locator(".analytics-tile", has_text="At risk")).not_to_contain_text("0")
    await page.screenshot(path=str(SHOTS / "analytics-at-risk-1280.png"))
    await overdue.get_by_role("button").click()
    await expect(page.locator("#analytics-area")).to_be_hidden()
    assert console.refused == []

    agent = await person(site, demo.BRAND_SLUG, "agent")
    other = await console_page(browser, contexts, 1280, 900)
    await other.sign_in(site.base_url, agent, PASSWORD)
    await expect(other.page.locator("#knowledge-tab")).to_be_visible()
    await expect(other.page.locator("#analytics-tab")).to_be_hidden()


# Elements past the page's right edge that no scrolling box clips (an absolutely placed one is
# clipped only by a box at or above its containing block): what makes a phone's page scroll
# sideways, named in the failure.
PAST_THE_EDGE = """() => {
    const width = document.documentElement.clientWidth;
    const clipped = (el) => {
        let placed = ["absolute", "fixed"].includes(getComputedStyle(el).position);
        for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
            const style = getComputedStyle(a);
            if (placed && style.position === "static") continue;
            if (style.overflowX !== "visible") return true;
            placed = ["absolute", "fixed"].includes(style.position);
        }
        return false;
    };
    const out = [];
    for (const el of document.querySelectorAll("#app *")) {
        const box = el.getBoundingClientRect();
        if (box.width && box.right > width + 0.5 && !clipped(el)) {
            const where = el.closest("[id]");
            const name = `${el.tagName.toLowerCase()}.${el.className}`;
            out.push(`${name} in #${where && where.id}: ${Math.round(box.right)}`);
        }
    }
    return out.slice(0, 10);
}"""
# Each table's box in the area as the page shows it: wider than it (it scrolls), and what a
# keyboard user and a screen reader get of it.
BOXES = """() => [...document.querySelectorAll("#analytics-area .analytics-table")]
    .filter((el) => el.offsetParent !== null)
    .map((el) => ({
        caption: (el.querySelector("caption") || el).textContent.trim().slice(0, 40),
        wide: el.scrollWidth > el.clientWidth + 1,
        tabindex: el.getAttribute("tabindex"),
        role: el.getAttribute("role"),
        label: el.getAttribute("aria-label"),
        hint: Boolean(el.closest(".analytics-scroll").querySelector(".analytics-scroll-hint")),
    }))"""
# Every visible box's attributes agree with its width: the Scroller has measured it.
MEASURED = """() => [...document.querySelectorAll("#analytics-area .analytics-table")]
    .filter((el) => el.offsetParent !== null)
    .every((el) => (el.scrollWidth > el.clientWidth + 1) === el.hasAttribute("tabindex"))"""
REASONS = re.compile(r"/handoff-reasons\?")
# People whose names sort differently as text: numbers, case and accents.
NAMES = ["Agent 10", "Zoë Adams", "émile Blanc", "Agent 9"]


async def the_page_fits(page: Page) -> None:
    scroll, client = await page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert scroll == client, f"the page is {scroll} px wide in {client}: " + "; ".join(
        await page.evaluate(PAST_THE_EDGE)
    )


@pytest.mark.parametrize(("width", "height"), [(390, 844), (1280, 800)])
async def test_every_table_and_the_heat_map_scroll_in_their_own_box_never_the_page(
    browser: Browser, site: RunningServer, contexts: list[BrowserContext], width: int, height: int
) -> None:
    """At a phone's 390 px the tables and the heat map scroll sideways inside their boxes, each
    a named region in the Tab order with a hint; the page stays as wide as the phone (it was
    680 px wide: the cells' visually hidden words were placed against the page). The time
    online lists people as a person reads names; a breakdown picked while the area's reports
    are on their way lets them arrive (they said "Loading…" until the next range)."""
    await seeded(site)
    async with site.services.pool.acquire() as conn:
        for name in NAMES:
            email = await person(site, demo.BRAND_SLUG, "agent")
            await conn.execute("UPDATE agents SET name = $1 WHERE email = $2", name, email)
    supervisor = await person(site, demo.BRAND_SLUG, "supervisor")
    SHOTS.mkdir(parents=True, exist_ok=True)
    console = await console_page(browser, contexts, width, height)
    page = console.page
    await console.sign_in(site.base_url, supervisor, PASSWORD)
    # The handoff reasons' answers are held until a breakdown has been picked.
    held: list[Route] = []

    async def hold(route: Route) -> None:
        held.append(route)

    await page.route(REASONS, hold)
    await the_history_week(page)
    heat = page.locator("#analytics-heat .analytics-table")
    await expect(heat.locator("tbody tr")).to_have_count(7)

    # Every breakdown (the default, team, last): its first row as the server sent it.
    breakdown = page.locator("#analytics-breakdown .analytics-table")
    for by in ("agent", "channel", "intent", "language", "band", "team"):
        async with page.expect_response(re.compile(rf"/breakdown\?.*\bby={by}\b")) as sent:
            await page.locator("#analytics-by").select_option(by)
        rows = (await (await sent.value).json())["rows"]
        first = rows[0][1] if rows else "Nothing in this range."
        await expect(breakdown.locator("tbody tr").first).to_contain_text(first)
        await the_page_fits(page)
    for route in held:
        await route.continue_()
    await page.unroute(REASONS)
    reasons = page.locator("#analytics-area .analytics-table", has_text="Handoffs by reason")
    await expect(reasons.locator("tbody tr").first).to_be_visible()
    await the_page_fits(page)

    # Each box's attributes follow its width once it has measured itself.
    with contextlib.suppress(PlaywrightTimeout):
        await page.wait_for_function(MEASURED, timeout=10_000)
    boxes = await page.evaluate(BOXES)
    for box in boxes:
        if box["wide"]:
            assert box["tabindex"] == "0", box
            assert box["role"] == "region", box
            assert box["label"], box
            assert box["hint"], box
        else:
            assert box["tabindex"] is None, box
            assert not box["hint"], box
    wide = [box["caption"] for box in boxes if box["wide"]]
    if width == 390:  # what this test is about: the heat map and the breakdown do scroll
        assert any(c.startswith("Conversations started, by weekday") for c in wide), wide
        assert any(c.startswith("Per team") for c in wide), wide
    await breakdown.scroll_into_view_if_needed()
    await page.screenshot(path=str(SHOTS / f"analytics-scroll-breakdown-{width}.png"))
    await heat.scroll_into_view_if_needed()
    await page.screenshot(path=str(SHOTS / f"analytics-scroll-heat-{width}.png"))

    # The keyboard's way: Tab from the heading's link reaches the heat map's box when it
    # scrolls, and the arrow keys scroll it.
    await page.locator("#analytics-heat h3 a.definition").focus()
    await page.keyboard.press("Tab")
    if width == 390:
        await expect(heat).to_be_focused()
        await expect(heat).to_have_role("region")
        await expect(heat).to_have_accessible_name(
            "Conversations by weekday and hour, scrolls sideways"
        )
        shade = page.locator("#analytics-heat .analytics-scroll")
        await expect(shade).to_have_class(re.compile(r"\bmore-right\b"))
        for _ in range(6):
            await page.keyboard.press("ArrowRight")
        await expect(shade).to_have_class(re.compile(r"\bmore-left\b"))
        await page.screenshot(path=str(SHOTS / f"analytics-scroll-heat-scrolled-{width}.png"))
    else:
        await expect(heat.locator("caption a.csv")).to_be_focused()

    # The time online: most online first, then names as a person reads them.
    agent_time = page.locator("#analytics-agents .analytics-table", has_text="Time online")
    names = await agent_time.locator("tbody th").all_inner_texts()
    assert [n for n in names if n in NAMES] == ["Agent 9", "Agent 10", "émile Blanc", "Zoë Adams"]
    await agent_time.scroll_into_view_if_needed()
    await page.screenshot(path=str(SHOTS / f"analytics-scroll-agents-{width}.png"))
    assert console.refused == []


@pytest.mark.parametrize(("width", "height"), [(390, 844), (1280, 800)])
async def test_axe_finds_nothing_serious_on_the_dashboard_with_its_history(
    browser: Browser, site: RunningServer, contexts: list[BrowserContext], width: int, height: int
) -> None:
    """The scrolling boxes are named regions a keyboard reaches (axe's
    scrollable-region-focusable among the WCAG 2.1 A/AA rules), at both widths."""
    await seeded(site)
    supervisor = await person(site, demo.BRAND_SLUG, "supervisor")
    # bypass_csp: only so axe can be added to the page (tests/e2e/axe.py says why).
    context = await browser.new_context(
        viewport={"width": width, "height": height}, bypass_csp=True
    )
    contexts.append(context)
    console = Console(await context.new_page())
    await console.sign_in(site.base_url, supervisor, PASSWORD)
    await the_history_week(console.page)
    area = console.page.locator("#analytics-area")
    await expect(area.locator("#analytics-heat tbody tr")).to_have_count(7)
    reasons = area.locator(".analytics-table", has_text="Handoffs by reason")
    await expect(reasons.locator("tbody tr").first).to_be_visible()
    await expect(area.locator(".analytics-scroll-hint").first).to_be_visible()
    assert blocking(await violations(console.page)) == []
