"""528 XSS payloads (tests/e2e/xss/) rendered in the console and the widget, in Chromium,
run nothing: no dialog opens, ``window.__xss`` stays unset, no request leaves for the
attacker's host and the pages' CSP refuses nothing (a refusal would mean markup got in).

Where each payload goes, every one of the 528 in each of:
customer messages (the transcript, the list's previews, search results), attachment file
names, internal notes, canned responses (the panel's manager and the "/" list), the agent's
replies and the customer's own messages (and their files) in the widget, 8 to a message.
And, one payload per conversation or person, rotating through the list: 48 contact names,
48 emails, 48 mail subjects (list, transcript head, context panel), and 24 colleagues'
names (People area, audit log, supervisor view, the note's mention list).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Iterable
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.async_api import Browser, Dialog, Page, Request, expect

from channels.base import Attachment, InboundMessage, Sender
from server.services import demo
from tests.e2e.test_browser import SHOTS
from tests.e2e.xss.payloads import ATTACKER, Payload, payloads
from tests.harness import RunningServer

pytestmark = pytest.mark.browser

PAYLOADS = payloads()
CONVERSATIONS = 48  # 11 payloads each: 528
PER_CONVERSATION = len(PAYLOADS) // CONVERSATIONS
COLLEAGUES = 24
WIDGET_BATCH = 8  # payloads to a widget message (66 messages each way)


class Watched:
    """A page with every way a payload could show it ran, recorded."""

    def __init__(self, page: Page, base_url: str) -> None:
        self.page = page
        self.own = urlsplit(base_url).netloc
        self.dialogs: list[str] = []
        self.foreign: list[str] = []
        self.refused: list[str] = []
        page.on("dialog", self._dialog)
        page.on("request", self._request)
        page.on(
            "console",
            lambda m: self.refused.append(m.text) if "Content Security" in m.text else None,
        )

    async def _dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        await dialog.dismiss()

    def _request(self, request: Request) -> None:
        parts = urlsplit(request.url)
        if parts.scheme in ("http", "https", "ws", "wss") and parts.netloc != self.own:
            self.foreign.append(request.url)

    async def assert_clean(self, where: str) -> None:
        ran = await self.page.evaluate("window.__xss")
        assert (ran, self.dialogs, self.foreign, self.refused) == (None, [], [], []), where


async def gather_in_batches(jobs: Iterable[Awaitable[object]], size: int = 16) -> None:
    pending = list(jobs)
    for start in range(0, len(pending), size):
        await asyncio.gather(*pending[start : start + size])


async def ingest(
    site: RunningServer, visitor: str, texts: list[str], name: str | None = None
) -> InboundMessage:
    """A customer message holding ``texts`` (a line each), with a file named after each."""
    message = InboundMessage(
        channel="webchat",
        inbox_address=demo.WEBCHAT_INBOX,
        external_id=f"m-{uuid.uuid4().hex}",
        sender=Sender(external_id=visitor, name=name),
        text="\n".join(texts),
        attachments=tuple(Attachment(t, "text/plain", b"x") for t in texts),
    )
    await site.services.pipeline.ingest(message)
    return message


async def seed_conversations(site: RunningServer) -> list[str]:
    """48 conversations of 11 payload messages, each with a payload as its file's name; the
    contacts' names, emails and the conversations' subjects are payloads too."""
    ids: list[str] = []
    for j in range(CONVERSATIONS):
        own = PAYLOADS[j * PER_CONVERSATION : (j + 1) * PER_CONVERSATION]
        visitor = f"xss-{j}-{uuid.uuid4().hex[:6]}"
        for payload in own:
            await ingest(site, visitor, [payload.text], name=own[0].text)
        await site.services.pipeline.settled()
        async with site.services.pool.acquire() as conn:
            conversation = await conn.fetchval(
                "SELECT c.id::text FROM conversations c JOIN contact_identities i"
                " ON i.contact_id = c.contact_id WHERE i.external_id = $1",
                visitor,
            )
            contact = await conn.fetchval(
                "SELECT contact_id FROM conversations WHERE id = $1::uuid", conversation
            )
            rotate = PAYLOADS[(j * 7) % len(PAYLOADS) :]
            await conn.execute(
                "UPDATE contacts SET name = $2, email = $3 WHERE id = $1",
                contact,
                rotate[0].text,
                rotate[1].text if len(rotate) > 1 else PAYLOADS[0].text,
            )
            await conn.execute(
                "UPDATE conversations SET subject = $2 WHERE id = $1::uuid",
                conversation,
                PAYLOADS[(j * 7 + 3) % len(PAYLOADS)].text,
            )
        ids.append(conversation)
    return ids


async def seed_teamwork(site: RunningServer, conversation_ids: list[str]) -> None:
    """Every payload as a note, as a canned response, and 24 as colleagues' names."""
    async with httpx.AsyncClient(base_url=site.base_url, timeout=60) as http:
        login = {"email": demo.AGENT_EMAIL, "password": demo.AGENT_PASSWORD}
        assert (await http.post("/console/api/login", json=login)).status_code == 200
        async with site.services.pool.acquire() as conn:
            brand_id = await conn.fetchval(
                "SELECT id::text FROM brands WHERE slug = $1", demo.BRAND_SLUG
            )

        async def post(path: str, body: dict[str, object]) -> None:
            response = await http.post(path, json=body)
            assert response.status_code in (200, 201), (path, response.text)

        def note(p: Payload) -> Awaitable[None]:
            target = conversation_ids[p.number // PER_CONVERSATION]
            return post(f"/console/api/conversations/{target}/notes", {"text": p.text})

        def canned(p: Payload) -> Awaitable[None]:
            body: dict[str, object] = {
                "brand_id": brand_id,
                "shortcut": f"xss{p.number}",
                "title": p.text[:200],
                "text": p.text,
            }
            return post("/console/api/canned-responses", body)

        def colleague(p: Payload) -> Awaitable[None]:
            body: dict[str, object] = {
                "email": f"colleague{p.number}@example.test",
                "name": p.text[:200],
                "brand_id": brand_id,
                "roles": ["agent"],
            }
            return post("/console/api/people", body)

        await gather_in_batches(note(p) for p in PAYLOADS)
        await gather_in_batches(canned(p) for p in PAYLOADS)
        step = len(PAYLOADS) // COLLEAGUES
        await gather_in_batches(colleague(p) for p in PAYLOADS[5::step][:COLLEAGUES])


async def test_no_payload_runs_anywhere_in_the_console(
    browser: Browser, site: RunningServer
) -> None:
    conversation_ids = await seed_conversations(site)
    await seed_teamwork(site, conversation_ids)
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    await context.route(f"**://{ATTACKER}/**", lambda route: route.abort())
    console = Watched(await context.new_page(), site.base_url)
    page = console.page
    await page.goto(f"{site.base_url}/console")
    await page.fill("input[name=email]", demo.AGENT_EMAIL)
    await page.fill("input[name=password]", demo.AGENT_PASSWORD)
    await page.click("#login-form button[type=submit]")
    await expect(page.locator("#live")).to_have_text("live")

    # The list: every conversation, its name (a payload) and its preview (a payload).
    await page.click("#tabs [data-view=open]")
    items = page.locator("#conversations li[data-conversation-id]")
    await expect(items).to_have_count(CONVERSATIONS)
    await console.assert_clean("conversation list")
    await page.screenshot(path=str(SHOTS / "xss-list.png"))

    # Each conversation: transcript (texts, file names), its head (name, subject), the
    # context panel (name, email, identities) and its notes.
    for j, conversation in enumerate(conversation_ids):
        await page.locator(f"#conversations li[data-conversation-id='{conversation}']").click()
        own = PAYLOADS[j * PER_CONVERSATION : (j + 1) * PER_CONVERSATION]
        texts = page.locator("#messages li[data-author=customer] .text")
        await expect(texts).to_have_count(PER_CONVERSATION)
        await expect(texts.last).to_have_text(own[-1].text.strip(), use_inner_text=False)
        await expect(page.locator("#context-panel .note")).to_have_count(PER_CONVERSATION)
        await console.assert_clean(f"conversation {j}")
        if j == 0:
            await page.screenshot(path=str(SHOTS / "xss-conversation.png"), full_page=True)

    # Canned responses: the panel's manager lists them; "/xss1" lists the matches.
    manager = page.locator(".canned-manager")
    await manager.locator("summary").click()
    await expect(manager.locator(".canned-item").first).to_be_visible()
    await page.focus("#reply")
    await page.keyboard.type("/xss1")
    await expect(page.locator("#canned-list [role=option]").first).to_be_visible()
    await console.assert_clean("canned responses")
    await page.screenshot(path=str(SHOTS / "xss-canned.png"), full_page=True)
    await page.keyboard.press("Escape")

    # A note's @ list names the colleagues (payloads).
    await page.locator("#note-text").click()
    await page.keyboard.type("@")
    await console.assert_clean("mention list")
    await page.keyboard.press("Escape")

    # Search: messages and customers.
    search = page.get_by_role("searchbox", name="Search messages and customers")
    for words in ("click", "img", "script", "xss"):
        await search.fill(words)
        await expect(page.locator("#search-results")).to_be_visible()
        await console.assert_clean(f"search {words}")
    await page.screenshot(path=str(SHOTS / "xss-search.png"))
    await search.press("Escape")

    # The supervisor view, the People area and its audit log.
    await page.click("#tabs [data-view=supervisor]")
    await expect(page.locator("#agent-table tbody tr")).not_to_have_count(0)
    await page.click("#people-tab")
    await expect(page.locator("#people-table tbody tr")).to_have_count(
        COLLEAGUES + len(demo.AGENTS), timeout=10_000
    )
    await expect(page.locator("#audit-table tbody tr")).not_to_have_count(0)
    await console.assert_clean("people")
    await page.screenshot(path=str(SHOTS / "xss-people.png"), full_page=True)
    await context.close()


async def test_no_payload_runs_in_the_widget(browser: Browser, site: RunningServer) -> None:
    context = await browser.new_context(viewport={"width": 390, "height": 844})
    await context.route(f"**://{ATTACKER}/**", lambda route: route.abort())
    widget = Watched(await context.new_page(), site.base_url)
    customer = widget.page
    await customer.goto(site.base_url + "/")
    await expect(customer.locator("[data-sb=status]")).to_have_text("online")
    await customer.fill("[data-sb=input]", "hello from the widget")
    await customer.press("[data-sb=input]", "Enter")
    await expect(customer.locator(".sb-msg[data-author=system]")).to_have_count(1)
    async with site.services.pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT c.id::text AS id, i.external_id FROM messages m"
            " JOIN conversations c ON c.id = m.conversation_id"
            " JOIN contact_identities i ON i.contact_id = c.contact_id"
            " WHERE m.text = 'hello from the widget'"
        )
    assert row is not None

    # The agent answers with every payload, 8 to a message; the widget shows them live.
    batches = [PAYLOADS[i : i + WIDGET_BATCH] for i in range(0, len(PAYLOADS), WIDGET_BATCH)]
    async with httpx.AsyncClient(base_url=site.base_url, timeout=60) as http:
        login = {"email": demo.AGENT_EMAIL, "password": demo.AGENT_PASSWORD}
        assert (await http.post("/console/api/login", json=login)).status_code == 200
        path = f"/console/api/conversations/{row['id']}"
        assert (await http.post(f"{path}/claim")).status_code == 200
        for n, batch in enumerate(batches):
            text = "\n".join(p.text for p in batch)
            response = await http.post(
                f"{path}/messages", json={"text": text, "client_id": f"xss{n}"}
            )
            assert response.status_code in (200, 201), response.text
    agent_texts = customer.locator(".sb-msg[data-author=agent]")
    await expect(agent_texts).to_have_count(len(batches), timeout=30_000)
    await widget.assert_clean("widget, live agent replies")
    await customer.screenshot(path=str(SHOTS / "xss-widget-live.png"))

    # The customer's own words, each payload also a file's name, then the history on a reload.
    for batch in batches:
        await ingest(site, row["external_id"], [p.text for p in batch])
    await site.services.pipeline.settled()
    await customer.reload()
    await expect(customer.locator("[data-sb=status]")).to_have_text("online")
    await expect(customer.locator(".sb-msg[data-author=customer]")).to_have_count(
        len(batches) + 1, timeout=30_000
    )
    await widget.assert_clean("widget, history")
    await customer.screenshot(path=str(SHOTS / "xss-widget-history.png"))
    await context.close()


async def test_the_watchers_see_the_payloads_run_where_markup_is_let_in(
    browser: Browser, site: RunningServer
) -> None:
    """The instruments work: the same payloads parsed as markup, on a page with no
    Content-Security-Policy, open dialogs, set window.__xss and call the attacker."""
    context = await browser.new_context()
    await context.route(f"**://{ATTACKER}/**", lambda route: route.abort())
    naive = Watched(await context.new_page(), site.base_url)
    await naive.page.set_content("\n".join(p.text for p in PAYLOADS if p.variant == "plain"))
    # set_content returns once the page has loaded: its scripts ran, its images were asked for.
    await naive.page.wait_for_function("window.__xss === 1")
    assert naive.dialogs
    assert any(ATTACKER in url for url in naive.foreign)
    await context.close()
