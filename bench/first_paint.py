"""`make bench`'s first-paint part: how long a signed-in agent waits for the console's list when
5,000 conversations are open and 200 other agents' consoles are connected.

One `switchboard serve` process on an embedded Postgres holding 5,000 queued conversations of
the demo brand (a customer message each) and 200 agents of its support team; a load generator
in a process of its own (bench/consoles.py) signs the 200 in and holds their console sockets.
Then Chromium (Debian's, through Playwright) opens the console as the demo admin, who sees
every conversation, and reloads it, signed in, several times.

What "first paint" covers here: from the page's navigation start to the Queue tab showing the
top of the ranked queue with its true count: the first item in the DOM saying it is one of
5,000 (aria-setsize) and the tab's count reading "(5000)". The console reads the queue's first
page (GET /console/api/queue?limit=100, which ranks the whole queue but reads only those 100
conversations; boot.js asks for it while the page's modules load), draws its first 50 items
(its other first reads wait for that page), then
reads the whole queue in the background and draws further items as the list is scrolled.
Timed in the page with performance.now() by a MutationObserver the moment both hold (before
the browser paints that frame). The first page's and the whole queue's reads (Resource
Timing: duration and size) are figures too, and when the whole queue was held (its read's
end, from navigation start).

BENCH_PAINT_OPEN, BENCH_PAINT_AGENTS and BENCH_PAINT_LOADS set the sizes (bench/sizes.py).
Run alone with `python -m bench.first_paint` or BENCH_ONLY=paint.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from playwright.async_api import Page, Response, async_playwright

from bench.processes import LISTENING, SERVE, free_port, process, started
from bench.report import machine, publish
from bench.sizes import PAINT_AGENTS, PAINT_LOADS, PAINT_OPEN
from server.services import demo
from server.services.agents import create_agent
from server.store import database
from server.store import organisation as org

START, END = "<!-- paint:start -->", "<!-- paint:end -->"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"]
PASSWORD = "first-paint-bench-password"
# The first item, saying how many there are, and the Queue tab's count, reported to the
# benchmark through a binding (an init script: the console's CSP refuses code evaluated from
# a string in the page, which Playwright's polling uses).
WATCH = """(() => {
  const n = %d;
  new MutationObserver((_, observer) => {
    const first = document.querySelector("#conversations li[data-conversation-id]");
    const count = document.getElementById("queue-count");
    if (first && first.getAttribute("aria-setsize") === String(n)
        && count && count.textContent === "(" + n + ")") {
      observer.disconnect();
      window.__painted(performance.now());
    }
  }).observe(document, { childList: true, subtree: true, attributes: true });
})();"""
# Resource Timing of the queue's reads: [first page, whole queue], each [start, end, size].
READS = """["?limit=", "/console/api/queue"].map((end) => performance.getEntriesByType("resource")
  .filter((e) => e.name.includes("/console/api/queue") && (end === "?limit=" ? e.name.includes(end)
    : e.name.endsWith(end)))
  .map((e) => [e.startTime, e.responseEnd, e.encodedBodySize])[0] || null)"""


async def seed(dsn: str) -> list[str]:
    """The open conversations and the agents; the agents' emails."""
    pool = await database.create_pool(dsn, min_size=1, max_size=2)
    try:
        await database.migrate(pool)
        await demo.seed(pool)
        await pool.execute(
            """WITH brand AS (SELECT b.id AS brand_id, i.id AS inbox_id, t.id AS team_id
                                FROM brands b JOIN inboxes i ON i.brand_id = b.id
                                JOIN teams t ON t.brand_id = b.id AND t.slug = 'support'
                               WHERE b.slug = 'demo' LIMIT 1),
                    c AS (INSERT INTO contacts (brand_id, name)
                          SELECT brand_id, 'Customer ' || n FROM brand, generate_series(1, $1) n
                          RETURNING id, brand_id),
                    v AS (INSERT INTO conversations (brand_id, inbox_id, contact_id, channel,
                                      status, team_id, required_skills, priority,
                                      priority_parts, band, queued_at, last_seq,
                                      last_message_at, handoff_reason, language)
                          SELECT c.brand_id, brand.inbox_id, c.id, 'webchat', 'queued',
                                 brand.team_id, '{}', (random() * 100)::int, '[]', 'normal',
                                 now() - random() * interval '30 minutes', 1, now(),
                                 'requested_human', 'en'
                            FROM c, brand RETURNING id)
               INSERT INTO messages (conversation_id, seq, direction, author_kind, channel,
                                     text, language)
               SELECT id, 1, 'in', 'customer', 'webchat',
                      'Where is my order? It should have arrived yesterday.', 'en' FROM v""",
            PAINT_OPEN,
        )
        emails = [f"paint{n}@example.com" for n in range(PAINT_AGENTS)]
        for email in emails:
            await create_agent(
                pool, email=email, name=email, password=PASSWORD, brand=demo.BRAND_SLUG
            )
            async with pool.acquire() as conn:
                await org.update_agent(conn, email, teams=["support"], brand=demo.BRAND_SLUG)
        return emails
    finally:
        await pool.close()


