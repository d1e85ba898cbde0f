"""What one web-chat message costs, in CPU and in database work, at a fixed offered rate.

Throughput on a shared machine says as much about the neighbours as about the server; the
CPU a message takes does not: the server's and PostgreSQL's CPU time (``/proc``, through
psutil) over a run, divided by the messages sent, with the transactions, WAL flushes and
rows written per message (``pg_stat_*``) and the trigger functions' time
(``track_functions``). The window covers routing too: it ends once every message is
interpreted and the coalesced re-prioritisations are done; the server's and PostgreSQL's idle
CPU, measured just before, is subtracted.

Run ``python -m bench.cost``; BENCH_COST_RATE (msg/s, default 500), BENCH_COST_SECONDS
(default 10), BENCH_COST_RUNS (default 1), BENCH_COST_STATEMENTS=1 (log every statement for
a second, shorter run and count them per message: that run's CPU is not reported, logging
inflates it), BENCH_COST_SETUP=file.sql (SQL run after the schema and the demo data: the
"before" side of a paired comparison, e.g. a trigger as it was). Prints one block per run;
writes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import psutil
import uvloop

from bench.__main__ import seed
from bench.cpu import postmaster
from bench.load import SwitchboardLoad
from bench.processes import switchboard
from server.store import database

RATE = float(os.environ.get("BENCH_COST_RATE", "500"))
SECONDS = float(os.environ.get("BENCH_COST_SECONDS", "10"))
RUNS = int(os.environ.get("BENCH_COST_RUNS", "1"))
STATEMENTS = os.environ.get("BENCH_COST_STATEMENTS", "") == "1"
SETUP = os.environ.get("BENCH_COST_SETUP", "")
CUSTOMERS = int(os.environ.get("BENCH_CUSTOMERS", "100"))
IDLE_SECONDS = 2.0
# The router coalesces re-prioritisations for a second (server/dispatch/router.py).
TAIL_SECONDS = 1.5


def _cpu(root: int) -> float:
    """CPU seconds of ``root`` and its live descendants."""
    total = 0.0
    try:
        parent = psutil.Process(root)
        for proc in [parent, *parent.children(recursive=True)]:
            try:
                t = proc.cpu_times()
                total += t.user + t.system
            except psutil.NoSuchProcess:
                pass
    except psutil.NoSuchProcess:
        pass
    return total


@dataclass
class Counters:
    server: float
    postgres: float
    at: float
    commits: int
    wal_records: int
    wal_bytes: int
    wal_syncs: int
    wal_writes: int
    rows: dict[str, tuple[int, int, int]]
    functions: dict[str, tuple[int, float]]


async def _counters(dsn: str, server_pid: int, pg_pid: int) -> Counters:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("SELECT pg_stat_clear_snapshot()")
        db = await conn.fetchrow(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
        )
        wal = await conn.fetchrow("SELECT * FROM pg_stat_wal")
        assert db is not None
        assert wal is not None
        tables = await conn.fetch(
            "SELECT relname, n_tup_ins, n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables"
        )
        funcs = await conn.fetch("SELECT funcname, calls, self_time FROM pg_stat_user_functions")
    finally:
        await conn.close()
    return Counters(
        server=_cpu(server_pid),
        postgres=_cpu(pg_pid),
        at=time.monotonic(),
        commits=int(db["xact_commit"]),
        wal_records=int(wal["wal_records"]),
        wal_bytes=int(wal["wal_bytes"]),
        wal_syncs=int(wal["wal_sync"]),
        wal_writes=int(wal["wal_write"]),
        rows={
            r["relname"]: (int(r["n_tup_ins"]), int(r["n_tup_upd"]), int(r["n_tup_hot_upd"]))
            for r in tables
        },
        functions={f["funcname"]: (int(f["calls"]), float(f["self_time"])) for f in funcs},
    )


async def _unrouted(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        found: int = await conn.fetchval(
            "SELECT count(*) FROM messages WHERE author_kind = 'customer' AND nlu IS NULL"
        )
        return found
    finally:
        await conn.close()


async def _until_routed(dsn: str) -> None:
    """Until every customer message is interpreted (the routing of the run is done)."""
    while await _unrouted(dsn):  # noqa: ASYNC110 - the state is in another process
        await asyncio.sleep(0.1)


async def _run(url: str, dsn: str, server_pid: int, pg_pid: int, log: Path | None) -> None:
    async with SwitchboardLoad(url, CUSTOMERS) as load:
        await load.warm_up()
        await _until_routed(dsn)
        await asyncio.sleep(TAIL_SECONDS)
        for n in range(RUNS):
            idle = await _counters(dsn, server_pid, pg_pid)
            await asyncio.sleep(IDLE_SECONDS)
            before = await _counters(dsn, server_pid, pg_pid)
            idle_server = (before.server - idle.server) / (before.at - idle.at)
            idle_pg = (before.postgres - idle.postgres) / (before.at - idle.at)
            mark = os.path.getsize(log) if log else 0  # noqa: ASYNC240 - a stat, once
            print(f"--- run {n + 1} starts (server pid {server_pid})", flush=True)
            result = await load.run(RATE, SECONDS)
            await _until_routed(dsn)
            await asyncio.sleep(TAIL_SECONDS)
            after = await _counters(dsn, server_pid, pg_pid)
            # Refused messages ("busy") were never stored: they cost next to nothing.
            sent = len(load.rtts) + result.lost - result.refused
            span = after.at - before.at
            server_ms = (after.server - before.server - idle_server * span) / sent * 1000
            pg_ms = (after.postgres - before.postgres - idle_pg * span) / sent * 1000
            print(f"--- run {n + 1}: {RATE:g} msg/s offered for {SECONDS:g} s, {sent} stored")
            print(
                f"achieved {result.achieved:.0f} msg/s, p50 {result.p50_ms:.1f} ms, "
                f"p99 {result.p99_ms:.1f} ms, lost {result.lost} (refused {result.refused})"
            )
            if log is None:
                print(f"server CPU  {server_ms:.3f} ms/msg (idle {idle_server * 100:.1f} %)")
                print(f"postgres CPU {pg_ms:.3f} ms/msg (idle {idle_pg * 100:.1f} %)")
                print(f"machine load avg {os.getloadavg()[0]:.2f}")
            print(f"commits      {(after.commits - before.commits) / sent:.2f} /msg")
            print(f"WAL records  {(after.wal_records - before.wal_records) / sent:.2f} /msg")
            print(f"WAL bytes    {(after.wal_bytes - before.wal_bytes) / sent:.0f} /msg")
            print(f"WAL syncs    {(after.wal_syncs - before.wal_syncs) / sent:.3f} /msg")
            print(f"WAL writes   {(after.wal_writes - before.wal_writes) / sent:.3f} /msg")
            for name, (ins, upd, hot) in sorted(after.rows.items()):
                was = before.rows.get(name, (0, 0, 0))
                if (ins, upd, hot) != was:
                    # An update that is not HOT writes a new entry in every index.
                    print(
                        f"  {name:28} ins {(ins - was[0]) / sent:.2f} "
                        f"upd {(upd - was[1]) / sent:.2f} (HOT {(hot - was[2]) / sent:.2f}) /msg"
                    )
            for name, (calls, self_ms) in sorted(after.functions.items()):
                was_f = before.functions.get(name, (0, 0.0))
                if calls != was_f[0]:
                    print(
                        f"  fn {name:25} calls {(calls - was_f[0]) / sent:.2f} "
                        f"self {(self_ms - was_f[1]) / sent * 1000:.1f} us/msg"
                    )
            if log is not None:
                _count_statements(log, mark, sent)


# A log entry starts with the line prefix's timestamp; a statement of several lines goes on
# in lines without it.
_ENTRY = re.compile(rb"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")
# How much of a statement (its whitespace collapsed) tells its kind: the first line alone
# lumped six different "WITH input AS (" statements together.
KIND_CHARS = 160


def _entries(raw: bytes) -> Iterator[str]:
    """The log's entries, each with its continuation lines joined to it."""
    entry: list[bytes] = []
    for line in raw.splitlines():
        if _ENTRY.match(line) and entry:
            yield b" ".join(entry).decode(errors="replace")
            entry = []
        entry.append(line)
    if entry:
        yield b" ".join(entry).decode(errors="replace")


