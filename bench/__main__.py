"""`make bench`: idle sockets and memory, round-trip latency and throughput, each beside a bare
`websockets` echo server measured in the same run; then the NLU engines side by side
(bench/nlu.py), the router (bench/routing.py), inbound mail (bench/mail.py), webhook
ingest under wrk (bench/webhooks.py) and the CLI's and server's start-up (bench/startup.py);
then the message embeddings' candidates (bench/embeddings.py) and suggested replies over
100,000 stored messages (bench/suggestions.py), and what a router pass costs each connected
console (bench/fanout.py), search over 1,000,000 messages (bench/search.py), the
console's first paint in Chromium (bench/first_paint.py) and knowledge-base search over
1,000 to 100,000 chunks (bench/kb_search.py) and the Analytics dashboard's reads over a
generated history (bench/analytics.py); writes bench/RESULTS.md.
BENCH_ONLY=ws, routing, mail, webhooks, startup, nlu, embeddings, suggestions, fanout,
search, paint, kb, analytics or bot (save to serving: bench/bot_training.py) runs one part.
Every part's machine line carries the disk's fsync cost (bench/fsync.py).

Everything runs on loopback, on ports of its own, and stops by itself. Sizes are in
bench/sizes.py: BENCH_SIZE=smoke runs every part in seconds (figures not written); here
BENCH_IDLE (sockets per server, default 10000), BENCH_SECONDS (per load step, default 5),
BENCH_RATES (comma-separated msg/s, default 500,1000,1500,2000,2500,3000,4000,6000: past
Switchboard's ceiling, to show overload, and towards the echo's) and
BENCH_CUSTOMERS (default 1000).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psutil
import uvloop

from bench import cpu, report
from bench.load import TICK, EchoLoad, Result, SwitchboardLoad
from bench.processes import process, switchboard
from bench.report import machine
from bench.sizes import CUSTOMERS, IDLE, RATES, SECONDS
from server.services import demo
from server.store import database

ROOT = Path(__file__).resolve().parent.parent
CLIENT_PROCESSES = 2  # the per-process open-file limit here is 20,000


def wait_until_idle(base_url: str, limit: float = 60.0) -> None:
    """Wait until the server has let go of every widget socket (its own gauge says so), so the
    load steps do not share the CPU with tearing down the idle phase's sockets."""
    deadline = time.monotonic() + limit
    gauge = 'switchboard_websocket_connections{kind="webchat"} 0.0'
    while time.monotonic() < deadline:
        if gauge in httpx.get(f"{base_url}/metrics", timeout=5).text:
            return
        time.sleep(0.2)
    raise RuntimeError(f"{base_url} still holds widget sockets after {limit:g} s")


def rss(pid: int) -> int:
    return int(psutil.Process(pid).memory_info().rss)


