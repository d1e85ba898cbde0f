"""Alerts in Chromium (web_console/static/notifications.js, toasts.js): once the agent turns
desktop notifications on, a conversation the router assigns to them and a colleague's note
that mentions them become browser notifications while the tab is hidden, whose click opens
the conversation; while the tab is shown they are toasts, and toasts never cover the reply
box, at 1280 and 390 px (scrolled to the box's top and bottom at 390), nor the supervisor
view's tables and forms (the view makes way at 1280 px; on a phone the stack joins the page).

How the hidden tab and the notifications are observed: an init script makes
``document.visibilityState`` (and ``hidden``) read a page global the test sets, and wraps
``window.Notification`` in a recorder that keeps each notification made (title, body, tag,
its onclick) and passes ``permission`` and ``requestPermission`` to Chromium's own, for
which the browser context is granted the ``notifications`` permission."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from server.services import demo
from server.services.agents import create_agent
from tests.e2e.test_browser import SHOTS
from tests.harness import RunningServer
from tests.web_console.brands import PASSWORD, conversation_in, person, signed_in

pytestmark = pytest.mark.browser

WATCH = """
window.__visibility = "visible";
Object.defineProperty(Document.prototype, "visibilityState",
  { configurable: true, get() { return window.__visibility; } });
Object.defineProperty(Document.prototype, "hidden",
  { configurable: true, get() { return window.__visibility === "hidden"; } });
