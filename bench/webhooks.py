"""`make bench`'s webhook part: Telegram updates acknowledged per second, and ack latency.

Switchboard runs as `switchboard serve` (embedded PostgreSQL, demo data) with a Telegram bot
in webhook mode against the tests' Bot API stand-in; 20 concurrent clients post BENCH_UPDATES
signed updates (default 2,000; 100 customers). Each 200 means the message is stored. Figures:
updates/s and the time to each 200, p50/p99 (Telegram gives a webhook about 60 s; Slack's
deadline, for comparison, is 3 s).

Baseline, same run: a bare uvicorn + Starlette endpoint that parses the update with aiogram's
model and answers 200, storing nothing (bench/bare_webhook.py).

Run alone with `python -m bench.webhooks` or BENCH_ONLY=webhooks make bench.
"""

from __future__ import annotations

import asyncio
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

from bench.nlu import percentile, write
from server import database
from tests import telegram_api
from tests.harness import stop_process
from tests.telegram_api import message_update

START, END = "<!-- webhooks:start -->", "<!-- webhooks:end -->"
ROOT = Path(__file__).resolve().parent.parent
UPDATES = int(os.environ.get("BENCH_UPDATES", "2000"))
CLIENTS = 20
SECRET = "bench-secret"
PATH = "/channels/telegram/webhook"


async def post_all(base: str) -> tuple[float, list[float]]:
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(1, UPDATES + 1):
        queue.put_nowait(n)
    latencies: list[float] = []
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}

    async def client(http: httpx.AsyncClient) -> None:
        while not queue.empty():
            n = queue.get_nowait()
            body = message_update(n, f"where is my order {n}?", user_id=9000 + n % 100)
            started = time.perf_counter()
            response = await http.post(PATH, json=body, headers=headers)
            latencies.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.text

    limits = httpx.Limits(max_connections=CLIENTS)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as http:
        started = time.perf_counter()
        await asyncio.gather(*(client(http) for _ in range(CLIENTS)))
        elapsed = time.perf_counter() - started
    return UPDATES / elapsed, latencies


def _start(args: list[str], env: dict[str, str], prefix: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        args,
        cwd=ROOT,
        env={**os.environ, **env},
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith(prefix):
            return proc, line.strip()
    raise RuntimeError(f"{args} did not start")


async def measure(dsn: str, data_dir: Path) -> dict[str, float]:
    bare, line = _start([sys.executable, "-m", "bench.bare_webhook"], {}, "port")
    try:
        bare_rate, bare_lat = await post_all(f"http://127.0.0.1:{line.split()[1]}")
    finally:
        stop_process(bare, grace=5)
    async with telegram_api.bot_api() as api:
        env = {
            "SWITCHBOARD_DATABASE_URL": dsn,
            "SWITCHBOARD_DATA_DIR": str(data_dir),
            "SWITCHBOARD_PORT": "0",
            "SWITCHBOARD_SMTP_ENABLED": "false",
            "SWITCHBOARD_NLU_ENGINE": "none",
            "SWITCHBOARD_LOG_LEVEL": "WARNING",
            "SWITCHBOARD_TELEGRAM_BOT_TOKEN": telegram_api.TOKEN,
            "SWITCHBOARD_TELEGRAM_API_URL": api.base_url,
            "SWITCHBOARD_TELEGRAM_WEBHOOK_URL": "https://bench.example.com" + PATH,
            "SWITCHBOARD_TELEGRAM_WEBHOOK_SECRET": SECRET,
        }
        proc, line = _start(
            [sys.executable, "-m", "server.cli", "serve", "--demo"], env, "Switchboard is"
        )
        try:
            base = line.split()[-1]
            while api.webhook is None:  # noqa: ASYNC110 (the stand-in records it; no event)
                await asyncio.sleep(0.1)
            rate, latencies = await post_all(base)
        finally:
            stop_process(proc, grace=30)
    return {
        "bare_rate": bare_rate,
        "bare_p50": percentile(bare_lat, 0.5),
        "rate": rate,
        "p50": percentile(latencies, 0.5),
        "p99": percentile(latencies, 0.99),
    }


def run() -> str:
    with tempfile.TemporaryDirectory(prefix="sbhook") as tmp:
        embedded = database.EmbeddedPostgres(Path(tmp) / "pg")
        dsn = embedded.start()
        try:
            f = asyncio.run(measure(dsn, Path(tmp) / "data"))
        finally:
            embedded.stop()
    memory = psutil.virtual_memory().total / 2**30
    return "\n".join(
        [
            f"## Webhook ingest (Telegram) — {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
            "",
            f"Command: `make bench` (or `python -m bench.webhooks`). Machine: {psutil.cpu_count()}"
            f" cores, {memory:.0f} GiB, {platform.platform()}, Python"
            f" {platform.python_version()}; `switchboard serve` with embedded PostgreSQL 16, NLU"
            f" off; {UPDATES:,} updates from {CLIENTS} concurrent HTTP clients, 100 customers.",
            "",
            "| scenario | updates/s | ack p50 | ack p99 |",
            "|---|---:|---:|---:|",
            f"| baseline: bare Starlette endpoint, parse only | {f['bare_rate']:,.0f} |"
            f" {f['bare_p50']:.1f} ms | |",
            f"| Switchboard: stored, then 200 | {f['rate']:,.0f} | {f['p50']:.1f} ms |"
            f" {f['p99']:.1f} ms |",
            "",
            f"Ratio Switchboard/bare: {f['rate'] / f['bare_rate']:.2f}x (each 200 waits for the"
            " message's transaction; routing and the handoff follow in the background). Slack"
            " events are not measured yet (the Slack channel is not built).",
        ]
    )


def main() -> None:
    section = run()
    print(section)
    write(section, START, END)
    print("\nwritten to bench/RESULTS.md")


if __name__ == "__main__":
    main()