def _count_statements(log: Path, mark: int, sent: int) -> None:
    """Statements logged since ``mark`` (log_min_duration_statement = 0), per message, by
    kind (their text's start), with the time each kind took (wall time in the backend)."""
    with log.open("rb") as f:
        f.seek(mark)
        raw = f.read()
    kinds: dict[str, tuple[int, float]] = {}
    for line in _entries(raw):
        if "LOG:  duration: " not in line:
            continue
        took, _, text = line.split("LOG:  duration: ", 1)[1].partition(" ms  ")
        if text.startswith(("parse ", "bind ")):
            continue  # counted with their execute
        text = text.split(": ", 1)[-1]
        key = " ".join(text.split())[:KIND_CHARS]
        count, total = kinds.get(key, (0, 0.0))
        kinds[key] = (count + 1, total + float(took))
    calls = sum(c for c, _ in kinds.values())
    spent = sum(t for _, t in kinds.values())
    print(f"statements   {calls / sent:.2f} /msg ({calls} logged), {spent / sent:.3f} ms/msg")
    for key, (count, total) in sorted(kinds.items(), key=lambda kv: -kv[1][1])[:20]:
        print(f"  {count / sent:6.3f}/msg {total / sent * 1000:7.1f} us/msg  {key}")


@dataclass
class Postgres:
    dsn: str
    pid: int
    log: Path


