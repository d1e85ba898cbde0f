"""End to end in a real Chromium: a customer in the widget, an agent in the console."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Locator, Page, async_playwright, expect

from server.services import demo
from tests import mail
from tests.harness import RunningServer, free_port, run_server, settings_for

pytestmark = pytest.mark.browser

# Screenshots for people to look at (an ignored folder).
SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
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
    # The console's page has a strict Content-Security-Policy: anything it refused (an
    # inline style, a script, the socket) would show up here as a console message.
    refused: list[str] = []
    page.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    await page.goto(f"{base_url}/console")
    await page.fill("input[name=email]", demo.AGENT_EMAIL)
    await page.fill("input[name=password]", demo.AGENT_PASSWORD)
    await page.click("button[type=submit]")
    await expect(page.locator("#live")).to_have_text("live")
    assert refused == []


@contextlib.asynccontextmanager
async def agent_and_customer(
    browser: Browser, site: RunningServer
) -> AsyncIterator[tuple[Page, Page]]:
    """A logged-in agent's console and a customer's page with the widget online, each in a
    browser context of its own that accepts downloads."""
    agent_context = await browser.new_context(accept_downloads=True)
    customer_context = await browser.new_context(accept_downloads=True)
    try:
        agent = await agent_context.new_page()
        await login(agent, site.base_url)
        customer = await customer_context.new_page()
        await customer.goto(site.base_url + "/")
        await expect(customer.locator("[data-sb=status]")).to_have_text("online")
        yield agent, customer
    finally:
        await agent_context.close()
        await customer_context.close()


async def downloaded(page: Page, link: Locator) -> tuple[str, bytes]:
    """Click a download link: the name the browser would save it under, and its bytes."""
    async with page.expect_download() as download_info:
        await link.click()
    download = await download_info.value
    saved = Path(await download.path())
    return download.suggested_filename, await asyncio.to_thread(saved.read_bytes)


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
    await expect(agent.locator("#messages li[data-author=customer] .text")).to_have_text(
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
    await expect(agent.locator("#messages li[data-author=customer] .text").last).to_have_text(
        hostile
    )
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


@pytest.fixture
async def bot_site(
    dsn: str, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[RunningServer]:
    settings = settings_for(
        dsn,
        tmp_path,
        port=free_port(),
        allowed_origins=[],
        nlu_engine="embedded",
        nlu_cache_dir=tmp_path_factory.getbasetemp() / "nlu-cache",
    )
    async with run_server(settings) as running:
        yield running


async def test_the_bot_answers_in_the_widget_and_the_console_shows_why_it_handed_over(
    browser: Browser, bot_site: RunningServer
) -> None:
    customer = await (await browser.new_context()).new_page()
    await customer.goto(bot_site.base_url + "/")
    await expect(customer.locator("[data-sb=status]")).to_have_text("online")
    await customer.fill("[data-sb=input]", "where is my order 10234?")
    await customer.press("[data-sb=input]", "Enter")
    await expect(customer.locator(".sb-msg[data-author=bot]")).to_contain_text(
        ["Order 10234 is on its way with DHL"]
    )

    agent = await (await browser.new_context()).new_page()
    await login(agent, bot_site.base_url)
    await customer.fill("[data-sb=input]", "this is the third time, I want to talk to a person")
    await customer.press("[data-sb=input]", "Enter")
    await expect(customer.locator(".sb-msg[data-author=system]")).to_have_count(1)

    item = agent.locator("#conversations li", has_text="I want to talk to a person")
    await expect(item.locator(".reason")).to_have_text("asked for a person")
    await item.click()
    await expect(agent.locator("#thread-facts")).to_contain_text("handed over: asked for a person")
    await expect(agent.locator("#messages li[data-author=customer] .nlu").first).to_contain_text(
        "order_status"
    )
    await expect(agent.locator("#messages li[data-author=bot] .nlu")).to_contain_text(
        ["bot · action_check_order_status"]
    )
    # The agent gives the conversation back; the bot answers the next message again.
    await agent.click("#return-to-bot")
    await expect(agent.locator("#thread-facts")).to_contain_text("with the bot")
    await customer.fill("[data-sb=input]", "ok, and order 10562?")
    await customer.press("[data-sb=input]", "Enter")
    await expect(customer.locator(".sb-msg[data-author=bot]").last).to_contain_text("delivered")


async def test_the_agent_works_the_queue_by_priority_and_the_supervisor_sees_the_teams(
    browser: Browser, site: RunningServer
) -> None:
    from tests.harness import customer

    agent = await (await browser.new_context()).new_page()
    await login(agent, site.base_url)
    await expect(agent.locator("#my-status")).to_have_value("offline")
    await customer(site, "just a question", "plain@example.com")
    await new_vip(site, "vip@example.com")
    await customer(site, "still waiting for my refund", "vip@example.com")

    # The queue: the VIP first, each with its score and why.
    items = agent.locator("#conversations li")
    await expect(items).to_have_count(2)
    await expect(items.first.locator(".why")).to_contain_text("+40 VIP")
    await expect(items.first.locator(".sla")).to_contain_text("SLA due in")
    scores = [int(s) for s in await items.evaluate_all("els => els.map(e => e.dataset.score)")]
    assert scores == sorted(scores, reverse=True)

    # Going online: the router hands both to the agent, who is told.
    await agent.select_option("#my-status", "online")
    await expect(agent.locator("#toasts .toast").first).to_contain_text("New conversation for you")
    await expect(agent.locator("#queue-count")).to_have_text("")
    await agent.click("#tabs [data-view=mine]")
    await expect(items).to_have_count(2)
    await items.filter(has_text="refund").click()
    await expect(agent.locator("#thread-priority")).to_contain_text("+40 VIP")
    await agent.click("#resolve")
    await expect(agent.locator("#resolve")).to_be_hidden()
    await expect(items).to_have_count(1)

    # The supervisor view: queues per team and the agents with their load.
    await agent.click("#tabs [data-view=supervisor]")
    await expect(agent.locator("#team-table tr[data-team=support] td").nth(2)).to_have_text("1")
    dana = agent.locator(f"#agent-table tr[data-agent='{demo.AGENT_EMAIL}'] td")
    await expect(dana.nth(1)).to_have_text("online")
    await expect(dana.nth(2)).to_have_text("1/5")
    # It has the main pane, beside the tabs; back on a list, the conversation pane returns.
    await expect(agent.locator("#transcript")).to_be_hidden()
    await expect(agent.locator("#conversations")).to_be_hidden()
    SHOTS.mkdir(parents=True, exist_ok=True)
    await agent.screenshot(path=str(SHOTS / "console-supervisor-view.png"))
    await agent.click("#tabs [data-view=mine]")
    await expect(agent.locator("#transcript")).to_be_visible()


async def new_vip(site: RunningServer, email: str) -> None:
    """A signed-in customer of the shop (it vouches for the address), marked VIP."""
    from tests.channels.webchat_client import new_session, vouched
    from tests.harness import identity_secret

    secret = await identity_secret(site)
    await new_session(site.base_url, name="Vivian", **vouched(email, secret))
    await site.services.pool.execute("UPDATE contacts SET vip = true WHERE email = $1", email)


async def test_an_email_in_the_console_text_files_and_delivery_state(
    browser: Browser, site: RunningServer
) -> None:
    context = await browser.new_context(accept_downloads=True)
    agent = await context.new_page()
    await login(agent, site.base_url)
    assert site.services.smtp is not None

    msg = mail.mail(
        sender="Ada Lovelace <ada@example.com>",
        subject="Invoice question",
        message_id="browser@example.com",
    )
    msg.set_content(
        '<p>Hello <b>team</b>,</p><p>see the invoice.</p><img src=x onerror="window.__pwned=1">'
        "<script>window.__pwned=2</script>",
        subtype="html",
    )
    msg.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf", filename="inv.pdf")
    await mail.send(site.services.smtp.port, msg)

    item = agent.locator("#conversations li", has_text="Ada Lovelace")
    await expect(item).to_have_count(1)
    await item.click()
    await expect(agent.locator("#thread-title")).to_contain_text("email: Invoice question")
    customer = agent.locator("#messages li[data-author=customer]")
    await expect(customer.locator(".text")).to_have_text("Hello team,\n\nsee the invoice.")
    await expect(customer.locator(".subject")).to_have_text("Invoice question")
    assert await agent.evaluate("window.__pwned") is None
    assert await agent.locator("#messages img, #messages script").count() == 0

    got = await downloaded(agent, customer.locator("a.file", has_text="inv.pdf"))
    assert got == ("inv.pdf", b"%PDF-1.4")
    # No relay is configured here: the acknowledgement waits in the outbox, and says so.
    await expect(agent.locator("#messages li[data-author=system] .delivery")).to_have_text(
        "sending…"
    )
    await context.close()


async def test_an_agent_attaches_a_file_and_the_customer_downloads_it_from_the_widget(
    browser: Browser, site: RunningServer, tmp_path: Path
) -> None:
    async with agent_and_customer(browser, site) as (agent, customer):
        await customer.fill("[data-sb=input]", "Can you send the return form?")
        await customer.press("[data-sb=input]", "Enter")

        item = agent.locator("#conversations li", has_text="Can you send the return form?")
        await expect(item).to_have_count(1)
        await item.click()
        form = tmp_path / "return form.pdf"
        await asyncio.to_thread(form.write_bytes, b"%PDF-1.4 return form")
        await agent.set_input_files("#reply-files", str(form))
        await expect(agent.locator("#reply-chosen")).to_have_text("Attached: return form.pdf")
        await agent.fill("#reply", "Here it is.")
        await agent.press("#reply", "Enter")
        sent = agent.locator("#messages li[data-author=agent]")
        await expect(sent.locator("a.file")).to_have_text("return form.pdf (1 KB)")
        await expect(agent.locator("#reply-chosen")).to_have_text("")

        reply = customer.locator(".sb-msg[data-author=agent]")
        await expect(reply.locator(".sb-text")).to_have_text("Here it is.")
        got = await downloaded(customer, reply.locator("[data-sb=file]", has_text="return form"))
        assert got == ("return form.pdf", b"%PDF-1.4 return form")


async def test_a_customer_sends_a_file_from_the_widget_and_the_agent_downloads_it(
    browser: Browser, site: RunningServer, tmp_path: Path
) -> None:
    async with agent_and_customer(browser, site) as (agent, customer):
        screenshot = tmp_path / "error.png"
        await asyncio.to_thread(screenshot.write_bytes, b"\x89PNG error dialog")
        await customer.set_input_files("[data-sb=files]", str(screenshot))
        mine = customer.locator(".sb-msg[data-author=customer]:not(.sb-pending)")
        await expect(mine.locator("[data-sb=file]")).to_have_text("error.png (1 KB)")
        await expect(customer.locator(".sb-pending")).to_have_count(0)

        item = agent.locator("#conversations li", has_text="(file)")
        await expect(item).to_have_count(1)
        await item.click()
        link = agent.locator("#messages li[data-author=customer] a.file", has_text="error.png")
        assert await downloaded(agent, link) == ("error.png", b"\x89PNG error dialog")


async def test_after_a_reconnect_the_console_shows_the_status_the_server_holds(
    browser: Browser, site: RunningServer
) -> None:
    """While an agent's console was disconnected (a restart, a network cut), the presence
    sweep marked them away; the live event went nowhere. Back online, the console shows
    "away", as the router sees them, not the "online" it remembered."""
    agent = await (await browser.new_context()).new_page()
    await login(agent, site.base_url)
    await agent.select_option("#my-status", "online")
    status = "SELECT status FROM agents WHERE email = $1"
    for _ in range(100):
        if await site.services.pool.fetchval(status, demo.AGENT_EMAIL) == "online":
            break
        await asyncio.sleep(0.05)
    await site.services.pool.execute(
        "UPDATE agents SET status = 'away' WHERE email = $1", demo.AGENT_EMAIL
    )
    # The server drops the console's socket (what a restart does); the page reconnects.
    for client in list(site.services.console_hub._clients):
        await client.ws.close(1012, "restarting")
    await expect(agent.locator("#live")).to_have_text("live")
    await expect(agent.locator("#my-status")).to_have_value("away")
    SHOTS.mkdir(parents=True, exist_ok=True)
    await agent.screenshot(path=str(SHOTS / "console-status-after-reconnect.png"))


async def test_a_signed_in_shopper_keeps_their_chat_across_devices_and_a_stranger_is_unverified(
    browser: Browser, dsn: str, tmp_path: Path
) -> None:
    """A shop on its own origin embeds the widget; for a signed-in user its server adds their
    identifier and its HMAC (docs/webchat-identity.md). A second device of that user shows the
    conversation; a visitor who only types the user's name sees nothing and is marked
    unverified in the console."""
    import hashlib
    import hmac

    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import HTMLResponse
    from starlette.routing import Route

    from tests.harness import identity_secret, serving

    chat: dict[str, str] = {}

    async def shop(request: Request) -> HTMLResponse:
        user = request.query_params.get("user")
        attributes = 'data-name="Shopper Seven"'
        if user:  # signed in: the shop's server vouches for its user
            digest = hmac.new(chat["secret"].encode(), user.encode(), hashlib.sha256)
            attributes += f' data-identifier="{user}" data-identifier-hash="{digest.hexdigest()}"'
        return HTMLResponse(
            "<!doctype html><title>Shop</title><body>"
            f'<script src="{chat["url"]}/widget/widget.js" data-inbox="demo-web" {attributes}'
            " data-open></script>"
        )

    async with serving(Starlette(routes=[Route("/", shop)])) as shop_url:
        settings = settings_for(dsn, tmp_path, port=free_port(), allowed_origins=[shop_url])
        async with run_server(settings) as site:
            chat["url"], chat["secret"] = site.base_url, await identity_secret(site)

            async def open_shop(query: str) -> Page:
                page = await (await browser.new_context()).new_page()
                await page.goto(f"{shop_url}/{query}")
                await expect(page.locator("[data-sb=status]")).to_have_text("online")
                return page

            laptop = await open_shop("?user=shopper-7")
            await laptop.fill("[data-sb=input]", "Is my bike in stock?")
            await laptop.press("[data-sb=input]", "Enter")
            await expect(laptop.locator(".sb-msg[data-author=system]")).to_have_count(1)

            phone = await open_shop("?user=shopper-7")
            await expect(phone.locator(".sb-msg[data-author=customer]")).to_have_text(
                ["Is my bike in stock?"]
            )
            stranger = await open_shop("")
            await expect(stranger.locator(".sb-msg")).to_have_count(0)
            await stranger.fill("[data-sb=input]", "hello, it's me")
            await stranger.press("[data-sb=input]", "Enter")
            await expect(stranger.locator(".sb-msg[data-author=system]")).to_have_count(1)

            agent = await (await browser.new_context()).new_page()
            await login(agent, site.base_url)
            known = agent.locator("#conversations li", has_text="Is my bike in stock?")
            unknown = agent.locator("#conversations li", has_text="hello, it's me")
            await expect(unknown.locator(".unverified")).to_have_text("unverified")
            await expect(known.locator(".name")).to_have_text("Shopper Seven")
            await unknown.click()
            await expect(agent.locator("#thread-facts")).to_contain_text("unverified visitor")
            SHOTS.mkdir(parents=True, exist_ok=True)
            await agent.screenshot(path=str(SHOTS / "console-unverified-visitor.png"))


async def test_a_visitor_proves_their_email_with_a_mailed_code_and_sees_their_conversation(
    browser: Browser, dsn: str, tmp_path: Path
) -> None:
    """The widget's "Already a customer?" form: the address, the code from the mail, and the
    customer's conversation appears (docs/webchat-identity.md)."""
    import re

    from tests.channels.webchat_client import (
        hello,
        new_session,
        next_of,
        open_socket,
        text,
        vouched,
    )
    from tests.harness import identity_secret

    async with mail.relay() as relay:
        settings = settings_for(
            dsn, tmp_path, port=free_port(), allowed_origins=[], smtp_relay_url=relay.url
        )
        async with run_server(settings) as site:
            secret = await identity_secret(site)
            grace = await new_session(site.base_url, **vouched("grace@example.com", secret))
            async with await open_socket(site.ws_url) as ws:
                await hello(ws, grace["token"])
                await ws.send(text({"type": "message", "client_id": "g1", "text": "Order 10234?"}))
                await next_of(ws, "ack")

            page = await (await browser.new_context()).new_page()
            await page.goto(site.base_url + "/")
            await expect(page.locator("[data-sb=status]")).to_have_text("online")
            await expect(page.locator(".sb-msg")).to_have_count(0)
            await page.fill("[data-sb=verify-input]", "grace@example.com")
            await page.click("[data-sb=verify-button]")
            await expect(page.locator("[data-sb=verify-button]")).to_have_text("Confirm")
            [sent] = await relay.wait_for(1)
            found = re.search(r"\b(\d{6})\b", sent.get_content())
            assert found is not None
            await page.fill("[data-sb=verify-input]", found.group(1))
            await page.click("[data-sb=verify-button]")
            await expect(page.locator("[data-sb=verify]")).to_be_hidden()
            await expect(page.locator(".sb-msg[data-author=customer]")).to_have_text(
                ["Order 10234?"]
            )
