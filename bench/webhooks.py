"""`make bench`'s webhook part: Telegram updates and signed Slack events acknowledged per
second, and the ack latency, each against a bare endpoint measured with the same load.

The load comes from Debian's `wrk` (bench/wrk.py, bench/webhook_load.lua): CONNECTIONS
keep-alive connections for BENCH_WEBHOOK_SECONDS (default 10) per scenario, every request a
distinct update (its own update_id; 100 customers) or a distinct Slack event (its own
event_id and ts, so a new thread and conversation each), signed afresh with the signing
secret Switchboard is configured with, and checked by its real verification (slack_sdk's
verifier).

Switchboard runs as `switchboard serve` in its own process (embedded PostgreSQL, demo data,
NLU off) with a Telegram bot in webhook mode and a Slack app, against stand-ins for their
APIs (bench/stand_ins.py). Each 200 means the update or event is on disk, held as it came
(one statement and one commit for all the requests that arrived together); reading it as a
message, storing that and routing it follow. After each run the benchmark waits until
nothing is held any more and counts the messages: a run that acknowledged more than it
stored fails the benchmark, and the time that took gives the rate messages are stored at
when the acknowledgements have stopped outrunning it (the sustained figure).

Baseline, same run, same wrk settings: a bare uvicorn + Starlette endpoint in its own process
that checks and parses each webhook and answers 200, storing nothing (bench/bare_webhook.py).

Run alone with `python -m bench.webhooks` or BENCH_ONLY=webhooks make bench.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from bench import cpu, stand_ins, wrk
from bench.processes import process, switchboard
from bench.report import machine, publish
from bench.sizes import WEBHOOK_SECONDS
from server.services import telegram as telegram_service
from server.store import Pool, database

START, END = "<!-- webhooks:start -->", "<!-- webhooks:end -->"
CONNECTIONS = 20
SECRET = "bench-secret"
PATH = "/channels/telegram/webhook"
SLACK_PATH = "/channels/slack/events"
# After start-up and between runs the server finishes its background work (routing what was
# just stored, Slack profile look-ups) before the next run starts: quiet means below this
# share of one core, over half a second.
QUIET_CPU_PERCENT = 10.0
QUIET_LIMIT = 60.0
# How long the held updates may take to become messages after a run.
DRAIN_LIMIT = 600.0
# What each channel holds until it is read as a message.
HELD = {
    "telegram": "SELECT count(*) FROM telegram_held_updates",
    "slack": "SELECT count(*) FROM slack_held_events",
}


@dataclass(frozen=True)
class Run:
    """One wrk run, and the CPU each process took meanwhile (in cores)."""

    load: wrk.Load
    cores: dict[str, float]

    @property
    def split(self) -> str:
        """ "server 0.98, PostgreSQL 0.41, wrk 0.12" """
        shares = {**self.cores, "wrk": self.load.cores}
        return ", ".join(f"{name} {used:.2f}" for name, used in shares.items())


@dataclass(frozen=True)
class Scenario:
    """One channel's two runs, and what Switchboard stored during its run."""

    bare: Run
    switchboard: Run
    stored: int
    # Seconds from the end of the run until nothing was held (every message stored).
    drained: float

    @property
    def ratio(self) -> float:
        bare, switchboard = self.bare.load.rate, self.switchboard.load.rate
        return switchboard / bare if bare else 0.0

    @property
    def sustained(self) -> float:
        """Messages stored a second, from the run's start until the last one was."""
        return self.stored / (self.switchboard.load.seconds + self.drained)


async def load(url: str, kind: str, processes: dict[str, int]) -> Run:
    """Drive ``url`` with wrk, metering the CPU of ``processes`` (name: root pid)."""
    secret = SECRET if kind == "telegram" else stand_ins.SLACK_SIGNING_SECRET
    meter = cpu.Meter(processes)
    result = await wrk.run(url, kind, secret, seconds=WEBHOOK_SECONDS, connections=CONNECTIONS)
    return Run(result, meter.cores())


async def stored(pool: Pool, channel: str) -> int:
    """Customer messages stored from ``channel``."""
    count: int = await pool.fetchval(
        "SELECT count(*) FROM messages WHERE channel = $1 AND direction = 'in'", channel
    )
    return count


async def drain(pool: Pool, channel: str) -> float:
    """Seconds until ``channel`` holds nothing (every acknowledged request a message)."""
    started = time.monotonic()
    while await pool.fetchval(HELD[channel]):
        if time.monotonic() - started > DRAIN_LIMIT:
            raise RuntimeError(f"{channel}: still holding updates {DRAIN_LIMIT:g} s after the run")
        await asyncio.sleep(0.1)
    return time.monotonic() - started


async def quiet(pid: int) -> None:
    """Wait until the process ``pid`` uses under QUIET_CPU_PERCENT of a core."""
    proc = psutil.Process(pid)
    deadline = time.monotonic() + QUIET_LIMIT
    proc.cpu_percent()
    while time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        if proc.cpu_percent() < QUIET_CPU_PERCENT:
            return


async def measured(
    pool: Pool, url: str, kind: str, processes: dict[str, int]
) -> tuple[Run, int, float]:
    """One wrk run against Switchboard, how many messages it stored, and how long after the
    run the last one was. Every acknowledged request must be stored; more may be (requests
    in flight when wrk stopped are stored without being counted), but never more than wrk
    generated."""
    before = await stored(pool, kind)
    run = await load(url, kind, processes)
    result = run.load
    drained = await drain(pool, kind)
    count = await stored(pool, kind) - before
    if not result.acknowledged <= count <= result.generated:
        raise RuntimeError(
            f"{kind}: Switchboard acknowledged {result.acknowledged} requests of"
            f" {result.generated} generated but stored {count} messages"
            f" (first failure: {result.first_failure or 'none'})"
        )
    return run, count, drained