# The console's first read of the queue (QUEUE_PAGE in web_console/static/conversations/
# store.js): a queue that fits in it is not read a second time.
FIRST_PAGE = 100


def whole_read(response: Response) -> bool:
    return response.url.endswith("/console/api/queue")


async def loaded(page: Page, action: Callable[[], Awaitable[object]]) -> None:
    """Runs the action (a sign-in, a reload) and waits for the whole queue's read to end."""
    if PAINT_OPEN <= FIRST_PAGE:
        await action()
        return
    async with page.expect_response(whole_read, timeout=900_000) as read:
        await action()
    await (await read.value).finished()


async def load_times(base: str) -> dict[str, list[float]]:
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = await browser.new_context(viewport={"width": 1280, "height": 900})
        painted: asyncio.Queue[float] = asyncio.Queue()
        await context.expose_function("__painted", painted.put_nowait)
        await context.add_init_script(script=WATCH % PAINT_OPEN)
        page = await context.new_page()
        await page.goto(f"{base}/console")
        await page.fill("input[name=email]", demo.AGENT_EMAIL)
        await page.fill("input[name=password]", demo.AGENT_PASSWORD)
        await loaded(page, lambda: page.click("button[type=submit]"))
        await painted.get()
        figures: dict[str, list[float]] = {
            k: [] for k in ("shown", "page", "page_size", "whole", "whole_size", "held", "drawn")
        }
        for _ in range(PAINT_LOADS):
            await loaded(page, page.reload)
            figures["shown"].append(await painted.get())
            figures["drawn"].append(
                await page.evaluate(
                    "document.querySelectorAll('#conversations li[data-conversation-id]').length"
                )
            )
            first, whole = await page.evaluate(READS)
            figures["page"].append(first[1] - first[0])
            figures["page_size"].append(first[2])
            if whole:  # none when the first page held the whole queue
                figures["whole"].append(whole[1] - whole[0])
                figures["whole_size"].append(whole[2])
                figures["held"].append(whole[1])
        await browser.close()
        return figures


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="sbpaint") as tmp:
        pg = database.EmbeddedPostgres(Path(tmp))
        dsn = pg.start()
        try:
            began = time.perf_counter()
            emails = asyncio.run(seed(dsn))
            seeded = time.perf_counter() - began
            env = {
                "SWITCHBOARD_DATABASE_URL": dsn,
                "SWITCHBOARD_DATA_DIR": tmp,
                "SWITCHBOARD_LOG_LEVEL": "WARNING",
                "SWITCHBOARD_NLU_ENGINE": "none",
            }
            # A port known before the start: the console accepts its writes and its socket
            # only from the server's own origin, which it works out from its port.
            serve = [*SERVE, "--port", str(free_port()), "--smtp-port", "0"]
            with started(serve, env, 30) as server:
                base = server.line(LISTENING).split()[-1]
                generator = [sys.executable, "-m", "bench.consoles", base, PASSWORD]
                with process([*generator, *emails], {}, "ready", grace=5) as (_, ready):
                    connected = int(ready.split()[1])
                    f = asyncio.run(load_times(base))
        finally:
            pg.stop()
    med = {k: statistics.median(v or [0]) for k, v in f.items()}
    worst = {k: max(v or [0]) for k, v in f.items()}
    lines = [
        f"## Console first paint: {PAINT_OPEN:,} open conversations, {connected} agents connected",
        "",
        f"Command: `make bench` (or `python -m bench.first_paint`). Machine: {machine()}. "
        f"Server, Postgres, the {connected} consoles' load generator and Chromium share these"
        " cores.",
        "",
        f"The demo admin's console (Chromium 1280 px, signed in) reloaded {PAINT_LOADS} times"
        " (signed in: the login form is not timed); first paint is from navigation start to"
        f" the Queue tab showing the top of the ranked queue with its true count (the first"
        f" item's aria-setsize and the tab's count both {PAINT_OPEN:,}). The console reads"
        " the queue's first 100 and draws 50 items; the whole queue is read after, in the"
        " background, and drawn as the list scrolls.",
        "",
        "| figure | median | worst |",
        "|---|---:|---:|",
        f"| first paint: top of the queue, true count | {med['shown']:.0f} ms |"
        f" {worst['shown']:.0f} ms |",
        f"| of which GET /console/api/queue?limit=100 | {med['page']:.0f} ms |"
        f" {worst['page']:.0f} ms |",
        f"| its answer's size | {med['page_size'] / 1024:,.0f} KiB | |",
        f"| items in the DOM at first paint | {med['drawn']:.0f} | |",
        f"| whole queue held (its read's end) | {med['held']:.0f} ms | {worst['held']:.0f} ms |",
        f"| of which GET /console/api/queue (whole) | {med['whole']:.0f} ms |"
        f" {worst['whole']:.0f} ms |",
        f"| its answer's size | {med['whole_size'] / 1024:,.0f} KiB | |",
        "",
        f"Target: first paint ≤ 1 s. Seeding (not a product figure): {seeded:.0f} s.",
    ]
    publish("\n".join(lines), START, END)


if __name__ == "__main__":
    main()