def _configure(dsn: str) -> None:
    setup = Path(SETUP).read_text() if SETUP else ""

    async def go() -> None:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute("ALTER SYSTEM SET track_functions = 'pl'")
            if STATEMENTS:
                await conn.execute("ALTER SYSTEM SET log_min_duration_statement = 0")
            await conn.execute("SELECT pg_reload_conf()")
            if setup:
                await conn.execute(setup)
        finally:
            await conn.close()

    uvloop.run(go())


@contextlib.contextmanager
def _postgres(tmp: Path) -> Iterator[Postgres]:
    pg = database.EmbeddedPostgres(tmp)
    dsn = pg.start()
    try:
        pgdata = tmp / "postgres"
        yield Postgres(dsn, postmaster(pgdata), pgdata / "log")
    finally:
        pg.stop()


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="sbcost") as tmp, _postgres(Path(tmp)) as pg:
        uvloop.run(seed(pg.dsn))
        _configure(pg.dsn)
        env = {
            "SWITCHBOARD_DATABASE_URL": pg.dsn,
            "SWITCHBOARD_DATA_DIR": tmp,
            "SWITCHBOARD_LOG_LEVEL": "WARNING",
            "SWITCHBOARD_WS_RATE_PER_SECOND": "100000",
            "SWITCHBOARD_WS_RATE_BURST": "100000",
            "SWITCHBOARD_WEBCHAT_SESSIONS_PER_MINUTE": "1000000",
            "SWITCHBOARD_DB_POOL_MAX": "6",
            # As bench/__main__.py's transport part: the bot is measured elsewhere.
            "SWITCHBOARD_NLU_ENGINE": os.environ.get("BENCH_COST_NLU", "none"),
        }
        with switchboard(env) as sb:
            uvloop.run(
                _run(
                    sb.base_url,
                    pg.dsn,
                    sb.child.pid,
                    pg.pid,
                    pg.log if STATEMENTS else None,
                )
            )


if __name__ == "__main__":
    main()