@contextlib.contextmanager
def holding(kind: str, url: str, server_pid: int) -> Iterator[tuple[int, float]]:
    """Hold IDLE sockets from client processes; yield (sockets, server RSS bytes per socket).

    The server's RSS is read after the widget sessions exist and again once every socket is
    open and greeted, so the figure is what holding a socket costs. The sockets stay open
    until the block ends.
    """
    per_client = IDLE // CLIENT_PROCESSES
    clients = [
        subprocess.Popen(
            [sys.executable, "-m", "bench.idle_clients", kind, url, str(per_client)],
            cwd=ROOT,
            text=True,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        for _ in range(CLIENT_PROCESSES)
    ]
    try:
        for client in clients:
            assert client.stdout is not None
            assert client.stdout.readline().startswith("sessions")
        time.sleep(1)
        before = rss(server_pid)
        for client in clients:
            assert client.stdin is not None
            client.stdin.write("go\n")
            client.stdin.flush()
        opened = 0
        for client in clients:
            assert client.stdout is not None
            opened += int(client.stdout.readline().split()[1])
        time.sleep(1)
        yield opened, (rss(server_pid) - before) / max(opened, 1)
    finally:
        for client in clients:
            assert client.stdin is not None
            client.stdin.close()
            client.wait(60)


async def seed(dsn: str) -> None:
    pool = await database.create_pool(dsn, min_size=1, max_size=2)
    try:
        await database.migrate(pool)
        await demo.seed(pool)
    finally:
        await pool.close()


async def load_steps(
    make: object, processes: dict[str, int]
) -> list[tuple[Result, dict[str, float]]]:
    """Each step's result, with the CPU each of ``processes`` (and this load generator) used
    during it, in cores."""
    results = []
    async with make() as load:  # type: ignore[operator]
        await load.warm_up()
        for rate in RATES:
            meter = cpu.Meter(processes, alone={"load generator": os.getpid()})
            result = await load.run(rate, SECONDS)
            results.append((result, meter.cores()))
    return results


def split(cores: dict[str, float]) -> str:
    return ", ".join(f"{name} {used:.2f}" for name, used in cores.items())


def sustained(results: list[Result]) -> float:
    """What the highest step served in full achieved (nothing lost, ≥ 95 % of the offered
    rate), every lower step served in full too: a step that passes above one that failed
    says the rate is unsteady, not sustained (a run read 0.99x the echo with 2,000 msg/s
    failed and 2,500 passed)."""
    best = 0.0
    for r in sorted(results, key=lambda r: r.offered):
        if r.lost or r.achieved < 0.95 * r.offered:
            break
        best = r.achieved
    return best


# Issue 14's target rate for the web chat: compared step by step, not only by ceiling.
TARGET_RATE = 2000.0


def ceilings(sb: list[Result], echo: list[Result]) -> str:
    """The sustained rates and their ratio, said as what they are: an echo that served the
    highest step in full was not saturated (its capacity is higher, so the ratio is at most
    what it shows; a run once read 1.00x only because the steps stopped at 2,500), and the
    two at the target rate, where both may be served in full."""
    sb_max, echo_max = sustained(sb), sustained(echo)
    ratio = sb_max / max(echo_max, 1)
    top = max(r.offered for r in echo)
    if echo_max >= 0.95 * top:
        # Switchboard's own capacity lies between what it sustained and the most it served
        # at any step (a step past it, refusing): the ratio's upper bound uses the latter.
        peak = max(r.achieved for r in sb)
        bound = (
            f"the echo served every step up to the highest offered, so its capacity is at "
            f"least {echo_max:.0f} msg/s (the highest step caps it); Switchboard served at "
            f"most {peak:.0f} at any step, so the ratio is at "
            f"most {peak / max(echo_max, 1):.2f}"
        )
    else:
        bound = f"ratio {ratio:.2f}"
    text = (
        f"Sustained (highest step served in full): Switchboard {sb_max:.0f} msg/s, echo "
        f"{echo_max:.0f} msg/s; {bound}."
    )
    at = [(s, e) for s, e in zip(sb, echo, strict=True) if s.offered == TARGET_RATE]
    if at:
        s, e = at[0]
        text += (
            f" At {TARGET_RATE:,.0f} msg/s offered (issue 14's target): Switchboard "
            f"{s.achieved:.0f} at p99 {s.p99_ms:.1f} ms, {s.lost} lost; the echo "
            f"{e.achieved:.0f} ({s.achieved / max(e.achieved, 1):.2f}x)."
        )
    return text


PARTS = (
    "",
    "ws",
    "routing",
    "mail",
    "webhooks",
    "startup",
    "nlu",
    "embeddings",
    "suggestions",
    "fanout",
    "search",
    "paint",
    "kb",
    "analytics",
    "bot",
)


def main() -> None:
    only = os.environ.get("BENCH_ONLY", "")
    if only not in PARTS:
        raise SystemExit(f"BENCH_ONLY is one of {', '.join(PARTS[1:])} (or unset), not {only!r}")
    if only in ("", "ws"):
        transport()
    if only in ("", "routing"):
        from bench import routing

        routing.main()
    if only in ("", "mail"):
        from bench import mail

        mail.main()
    if only in ("", "webhooks"):
        from bench import webhooks

        webhooks.main()
    if only in ("", "startup"):
        from bench import startup

        startup.main()
    if only in ("", "nlu"):
        from bench import nlu

        nlu.main()
    if only in ("", "embeddings"):
        from bench import embeddings

        embeddings.main()
    if only in ("", "suggestions"):
        from bench import suggestions

        suggestions.main()
    if only in ("", "fanout"):
        from bench import fanout

        fanout.main()
    if only in ("", "search"):
        from bench import search

        search.main()
    if only in ("", "paint"):
        from bench import first_paint

        first_paint.main()
    if only in ("", "kb"):
        from bench import kb_search

        kb_search.main(write=True)
    if only in ("", "analytics"):
        from bench import analytics

        analytics.main(write=True)
    if only in ("", "bot"):
        from bench import bot_training

        bot_training.main(write=True)


def transport() -> None:
    lines: list[str] = []

    def say(text: str = "") -> None:
        print(text, flush=True)
        lines.append(text)

    with tempfile.TemporaryDirectory(prefix="sbbench") as tmp:
        pg = database.EmbeddedPostgres(Path(tmp))
        dsn = pg.start()
        try:
            uvloop.run(seed(dsn))
            env = {
                "SWITCHBOARD_DATABASE_URL": dsn,
                "SWITCHBOARD_DATA_DIR": tmp,
                "SWITCHBOARD_LOG_LEVEL": "WARNING",
                "SWITCHBOARD_WS_RATE_PER_SECOND": "100000",
                "SWITCHBOARD_WS_RATE_BURST": "100000",
                # Every customer of the load comes from 127.0.0.1.
                "SWITCHBOARD_WEBCHAT_SESSIONS_PER_MINUTE": "1000000",
                "SWITCHBOARD_DB_POOL_MAX": "6",
                # The transport is measured on its own (the NLU part below measures the bot),
                # so these figures stay comparable with the earlier runs.
                "SWITCHBOARD_NLU_ENGINE": "none",
            }
            with (
                switchboard(env) as sb,
                switchboard(env) as sb2,
                process([sys.executable, "-m", "bench.echo_server"], {}, "port") as (echo, port),
            ):
                sb_url, sb2_url = sb.base_url, sb2.base_url
                echo_url = f"ws://127.0.0.1:{port.split()[1]}"
                say(f"# Switchboard benchmarks — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
                say()
                say(
                    f"Command: `make bench` (BENCH_IDLE={IDLE}, BENCH_SECONDS={SECONDS:g}, "
                    f"BENCH_RATES={','.join(f'{r:g}' for r in RATES)}). Machine: "
                    f"{machine()}. Server, "
                    f"Postgres, baseline and load generator all share these cores."
                )
                say()
                say("## (a) Idle sockets: the bare server, then two Switchboard processes at once")
                say()
                with holding("echo", echo_url.replace("ws://", "http://"), echo.pid) as (
                    echo_open,
                    echo_per,
                ):
                    pass
                # One server process per core, both holding their sockets at the same time.
                with (
                    holding("switchboard", sb_url, sb.child.pid) as (sb_open, sb_per),
                    holding("switchboard", sb2_url, sb2.child.pid) as (sb2_open, sb2_per),
                ):
                    pass
                wait_until_idle(sb_url)
                wait_until_idle(sb2_url)
                say("| server | sockets held | RSS per socket | ratio to bare |")
                say("|---|---|---|---|")
                say(f"| bare websockets echo | {echo_open} | {echo_per / 1024:.1f} KiB | 1.00 |")
                for name, opened, per in (
                    ("process 1", sb_open, sb_per),
                    ("process 2", sb2_open, sb2_per),
                ):
                    say(
                        f"| Switchboard widget (session + hello), {name} | {opened} | "
                        f"{per / 1024:.1f} KiB | {per / max(echo_per, 1):.2f} |"
                    )
                say()
                say(
                    f"Held on the machine at once by the two server processes: "
                    f"{sb_open + sb2_open} widget sockets."
                )
                say()
                say("## (b, c) Customer → console round trip, every message persisted")
                say()
                say(
                    f"{CUSTOMERS} customers, open-loop schedule, {SECONDS:g} s per step. "
                    "Switchboard: widget send → stored → published → console `message.created`. "
                    "Baseline: the same frames echoed by the bare server."
                )
                say()
                postgres = cpu.postmaster(Path(tmp) / "postgres")
                sb_steps = uvloop.run(
                    load_steps(
                        lambda: SwitchboardLoad(sb_url, CUSTOMERS),
                        {"server": sb.child.pid, "PostgreSQL": postgres},
                    )
                )
                echo_steps = uvloop.run(
                    load_steps(lambda: EchoLoad(echo_url, CUSTOMERS), {"echo": echo.pid})
                )
                say(
                    "| offered msg/s | Switchboard achieved | p50 ms | p99 ms | lost (refused) | "
                    "sent late, p99 ms | CPU used, in cores | "
                    "echo achieved | echo p50 ms | echo p99 ms | echo CPU, in cores |"
                )
                say("|---|---|---|---|---|---|---|---|---|---|---|")
                for (s, s_cores), (e, e_cores) in zip(sb_steps, echo_steps, strict=True):
                    say(
                        f"| {s.offered:g} | {s.achieved:.0f} | {s.p50_ms:.1f} | {s.p99_ms:.1f} | "
                        f"{s.lost} ({s.refused}) | {s.late_p99_ms:.0f} | {split(s_cores)} | "
                        f"{e.achieved:.0f} | {e.p50_ms:.2f} | {e.p99_ms:.2f} | {split(e_cores)} |"
                    )
                sb_results = [s for s, _ in sb_steps]
                echo_results = [e for e, _ in echo_steps]
                say()
                say(
                    ceilings(sb_results, echo_results) + " Latencies run from each "
                    "frame's actual send to the console's `message.created`; \"sent late\" is how "
                    "far behind its schedule the generator sent (its loop sends every "
                    f"{TICK * 1000:.0f} ms, so up to that is the schedule's own grain). CPU used: "
                    "CPU seconds per second of the step, of each process with its children "
                    "(bench/cpu.py), the load generator's without the servers it started; the "
                    f"machine has {psutil.cpu_count()} cores in all."
                )
        finally:
            pg.stop()
    report.write("\n".join(lines), START, END)


START, END = "<!-- figures:start -->", "<!-- figures:end -->"


if __name__ == "__main__":
    main()