async def measure(dsn: str, postgres: int, data_dir: Path) -> tuple[Scenario, Scenario]:
    bare_command = [sys.executable, "-m", "bench.bare_webhook", SECRET]
    with process(bare_command, {}, "port", grace=5) as (child, line):
        bare = f"http://127.0.0.1:{line.split()[1]}"
        bare_telegram = await load(bare + PATH, "telegram", {"server": child.pid})
        bare_slack = await load(bare + SLACK_PATH, "slack", {"server": child.pid})
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
        pool = await database.create_pool(dsn, min_size=1, max_size=1)
        try:
            while apis.webhook is None:  # noqa: ASYNC110 (the stand-in records it; no event)
                await asyncio.sleep(0.1)
            processes = {"server": server.child.pid, "PostgreSQL": postgres}
            await quiet(server.child.pid)
            telegram, telegram_stored, telegram_drained = await measured(
                pool, server.base_url + PATH, "telegram", processes
            )
            await quiet(server.child.pid)
            slack, slack_stored, slack_drained = await measured(
                pool, server.base_url + SLACK_PATH, "slack", processes
            )
        finally:
            await pool.close()
            await asyncio.to_thread(stack.close)
    return (
        Scenario(bare_telegram, telegram, telegram_stored, telegram_drained),
        Scenario(bare_slack, slack, slack_stored, slack_drained),
    )


def _row(server: str, webhook: str, run: Run, ratio: str) -> str:
    f = run.load
    return (
        f"| {server} | {webhook} | {f.rate:,.0f} | {f.p50_ms:.1f} ms | {f.p99_ms:.1f} ms |"
        f" {f.non2xx} | {f.socket_errors} | {ratio} | {run.split} |"
    )


def run() -> str:
    with tempfile.TemporaryDirectory(prefix="sbhook") as tmp:
        embedded = database.EmbeddedPostgres(Path(tmp) / "pg")
        dsn = embedded.start()
        try:
            # EmbeddedPostgres keeps its cluster in a "postgres" folder of the one it is given.
            postgres = cpu.postmaster(Path(tmp) / "pg" / "postgres")
            telegram, slack = asyncio.run(measure(dsn, postgres, Path(tmp) / "data"))
        finally:
            embedded.stop()
    loads = [r.load for r in (telegram.bare, telegram.switchboard, slack.bare, slack.switchboard)]
    tg, sl = telegram.switchboard.load, slack.switchboard.load
    return "\n".join(
        [
            f"## Webhook ingest — {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
            "",
            f"Command: `make bench` (or `python -m bench.webhooks`). Machine: {machine()}"
            f"; `switchboard serve` with embedded PostgreSQL 16, NLU off; the bare endpoint"
            f" and Switchboard each in its own process, one after the other, each driven by"
            f" the same wrk settings: {CONNECTIONS} connections, {WEBHOOK_SECONDS:g} s per"
            f" scenario, every Telegram update distinct (100 customers), every Slack event"
            f" distinct and freshly signed (top-level channel messages: each a new thread, so"
            f" a new conversation).",
            "",
            "| server | webhook | 2xx/s | p50 | p99 | non-2xx | socket errors |"
            " ratio to bare | CPU used, in cores |",
            "|---|---|---:|---:|---:|---:|---:|---:|---|",
            _row("bare Starlette: check, parse, 200", "Telegram update", telegram.bare, "1.00"),
            _row(
                "Switchboard: kept, then 200",
                "Telegram update",
                telegram.switchboard,
                f"{telegram.ratio:.2f}",
            ),
            _row("bare Starlette: verify signature, parse, 200", "Slack event", slack.bare, "1.00"),
            _row(
                "Switchboard: verified, kept, then 200",
                "Slack event",
                slack.switchboard,
                f"{slack.ratio:.2f}",
            ),
            "",
            f"Stored by Switchboard (messages counted in PostgreSQL once nothing was held after"
            f" each run): Telegram {telegram.stored:,} messages for {tg.acknowledged:,}"
            f" acknowledged ({tg.generated:,} requests sent), the last"
            f" {telegram.drained:.1f} s after the run ended: {telegram.sustained:,.0f}"
            f" messages/s sustained; Slack {slack.stored:,} for {sl.acknowledged:,}"
            f" ({sl.generated:,} sent), the last {slack.drained:.1f} s after:"
            f" {slack.sustained:,.0f}/s sustained. Each 200 waits for the update's or event's"
            " commit (shared by the requests that came together); reading it as a message,"
            " storing, routing and the handoff follow in the background: while requests pour"
            " in faster than they are read, the reading takes a batch when they pause, and"
            " meanwhile once a second a part of one that grows with the backlog (an eighth"
            " of a batch nearly empty, all of it full: server/services/held_batches.py,"
            f" DrainPace); past {telegram_service.MAX_HELD:,} waiting the webhook answers"
            " 503. 2xx/s counts"
            " acknowledged requests only (a 503 of back-pressure is a non-2xx); p50 and p99"
            " are wrk's, over every answer."
            " CPU used: CPU seconds per second of the run"
            " (bench/cpu.py), of the server process with its children, of PostgreSQL with its"
            " backends, and of wrk; the machine has "
            f"{psutil.cpu_count()} cores in all.",
            "",
            "The wrk commands of the four rows above, in order (ports picked at run time; the"
            " secrets are the bench's own):",
            "",
            *(f"    {f.command}" for f in loads),
        ]
    )


def main() -> None:
    publish(run(), START, END)


if __name__ == "__main__":
    main()