const Real = window.Notification;
window.__notified = [];
window.Notification = class Recorded extends EventTarget {
  static get permission() { return Real.permission; }
  static requestPermission() { return Real.requestPermission(); }
  constructor(title, options = {}) {
    super();
    Object.assign(this, { title, body: options.body, tag: options.tag, closed: false });
    window.__notified.push(this);
  }
  close() { this.closed = true; }
};
"""

NOTIFIED = "() => window.__notified.map((n) => ({title: n.title, body: n.body, tag: n.tag}))"

# The toast stack's box and the reply box's, and whether any toast is on screen.
BOXES = """() => {
  const r = (id) => document.getElementById(id).getBoundingClientRect();
  const t = r("toasts"), f = r("reply-form");
  return { toasts: [t.left, t.top, t.right, t.bottom], reply: [f.left, f.top, f.right, f.bottom],
           shown: t.height > 0 && document.querySelectorAll("#toasts .toast").length > 0 };
}"""


def overlap(a: list[float], b: list[float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


async def set_visibility(page: Page, state: str) -> None:
    await page.evaluate(
        "(s) => { window.__visibility = s;"
        " document.dispatchEvent(new Event('visibilitychange')); }",
        state,
    )


async def assert_toasts_clear_of_reply(page: Page, shot: str) -> None:
    await page.evaluate(
        "() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))"
    )
    boxes = await page.evaluate(BOXES)
    await page.screenshot(path=str(SHOTS / f"alerts-{shot}.png"))
    assert boxes["shown"], "no toast on screen"
    assert not overlap(boxes["toasts"], boxes["reply"]), (
        f"{shot}: toasts over the reply box: {boxes}"
    )


@pytest.mark.parametrize("width", [1280, 390])
async def test_assignments_and_mentions_notify_a_hidden_tab_and_toasts_spare_the_reply_box(
    browser: Browser, site: RunningServer, width: int
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    first = await conversation_in(site, demo.WEBCHAT_INBOX, "where is order 1042")
    context = await browser.new_context(
        viewport={"width": width, "height": 800 if width > 600 else 844},
        permissions=["notifications"],
    )
    await context.add_init_script(WATCH)
    page = await context.new_page()
    problems: list[str] = []
    page.on(
        "console",
        lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    await page.goto(f"{site.base_url}/console")
    await page.fill("input[name=email]", demo.AGENT_EMAIL)
    await page.fill("input[name=password]", demo.AGENT_PASSWORD)
    await page.click("button[type=submit]")
    # Signing in hashes a password and opens a socket: slow on a loaded machine.
    await expect(page.locator("#live")).to_have_text("live", timeout=30_000)
    dana = await page.evaluate("() => fetch('/console/api/me').then((r) => r.json())")
    dana_id = dana["agent"]["id"]

    # Opting in, from the header's Alerts panel (with sound: a WebAudio tone, no file).
    await page.click("#alerts-button")
    await page.get_by_label("Desktop notifications while this tab is hidden").check()
    await expect(page.locator("#alerts-state")).to_contain_text("while the tab is hidden")
    await page.get_by_label("Sound").check()
    await page.screenshot(path=str(SHOTS / f"alerts-{width}-panel.png"))
    await page.keyboard.press("Escape")
    await expect(page.locator("#alerts-panel")).to_be_hidden()
    saved = await page.evaluate("() => localStorage.getItem('switchboard.alerts')")
    assert saved == '{"notify":true,"sound":true}'

    # Hidden: going online lets the router assign the queued conversation to Dana.
    await set_visibility(page, "hidden")
    await page.select_option("#my-status", "online")
    await page.wait_for_function("() => window.__notified.length === 1")
    [assigned] = await page.evaluate(NOTIFIED)
    assert assigned["title"] == "New conversation for you"
    assert assigned["tag"] == f"assigned:{first.conversation_id}"

    # A colleague's note that mentions Dana: a second notification, naming them.
    sam = await signed_in(site, await person(site, demo.BRAND_SLUG, "supervisor"))
    note = await sam.post(
        f"/console/api/conversations/{first.conversation_id}/notes",
        json={"text": "@Dana Demo the customer is a VIP", "mentions": [dana_id]},
    )
    assert note.status_code in (200, 201), note.text
    await page.wait_for_function("() => window.__notified.length === 2")
    mention = (await page.evaluate(NOTIFIED))[1]
    assert mention["title"] == "supervisor of demo mentioned you"
    assert mention["body"] == "@Dana Demo the customer is a VIP"

    # Its click brings the tab back with the conversation open.
    await set_visibility(page, "visible")
    await page.evaluate("() => window.__notified[0].onclick(new Event('click'))")
    await expect(page.locator("#thread-title")).to_contain_text("Customer of demo-web")
    assert await page.evaluate("() => window.__notified[0].closed")

    # Shown: the next assignment and mentions are toasts, not notifications.
    # (console.js's toast of the first assignment, shown while hidden, goes after 8 s.)
    assignment_toast = page.locator("#toasts .toast", has_text="New conversation for you")
    await expect(assignment_toast).to_have_count(0, timeout=15_000)
    second = await conversation_in(site, demo.WEBCHAT_INBOX, "the invoice is wrong")
    await expect(assignment_toast).to_have_count(1)
    for n in range(5):
        answer = await sam.post(
            f"/console/api/conversations/{second.conversation_id}/notes",
            json={"text": f"@Dana Demo look at this, part {n + 1}", "mentions": [dana_id]},
        )
        assert answer.status_code in (200, 201), answer.text
    await expect(page.locator("#toasts .toast.mention", has_text="look at this")).to_have_count(5)
    assert len(await page.evaluate(NOTIFIED)) == 2
    await sam.aclose()

    await assert_toasts_clear_of_reply(page, f"{width}-toasts")
    if width < 700:
        # The page scrolls at phone width: the box at the top, then at the bottom, of the window.
        for block in ("start", "end", "center"):
            await page.evaluate(
                "(b) => document.getElementById('reply-form').scrollIntoView({block: b})", block
            )
            await assert_toasts_clear_of_reply(page, f"{width}-toasts-{block}")
    assert problems == []
    await context.close()


# Whether the toast stack's box overlaps the visible part of anything it must spare, and
# where each thing and the stack are (for the assertion's message).
COVERED = """() => {
  const visible = (node) => {
    let r = node.getBoundingClientRect(), [t, b, l, rt] = [r.top, r.bottom, r.left, r.right];
    for (let up = node.parentElement; up && up !== document.body; up = up.parentElement) {
      const s = getComputedStyle(up);
      if (s.overflowX === "visible" && s.overflowY === "visible") continue;
      const c = up.getBoundingClientRect();
      [t, b, l, rt] = [Math.max(t, c.top), Math.min(b, c.bottom), Math.max(l, c.left),
        Math.min(rt, c.right)];
    }
    return [l, Math.max(t, 0), rt, Math.min(b, innerHeight)];
  };
  const s = document.getElementById("toasts").getBoundingClientRect();
  const stack = [s.left, s.top, s.right, s.bottom];
  const spared = [...document.querySelectorAll(
    "#app > header, #tabs, #supervisor > *")].filter((n) => n.getClientRects().length);
  const over = spared.map((n) => [n.id || n.tagName, visible(n)])
    .filter(([, v]) => v[0] < stack[2] && stack[0] < v[2] && v[1] < stack[3] && stack[1] < v[3]
      && v[1] < v[3]);
  const supervisor = document.getElementById("supervisor");
  return { stack, over, onScreen: s.bottom > 0 && s.top < innerHeight && s.height > 0,
           count: document.querySelectorAll("#toasts .toast").length,
           inline: document.getElementById("toasts").classList.contains("toasts-inline"),
           gutter: supervisor.style.paddingRight,
           cut: supervisor.scrollWidth > supervisor.clientWidth + 1 };
}"""


async def toasts_spare_the_tables(page: Page, shot: str) -> dict[str, Any]:
    await page.evaluate(
        "() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))"
    )
    seen: dict[str, Any] = await page.evaluate(COVERED)
    await page.screenshot(path=str(SHOTS / f"toasts-supervisor-{shot}.png"))
    assert seen["count"] == 3, seen
    assert seen["over"] == [], f"{shot}: toasts over the supervisor view: {seen}"
    return seen


async def dismiss_all(page: Page) -> None:
    toasts = page.locator("#toasts .toast.mention")
    for left in range(await toasts.count(), 0, -1):
        await toasts.first.locator("button[aria-label=Dismiss]").click()
        await expect(toasts).to_have_count(left - 1)


@pytest.mark.parametrize("width", [1280, 390])
async def test_toasts_never_cover_the_supervisor_tables(
    browser: Browser, site: RunningServer, width: int
) -> None:
    """Toasts over the supervisor view: beside short tables, in the free stretch; when the
    agents' table fills the window, at 1280 px the tables make way (a gutter, every column
    still shown) and on a phone the stack joins the page's flow; once the toasts are gone the
    tables have their room back."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    conversation = await conversation_in(site, demo.WEBCHAT_INBOX, "where is order 1042")
    boss = await person(site, demo.BRAND_SLUG, "supervisor")
    colleague = await signed_in(site, await person(site, demo.BRAND_SLUG, "supervisor"))
    context = await browser.new_context(
        viewport={"width": width, "height": 800 if width > 600 else 844}
    )
    page = await context.new_page()
    problems: list[str] = []
    page.on(
        "console",
        lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))

    async def supervisor_view(signing_in: bool) -> str:
        await page.goto(f"{site.base_url}/console")
        if signing_in:
            await page.fill("input[name=email]", boss)
            await page.fill("input[name=password]", PASSWORD)
            await page.click("button[type=submit]")
        await expect(page.locator("#live")).to_have_text("live", timeout=30_000)
        await page.click("#supervisor-tab")
        await expect(page.locator("#agent-table tbody tr").first).to_be_visible()
        me = await page.evaluate("() => fetch('/console/api/me').then((r) => r.json())")
        return str(me["agent"]["id"])

    async def mentioned(me: str, round_: str) -> None:
        for n in range(3):
            note = await colleague.post(
                f"/console/api/conversations/{conversation.conversation_id}/notes",
                json={"text": f"@boss {round_} look at the queues, part {n + 1}", "mentions": [me]},
            )
            assert note.status_code in (200, 201), note.text
        await expect(page.locator("#toasts .toast.mention")).to_have_count(3)

    # The demo brand's few teams and agents: the tables are short, the toasts fit beside them.
    me = await supervisor_view(True)
    await mentioned(me, "first")
    seen = await toasts_spare_the_tables(page, f"{width}-short")
    assert seen["onScreen"], seen
    if width > 700:
        # The chat texts' forms under the tables fill the column: the view makes way.
        assert (bool(seen["gutter"]), seen["cut"]) == (True, False), seen
    await dismiss_all(page)

    # Forty more agents: their table is taller than the window.
    for n in range(40):
        await create_agent(
            site.services.pool,
            email=f"agent-{n}-{uuid.uuid4().hex[:6]}@example.test",
            name=f"Agent number {n}",
            password=PASSWORD,
            role="agent",
            brand=demo.BRAND_SLUG,
        )
    me = await supervisor_view(False)
    await page.wait_for_function(
        "() => document.querySelectorAll('#agent-table tbody tr').length > 40"
    )
    await mentioned(me, "second")
    seen = await toasts_spare_the_tables(page, f"{width}-long")
    if width > 700:
        # Beside the tables, which make way: a gutter, and no column cut off.
        assert (seen["onScreen"], bool(seen["gutter"]), seen["cut"]) == (True, True, False), seen
    else:
        # In the page's flow at its top: on screen there, scrolled away with the page.
        assert (seen["inline"], seen["onScreen"]) == (True, True), seen
        for block in ("center", "end"):
            await page.evaluate(
                "(b) => document.getElementById('agent-table').scrollIntoView({block: b})", block
            )
            await toasts_spare_the_tables(page, f"{width}-long-{block}")
    await dismiss_all(page)
    await expect(page.locator("#toasts .toast")).to_have_count(0)
    # toasts.js places the stack on the next animation frame after a toast goes.
    await page.evaluate(
        "() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))"
    )
    back = await page.evaluate(COVERED)
    assert (back["gutter"], back["inline"]) == ("", False), back
    await colleague.aclose()
    assert problems == []
    await context.close()


