"""`make bench`'s webhook part: Telegram updates and signed Slack events acknowledged per
second, and the ack latency.

Switchboard runs as `switchboard serve` (embedded PostgreSQL, demo data) with a Telegram bot
in webhook mode and a Slack app, against stand-ins for their APIs (bench/stand_ins.py); 20
concurrent clients post BENCH_UPDATES updates (default 2,000; 100 customers), then as many
signed Slack events. Each 200 means the message is stored. Figures: per second, and the
time to each 200, p50/p99 (Slack's deadline is 3 s; Telegram's is far longer).

Baseline, same run: a bare uvicorn + Starlette endpoint that parses the update with aiogram's
model and answers 200, storing nothing (bench/bare_webhook.py).

Run alone with `python -m bench.webhooks` or BENCH_ONLY=webhooks make bench.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import orjson

from bench import stand_ins
from bench.processes import process, switchboard
from bench.report import machine, percentile, publish
from bench.sizes import UPDATES
from server.store import database

START, END = "<!-- webhooks:start -->", "<!-- webhooks:end -->"
CLIENTS = 20
SECRET = "bench-secret"
PATH = "/channels/telegram/webhook"
SLACK_PATH = "/channels/slack/events"


def telegram_request(n: int) -> tuple[str, bytes, dict[str, str]]:
    body = orjson.dumps(stand_ins.telegram_update(n, f"where is my order {n}?", 9000 + n % 100))
    return (
        PATH,
        body,
        {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"},
    )


def slack_request(n: int) -> tuple[str, bytes, dict[str, str]]:
    body = orjson.dumps(stand_ins.slack_event(n, f"where is my order {n}?", f"U{n % 100:04d}"))
    return SLACK_PATH, body, stand_ins.slack_signed(body)


async def post_all(
    base: str, request: Callable[[int], tuple[str, bytes, dict[str, str]]] = telegram_request
) -> tuple[float, list[float]]:
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(1, UPDATES + 1):
        queue.put_nowait(n)
    latencies: list[float] = []

    async def client(http: httpx.AsyncClient) -> None:
        while not queue.empty():
            n = queue.get_nowait()
            path, body, headers = request(n)
            started = time.perf_counter()
            response = await http.post(path, content=body, headers=headers)
            latencies.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.text

    limits = httpx.Limits(max_connections=CLIENTS)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as http:
        started = time.perf_counter()
        await asyncio.gather(*(client(http) for _ in range(CLIENTS)))
        elapsed = time.perf_counter() - started
    return UPDATES / elapsed, latencies


async def measure(dsn: str, data_dir: Path) -> dict[str, float]:
    with process([sys.executable, "-m", "bench.bare_webhook"], {}, "port", grace=5) as (_, line):
        bare_rate, bare_lat = await post_all(f"http://127.0.0.1:{line.split()[1]}")
    async with stand_ins.apis() as apis:
        env = {
            "SWITCHBOARD_DATABASE_URL": dsn,
            "SWITCHBOARD_DATA_DIR": str(data_dir),
            "SWITCHBOARD_SMTP_ENABLED": "false",
            "SWITCHBOARD_NLU_ENGINE": "none",
            "SWITCHBOARD_LOG_LEVEL": "WARNING",
            "SWITCHBOARD_TELEGRAM_BOT_TOKEN": stand_ins.TELEGRAM_TOKEN,
            "SWITCHBOARD_TELEGRAM_API_URL": apis.telegram_url,
            "SWITCHBOARD_TELEGRAM_WEBHOOK_URL": "https://bench.example.com" + PATH,
            "SWITCHBOARD_TELEGRAM_WEBHOOK_SECRET": SECRET,
            "SWITCHBOARD_SLACK_SIGNING_SECRET": stand_ins.SLACK_SIGNING_SECRET,
            "SWITCHBOARD_SLACK_BOT_TOKEN": stand_ins.SLACK_TOKEN,
            "SWITCHBOARD_SLACK_API_URL": apis.slack_url + "/api/",
        }
        # Starting and stopping the server wait on it in a thread: it calls the stand-ins,
        # which answer from this event loop.
        stack = contextlib.ExitStack()
        server = await asyncio.to_thread(stack.enter_context, switchboard(env, demo=True))
        try:
            while apis.webhook is None:  # noqa: ASYNC110 (the stand-in records it; no event)
                await asyncio.sleep(0.1)
            rate, latencies = await post_all(server.base_url)
            slack_rate, slack_latencies = await post_all(server.base_url, slack_request)
        finally:
            await asyncio.to_thread(stack.close)
    return {
        "bare_rate": bare_rate,
        "bare_p50": percentile(bare_lat, 0.5),
        "rate": rate,
        "p50": percentile(latencies, 0.5),
        "p99": percentile(latencies, 0.99),
        "slack_rate": slack_rate,
        "slack_p50": percentile(slack_latencies, 0.5),
        "slack_p99": percentile(slack_latencies, 0.99),
    }


def run() -> str:
    with tempfile.TemporaryDirectory(prefix="sbhook") as tmp:
        embedded = database.EmbeddedPostgres(Path(tmp) / "pg")
        dsn = embedded.start()
        try:
            f = asyncio.run(measure(dsn, Path(tmp) / "data"))
        finally:
            embedded.stop()
    return "\n".join(
        [
            f"## Webhook ingest — {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
            "",
            f"Command: `make bench` (or `python -m bench.webhooks`). Machine: {machine()}"
            f"; `switchboard serve` with embedded PostgreSQL 16, NLU"
            f" off; {UPDATES:,} Telegram updates (100 customers) and {UPDATES:,} Slack events"
            f" (top-level channel messages: each a new thread, so a new conversation), each from"
            f" {CLIENTS} concurrent HTTP clients.",
            "",
            "| scenario | per second | ack p50 | ack p99 |",
            "|---|---:|---:|---:|",
            f"| baseline: bare Starlette endpoint, parse only | {f['bare_rate']:,.0f} |"
            f" {f['bare_p50']:.1f} ms | |",
            f"| Switchboard, Telegram update: stored, then 200 | {f['rate']:,.0f} |"
            f" {f['p50']:.1f} ms | {f['p99']:.1f} ms |",
            f"| Switchboard, signed Slack event (slack-bolt): stored, then 200 |"
            f" {f['slack_rate']:,.0f} | {f['slack_p50']:.1f} ms | {f['slack_p99']:.1f} ms |",
            "",
            f"Ratios to the bare endpoint: Telegram {f['rate'] / f['bare_rate']:.2f}x, Slack"
            f" {f['slack_rate'] / f['bare_rate']:.2f}x (each 200 waits for the message's"
            " transaction; Slack's adds signature checking and bolt's middleware; routing and"
            " the handoff follow in the background).",
        ]
    )


def main() -> None:
    publish(run(), START, END)


if __name__ == "__main__":
    main()
