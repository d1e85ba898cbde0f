"""`make bench`'s first-paint part: how long a signed-in agent waits for the console's list when
5,000 conversations are open and 200 other agents' consoles are connected.

One `switchboard serve` process on an embedded Postgres holding 5,000 queued conversations of
the demo brand (a customer message each) and 200 agents of its support team; a load generator
in a process of its own (bench/consoles.py) signs the 200 in and holds their console sockets.
Then Chromium (Debian's, through Playwright) opens the console as the demo admin, who sees
every conversation, and reloads it, signed in, several times.

What "first paint" covers here: from the page's navigation start to the Queue tab showing the
ranked queue in full, all 5,000 items in the DOM (the queue is one answer, not paged; the list
renders it in one pass, so the first item and the last appear in the same frame). Timed in the
page with performance.now() by a MutationObserver the moment the list holds them all (before
the browser paints that frame). The queue read's own duration and size (Resource Timing)
are figures too.

BENCH_PAINT_OPEN, BENCH_PAINT_AGENTS and BENCH_PAINT_LOADS set the sizes (bench/sizes.py).
Run alone with `python -m bench.first_paint` or BENCH_ONLY=paint.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from playwright.async_api import async_playwright

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
ITEMS = "#conversations li[data-conversation-id]"
# Notes when the list first holds n items, as the DOM changes (an init script: the console's
# CSP refuses code evaluated from a string in the page, which Playwright's polling uses).
WATCH = """(() => {
  const n = %d;
  new MutationObserver((_, observer) => {
    if (document.querySelectorAll("%s").length >= n) {
      window.__shown = performance.now();
      observer.disconnect();
    }
  }).observe(document, { childList: true, subtree: true });
})();"""


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


async def load_times(base: str) -> dict[str, list[float]]:
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = await browser.new_context(viewport={"width": 1280, "height": 900})
        await context.add_init_script(script=WATCH % (PAINT_OPEN, ITEMS))
        page = await context.new_page()
        last = page.locator(ITEMS).nth(PAINT_OPEN - 1)
        await page.goto(f"{base}/console")
        await page.fill("input[name=email]", demo.AGENT_EMAIL)
        await page.fill("input[name=password]", demo.AGENT_PASSWORD)
        await page.click("button[type=submit]")
        await last.wait_for(state="attached", timeout=900_000)
        figures: dict[str, list[float]] = {"shown": [], "read": [], "size": []}
        for _ in range(PAINT_LOADS):
            await page.reload()
            await last.wait_for(state="attached", timeout=900_000)
            figures["shown"].append(await page.evaluate("performance.now()"))
            read = await page.evaluate(
                "performance.getEntriesByType('resource')"
                ".filter(e => e.name.endsWith('/console/api/queue'))"
                ".map(e => [e.responseEnd - e.startTime, e.encodedBodySize])[0]"
            )
            figures["read"].append(read[0])
            figures["size"].append(read[1])
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
    shown, read = f["shown"], f["read"]
    lines = [
        f"## Console first paint: {PAINT_OPEN:,} open conversations, {connected} agents connected",
        "",
        f"Command: `make bench` (or `python -m bench.first_paint`). Machine: {machine()}. "
        f"Server, Postgres, the {connected} consoles' load generator and Chromium share these"
        " cores.",
        "",
        f"The demo admin's console (Chromium 1280 px, signed in) reloaded {PAINT_LOADS} times"
        " (signed in: the login form is not timed);"
        f" from navigation start to the Queue tab showing all {PAINT_OPEN:,} queued"
        " conversations (the queue is one answer and one render: its first and last items"
        " appear in the same frame).",
        "",
        "| figure | median | worst |",
        "|---|---:|---:|",
        f"| list shown in full | {statistics.median(shown):.0f} ms | {max(shown):.0f} ms |",
        f"| of which GET /console/api/queue | {statistics.median(read):.0f} ms |"
        f" {max(read):.0f} ms |",
        f"| queue answer size | {statistics.median(f['size']) / 1024:,.0f} KiB | |",
        "",
        f"Target: ≤ 1 s. Seeding (not a product figure): {seeded:.0f} s.",
    ]
    publish("\n".join(lines), START, END)


if __name__ == "__main__":
    main()