@pytest.mark.parametrize("width", [1280, 390])
async def test_a_first_reply_due_soon_is_a_toast_that_opens_the_conversation(
    browser: Browser, site: RunningServer, width: int
) -> None:
    """A conversation the agent holds, unanswered, whose first reply is due in four minutes:
    the warning (notifications.js, from the deadlines the conversations store holds) is a toast
    naming the customer, whose Open shows the conversation, and it spares the reply box."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    late = await conversation_in(site, demo.WEBCHAT_INBOX, "my order never came")
    await site.services.pool.execute(
        """UPDATE conversations SET status = 'assigned', queued_at = NULL, assigned_at = now(),
                  assignee_id = (SELECT id FROM agents WHERE email = $2),
                  first_response_due = now() + interval '4 minutes', first_response_at = NULL
            WHERE id = $1::uuid""",
        late.conversation_id,
        demo.AGENT_EMAIL,
    )
    context = await browser.new_context(
        viewport={"width": width, "height": 800 if width > 600 else 844}
    )
    page = await context.new_page()
    problems: list[str] = []
    page.on(
        "console",
        lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    await page.goto(f"{site.base_url}/console")
    await page.fill("input[name=email]", demo.AGENT_EMAIL)
    await page.fill("input[name=password]", demo.AGENT_PASSWORD)
    await page.click("button[type=submit]")
    await expect(page.locator("#live")).to_have_text("live", timeout=30_000)

    warning = page.locator("#toasts .toast.warning")
    await expect(warning).to_have_count(1)
    await expect(warning).to_contain_text("First reply due soon: Customer of demo-web: due in")
    await warning.get_by_role("button", name="Open").click()
    await expect(page.locator("#thread-title")).to_contain_text("Customer of demo-web")
    await expect(page.locator("#thread-facts")).to_contain_text("assigned to you")
    await expect(warning).to_have_count(0)
    await page.screenshot(path=str(SHOTS / f"alerts-{width}-due-soon.png"))
    assert problems == []
    await context.close()
