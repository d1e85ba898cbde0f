"""`make bench`'s mail part: inbound SMTP acceptance, how fast the backlog drains, and the
time to the console at a pace the node sustains.

Switchboard runs as `switchboard serve` (its own process, embedded PostgreSQL, demo data).
20 concurrent senders (a lean SMTP client of this module's, one connection each, reused; no
more than a few percent of a core at a thousand mails a second) deliver to the demo inbox,
after 40 untimed warm-up mails (the baseline gets them too), in two runs:

- flat out: BENCH_MAILS messages (default 1,000), each sender sending its next as soon as the
  last was answered. Figures: mails a second accepted (every 250 means the raw mail is on
  disk); how long after the last 250 the last mail reached a logged-in agent console's live
  feed (WebSocket), and the mails a second that makes from the first DATA to that last mail
  (the sustained rate: parsing in a worker process, threading, storing, publishing);
- paced: as many mails again, sent at BENCH_MAIL_RATE mails a second in all (default half the
  sustained rate of the flat-out run, rounded down to 10), spread evenly over the senders.
  Figure: for each mail the time from the client starting its transaction to the message in
  the console's live feed, p50/p99.

Baselines, same run, same senders, flat out: a bare aiosmtpd server in its own process
(bench/bare_smtp.py) whose handler answers 250 at once and keeps nothing, so the ratio shows
what storing before the 250 costs; as aiosmtpd comes, then with Switchboard's reading of
MAIL's and RCPT's addresses (aiosmtpd's costs most of its CPU a mail), so that the ratio does
not flatter Switchboard for a library's slow path.

Switchboard's 250 waits for the raw mail's commit only; processing follows in the background
at a pace that leaves the SMTP sessions the cores while mail pours in
(server/services/mailroom.py), and past mail_max_waiting receipts waiting DATA is answered
451 (server/services/mail_backlog.py); a sender answered 451 tries the same mail again a
second later, as a mail server would (later), and its latency counts from its first try. The
CPU each process used is printed beside the figures (bench/cpu.py), and per mail of the
flat-out run: CPU of the server (with its parser workers) and of PostgreSQL, commits and WAL
flushes, from the first DATA until the last mail reached the console. BENCH_MAIL_STATEMENTS=1
also logs every statement (PostgreSQL's log_min_duration_statement = 0) and counts them per
mail, by kind (logging inflates that run's CPU).

Run alone with `python -m bench.mail` or BENCH_ONLY=mail make bench.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
import psutil
from websockets.asyncio.client import connect

from bench import cpu
from bench.cost import _count_statements as count_statements
from bench.processes import process
from bench.processes import switchboard as serve
from bench.report import machine, percentile, publish
from bench.sizes import MAILS
from server.services import demo
from server.store import database

START, END = "<!-- mail:start -->", "<!-- mail:end -->"
SENDERS = 20
# A sender answered 451 (busy) tries the same mail again after this long.
RETRY_SECONDS = 1.0
# Sent to each server before the timed mails, untimed: what a process does once, at its first
# mails (the first batch's plans, the message embedder's model, read at its first pass: a
# quarter of a second of CPU), is not counted against a thousand mails' second or two.
WARM_UP = range(MAILS, MAILS + 2 * SENDERS)
# How long the warm-up mails are given to reach the console before the timed ones start.
WARM_UP_SECONDS = 3.0
STATEMENTS = os.environ.get("BENCH_MAIL_STATEMENTS", "") == "1"
# BENCH_MAIL_PROFILE=file: py-spy (the first on PATH: a profiling virtualenv of its own, else
# beside this Python) samples the server (and its parser workers) while the mails go through,
# written to ``file`` as collapsed stacks (py-spy's raw format).
PROFILE = os.environ.get("BENCH_MAIL_PROFILE", "")
# The paced run's mails a second (all senders together); 0: half the flat-out run's
# sustained rate.
RATE = float(os.environ.get("BENCH_MAIL_RATE", "0"))
# The paced run's mail numbers (after the timed ones and the warm-up's).
PACED = range(MAILS + 2 * SENDERS, 2 * MAILS + 2 * SENDERS)
# How long the console is given to show every mail of a run.
CONSOLE_SECONDS = 600


# Each mail as the email package renders an EmailMessage with these headers and set_content
# (policy SMTP: CRLF line ends), written out once: building and flattening one took 0.39 ms
# of the load generator's CPU, more than sending it.
_MAIL = (
    "From: Customer {customer} <customer{customer}@example.com>\r\n"
    "To: {inbox}\r\n"
    "Subject: Order question {n}\r\n"
    "Message-ID: <bench-{n}-{stamp}@example.com>\r\n"
    'Content-Type: text/plain; charset="utf-8"\r\n'
    "Content-Transfer-Encoding: 7bit\r\n"
    "MIME-Version: 1.0\r\n"
    "\r\n"
    "bench mail {n}: where is my order? It was due yesterday.\r\n"
    "\r\n"
    "Thanks\r\n"
)


@dataclass(frozen=True, slots=True)
class _Envelope:
    """One mail as the senders put it on the wire: its MAIL and RCPT commands, and its
    content ended by the lone dot (no line of it starts with a dot to stuff)."""

    mail_from: bytes
    rcpt_to: bytes
    data: bytes


def _envelope(n: int) -> _Envelope:
    customer = n % 200
    content = _MAIL.format(customer=customer, inbox=demo.EMAIL_INBOX, n=n, stamp=time.time_ns())
    return _Envelope(
        f"MAIL FROM:<customer{customer}@example.com>\r\n".encode(),
        f"RCPT TO:<{demo.EMAIL_INBOX}>\r\n".encode(),
        content.encode() + b".\r\n",
    )


class _Refused(Exception):
    """A 4xx reply: the server asks for the mail later (RFC 5321 4.2.1)."""


class _Client:
    """A lean SMTP client on one connection: one command, then its reply (aiosmtpd offers
    no PIPELINING), nothing parsed but the reply codes. aiosmtplib cost the load generator
    0.84 ms of CPU a mail against the bare server's 0.26 (issue 14, 20:55 UTC): the bare
    baseline measured the client, not aiosmtpd."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    @classmethod
    async def connect(cls, port: int) -> _Client:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        client = cls(reader, writer)
        await client._expect(220)
        await client._command(b"EHLO bench.example.com\r\n", 250)
        return client

    async def _reply(self) -> int:
        """The code of the next reply (its last line's, for a multi-line one)."""
        while True:
            line = await self._reader.readline()
            if len(line) < 4:
                raise ConnectionError(f"SMTP reply cut short: {line!r}")
            if line[3:4] != b"-":
                return int(line[:3])

    async def _expect(self, code: int) -> None:
        got = await self._reply()
        if got == code:
            return
        if 400 <= got < 500:
            raise _Refused(got)
        raise RuntimeError(f"SMTP answered {got}, expected {code}")

    async def _command(self, line: bytes, code: int) -> None:
        self._writer.write(line)
        await self._expect(code)

    async def send(self, mail: _Envelope) -> None:
        """One transaction; _Refused when the server answered 4xx (reset, to be sent again)."""
        try:
            await self._command(mail.mail_from, 250)
            await self._command(mail.rcpt_to, 250)
            await self._command(b"DATA\r\n", 354)
            await self._command(mail.data, 250)
        except _Refused:
            self._writer.write(b"RSET\r\n")
            await self._reply()
            raise

    async def quit(self) -> None:
        with contextlib.suppress(ConnectionError):
            await self._command(b"QUIT\r\n", 221)
        self._writer.close()
        with contextlib.suppress(ConnectionError):
            await self._writer.wait_closed()


async def _send_until_taken(client: _Client, mail: _Envelope, n: int, refused: list[int]) -> None:
    """Send mail ``n``; each 451 is noted in ``refused`` and the mail sent again after
    RETRY_SECONDS, as a sending MTA would."""
    while True:
        try:
            await client.send(mail)
            return
        except _Refused:
            refused.append(n)
            await asyncio.sleep(RETRY_SECONDS)


async def _send_all(
    port: int, sent_at: dict[int, float], refused: list[int], numbers: range = range(MAILS)
) -> float:
    """Deliver the mails ``numbers`` (by default the MAILS timed ones) from SENDERS
    connections; returns the elapsed seconds. Each 451 is counted in ``refused`` and the mail
    sent again after RETRY_SECONDS."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in numbers:
        queue.put_nowait(n)
    mails = {n: _envelope(n) for n in numbers}
    clients = await asyncio.gather(*(_Client.connect(port) for _ in range(SENDERS)))

    async def sender(client: _Client) -> None:
        while not queue.empty():
            n = queue.get_nowait()
            sent_at[n] = time.perf_counter()
            await _send_until_taken(client, mails[n], n, refused)

    started = time.perf_counter()
    try:
        await asyncio.gather(*(sender(c) for c in clients))
        return time.perf_counter() - started
    finally:
        await asyncio.gather(*(c.quit() for c in clients))


async def _send_paced(
    port: int, sent_at: dict[int, float], refused: list[int], numbers: range, rate: float
) -> float:
    """Deliver the mails ``numbers`` at ``rate`` a second in all: the k-th goes out k / rate
    seconds after the start (from sender k mod SENDERS), or as soon as its sender is free if
    that is later. Returns the elapsed seconds."""
    mails = {n: _envelope(n) for n in numbers}
    clients = await asyncio.gather(*(_Client.connect(port) for _ in range(SENDERS)))
    started = time.perf_counter()

    async def sender(first: int, client: _Client) -> None:
        for k in range(first, len(numbers), SENDERS):
            delay = started + k / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            n = numbers[k]
            sent_at[n] = time.perf_counter()
            await _send_until_taken(client, mails[n], n, refused)

    try:
        await asyncio.gather(*(sender(i, c) for i, c in enumerate(clients)))
        return time.perf_counter() - started
    finally:
        await asyncio.gather(*(c.quit() for c in clients))


def baseline(*flags: str) -> tuple[float, dict[str, float]]:
    """Mails a second the bare server (bench/bare_smtp.py, with ``flags``) accepted, and the
    CPU (in cores) it and the load generator (this process alone, not the server it started)
    used: the load generator must not be what limits the baseline."""
    command = [sys.executable, "-m", "bench.bare_smtp", *flags]
    with process(command, {}, "port", grace=5) as (child, line):
        port = int(line.split()[1])
        asyncio.run(_send_all(port, {}, [], WARM_UP))
        meter = cpu.Meter({"server": child.pid})
        own_before, started = _own_cpu(os.getpid()), time.monotonic()
        elapsed = asyncio.run(_send_all(port, {}, []))
        cores = meter.cores()
        cores["load generator"] = (_own_cpu(os.getpid()) - own_before) / (
            time.monotonic() - started
        )
        return MAILS / elapsed, cores


async def _database_counters(dsn: str) -> tuple[int, int]:
    """Commits and WAL flushes (fsyncs) so far in the bench's database."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("SELECT pg_stat_clear_snapshot()")
        commits = await conn.fetchval(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
        )
        syncs = await conn.fetchval("SELECT wal_sync FROM pg_stat_wal")
    finally:
        await conn.close()
    return int(commits), int(syncs)


# The mail's stages in the order a mail passes them (server.metrics' stage_seconds; "batch"
# is a shared transaction's, observed once per batch, "console" the whole of it: DATA ended
# to published, the time a mail holds its pending place).
STAGES = ("receipt", "queued", "parse", "understand", "store", "batch", "publish")
_SAMPLE = re.compile(r"^switchboard_stage_seconds_(bucket|sum|count)\{([^}]*)\} (\S+)$")
_LABEL = re.compile(r'(\w+)="([^"]*)"')


@dataclass
class _Stage:
    """One stage's histogram as scraped: upper bounds with cumulative counts, sum, count."""

    buckets: dict[float, float] = field(default_factory=dict)
    total: float = 0.0
    count: float = 0.0

    def minus(self, before: _Stage) -> _Stage:
        return _Stage(
            {le: n - before.buckets.get(le, 0.0) for le, n in self.buckets.items()},
            self.total - before.total,
            self.count - before.count,
        )

    def quantile(self, q: float) -> float:
        """Seconds at quantile ``q``, interpolated within its bucket (as PromQL does)."""
        rank, lower, below = q * self.count, 0.0, 0.0
        for le, n in sorted(self.buckets.items()):
            if n >= rank and n > below:
                if le == float("inf"):
                    return lower
                return lower + (le - lower) * (rank - below) / (n - below)
            lower, below = le, n
        return lower


async def _stages(http: httpx.AsyncClient) -> dict[str, _Stage]:
    """The server's mail stage histograms (GET /metrics), by stage."""
    found: dict[str, _Stage] = {}
    for line in (await http.get("/metrics")).text.splitlines():
        sample = _SAMPLE.match(line)
        if sample is None:
            continue
        kind, labels, value = sample.groups()
        named = dict(_LABEL.findall(labels))
        if named.get("channel") != "email":
            continue
        stage = found.setdefault(named["stage"], _Stage())
        if kind == "bucket":
            stage.buckets[float(named["le"])] = float(value)
        elif kind == "sum":
            stage.total = float(value)
        else:
            stage.count = float(value)
    return found


def _stage_line(before: dict[str, _Stage], after: dict[str, _Stage]) -> str:
    """Each stage's mean, p50 and p99 in ms over the run (its count a mail if not one)."""
    parts = []
    for name in (*STAGES, "console"):
        if name not in after:
            continue
        stage = after[name].minus(before.get(name, _Stage()))
        if not stage.count:
            continue
        each = "" if round(stage.count) == MAILS else f", {stage.count / MAILS:.2f} a mail"
        parts.append(
            f"{name} {stage.total / stage.count * 1000:.1f} / {stage.quantile(0.5) * 1000:.1f}"
            f" / {stage.quantile(0.99) * 1000:.1f}{each}"
        )
    return "; ".join(parts)


def _own_cpu(pid: int) -> float:
    """CPU seconds of the process ``pid`` alone (not its children)."""
    t = psutil.Process(pid).cpu_times()
    return float(t.user + t.system)


class _Console:
    """A logged-in agent console's live feed: when each bench mail's message appeared."""

    def __init__(self) -> None:
        self.seen: dict[int, float] = {}
        self._wanted: set[int] = set()
        self._all_seen = asyncio.Event()

    async def listen(self, ws: Any) -> None:
        async for raw in ws:
            # Only message.created is timed: the other frames (each mail's interpretation,
            # conversation and queue updates: several a mail, and larger) are not decoded by
            # a load generator that shares the two cores with what it measures.
            if "message.created" not in raw:
                continue
            frame: dict[str, Any] = orjson.loads(raw)
            if frame.get("name") != "message.created":
                continue
            text = frame["data"]["message"]["text"]
            if text.startswith("bench mail "):
                n = int(text.split()[2].rstrip(":"))
                self.seen.setdefault(n, time.perf_counter())
                self._wanted.discard(n)
                if not self._wanted:
                    self._all_seen.set()

    async def all_of(self, numbers: range) -> None:
        """Wait until every mail of ``numbers`` was seen."""
        self._wanted = {n for n in numbers if n not in self.seen}
        if not self._wanted:
            return
        self._all_seen.clear()
        await asyncio.wait_for(self._all_seen.wait(), CONSOLE_SECONDS)


async def switchboard(
    base: str, smtp_port: int, processes: dict[str, int], dsn: str
) -> dict[str, Any]:
    sent_at: dict[int, float] = {}
    refused: list[int] = []
    paced_refused: list[int] = []
    await _send_all(smtp_port, {}, [], WARM_UP)
    await asyncio.sleep(WARM_UP_SECONDS)
    async with httpx.AsyncClient(base_url=base) as http:
        login = {"email": demo.AGENT_EMAIL, "password": demo.AGENT_PASSWORD}
        assert (await http.post("/console/api/login", json=login)).status_code == 200
        last = (await http.get("/console/api/conversations")).json()["last_event_id"]
        cookie = "; ".join(f"{k}={v}" for k, v in http.cookies.items())
        stages_before = await _stages(http)
    ws_url = base.replace("http://", "ws://") + "/console/ws"
    console = _Console()
    async with connect(ws_url, additional_headers={"cookie": cookie}, max_size=None) as ws:
        await ws.send(orjson.dumps({"type": "hello", "last_event_id": last}).decode())
        listener = asyncio.create_task(console.listen(ws))
        commits, syncs = await _database_counters(dsn)
        meter = cpu.Meter(processes)
        # The server's own process (its event loop and threads) apart from its parser
        # workers, and this process (the senders and the console's socket): the event loop
        # is one core at most, whatever the machine has.
        own = {"server's main process": processes["server"], "load generator": os.getpid()}
        own_before = {name: _own_cpu(pid) for name, pid in own.items()}
        metered = time.monotonic()
        elapsed = await _send_all(smtp_port, sent_at, refused)
        sent_cores = meter.cores()
        sent_end = time.perf_counter()
        await console.all_of(range(MAILS))
        cores = meter.cores()
        span = time.monotonic() - metered
        own_used = {name: _own_cpu(pid) - own_before[name] for name, pid in own.items()}
        commits_after, syncs_after = await _database_counters(dsn)
        async with httpx.AsyncClient(base_url=base) as http:
            stages_mid = await _stages(http)
        flat = [(console.seen[n] - sent_at[n]) * 1000 for n in range(MAILS)]
        drained = max(0.0, max(console.seen[n] for n in range(MAILS)) - sent_end)
        sustained = MAILS / (elapsed + drained)
        rate = RATE or max(10.0, sustained / 2 // 10 * 10)
        paced_meter = cpu.Meter(processes)
        paced_elapsed = await _send_paced(smtp_port, sent_at, paced_refused, PACED, rate)
        await console.all_of(PACED)
        paced_cores = paced_meter.cores()
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listener
    async with httpx.AsyncClient(base_url=base) as http:
        stages_end = await _stages(http)
    paced = [(console.seen[n] - sent_at[n]) * 1000 for n in PACED]
    return {
        "per_s": MAILS / elapsed,
        "sent_cores": sent_cores,
        "drained": drained,
        "sustained": sustained,
        "flat_p50": percentile(flat, 0.5),
        "flat_p99": percentile(flat, 0.99),
        "refused": len(refused),
        "cores": cores,
        "elapsed": elapsed,
        # CPU milliseconds per mail, from the first DATA to the last mail in the console.
        "per_mail": {
            **{name: used * span * 1000 / MAILS for name, used in cores.items()},
            **{name: seconds * 1000 / MAILS for name, seconds in own_used.items()},
        },
        "commits": (commits_after - commits) / MAILS,
        "syncs": (syncs_after - syncs) / MAILS,
        "load": os.getloadavg()[0],
        "stages": _stage_line(stages_before, stages_mid),
        "rate": rate,
        "paced_per_s": len(PACED) / paced_elapsed,
        "paced_p50": percentile(paced, 0.5),
        "paced_p99": percentile(paced, 0.99),
        "paced_refused": len(paced_refused),
        "paced_cores": paced_cores,
        "paced_stages": _stage_line(stages_mid, stages_end),
    }


@contextlib.contextmanager
def _profiled(pid: int) -> Iterator[None]:
    """py-spy on the server and its workers for the block (BENCH_MAIL_PROFILE), else nothing."""
    if not PROFILE:
        yield
        return
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    command = [spy, "record", "--pid", str(pid), "--subprocesses", "--nonblocking"]
    child = subprocess.Popen([*command, "--format", "raw", "--output", PROFILE])
    try:
        yield
    finally:
        child.send_signal(signal.SIGINT)
        child.wait(timeout=30)


def _split(cores: dict[str, float]) -> str:
    return ", ".join(f"{name} {used:.2f}" for name, used in cores.items())


def run() -> str:
    with tempfile.TemporaryDirectory(prefix="sbmail") as tmp:
        embedded = database.EmbeddedPostgres(Path(tmp) / "pg")
        dsn = embedded.start()
        env = {
            "SWITCHBOARD_DATABASE_URL": dsn,
            "SWITCHBOARD_DATA_DIR": str(Path(tmp) / "data"),
            "SWITCHBOARD_NLU_ENGINE": "none",
            "SWITCHBOARD_LOG_LEVEL": "WARNING",
        }
        try:
            bare, bare_cores = baseline()
            lean, lean_cores = baseline("--lean")
            pgdata = Path(tmp) / "pg" / "postgres"
            postgres = cpu.postmaster(pgdata)
            if STATEMENTS:
                asyncio.run(_log_statements(dsn))
            with serve(env, demo=True) as server:
                assert server.smtp_port is not None, "SMTP is off"
                processes = {"server": server.child.pid, "PostgreSQL": postgres}
                mark = (pgdata / "log").stat().st_size if STATEMENTS else 0
                with _profiled(server.child.pid):
                    figures = asyncio.run(
                        switchboard(server.base_url, server.smtp_port, processes, dsn)
                    )
                if STATEMENTS:
                    count_statements(pgdata / "log", mark, MAILS)
                    asyncio.run(_print_functions(dsn))
        finally:
            embedded.stop()
    f = figures
    per_mail: dict[str, float] = f["per_mail"]
    return "\n".join(
        [
            f"## Inbound mail — {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
            "",
            f"Command: `make bench` (or `python -m bench.mail`). Machine: {machine()}"
            f"; Switchboard as `switchboard serve` with embedded"
            f" PostgreSQL 16 on the same box, 2 parser workers, NLU off. {MAILS:,} mails from"
            f" {SENDERS} concurrent SMTP connections (bench/mail.py's lean client) flat out,"
            f" then {len(PACED):,} more at {f['rate']:,.0f} mails/s.",
            "",
            "| scenario | figure |",
            "|---|---:|",
            "| baseline: bare aiosmtpd in its own process, answering 250, storing nothing, flat"
            f" out | {bare:,.0f} mails/s (CPU: {_split(bare_cores)}) |",
            "| baseline: the same, reading MAIL's and RCPT's addresses as Switchboard does"
            f" (bench/bare_smtp.py --lean), flat out | {lean:,.0f} mails/s (CPU:"
            f" {_split(lean_cores)}) |",
            "| Switchboard, flat out: accepted (raw mail on disk before each 250) |"
            f" {f['per_s']:,.0f} mails/s (CPU while sending: {_split(f['sent_cores'])}) |",
            "| Switchboard, flat out: the last mail in the agent console, after the last 250 |"
            f" {f['drained']:.1f} s |",
            "| Switchboard, flat out: sustained processing (mails in the console a second,"
            f" first DATA to the last one shown) | {f['sustained']:,.0f} mails/s |",
            f"| Switchboard, paced at {f['rate']:,.0f} mails/s: DATA → message in the agent"
            f" console's live feed, p50 / p99 | {f['paced_p50']:.0f} / {f['paced_p99']:.0f} ms"
            f" (CPU: {_split(f['paced_cores'])}) |",
            f"| answered 451 (busy) and sent again, flat out / paced | {f['refused']:,} /"
            f" {f['paced_refused']:,} |",
            "",
            f"Ratio Switchboard/bare acceptance: {f['per_s'] / bare:.2f}x against aiosmtpd as"
            f" it comes, {f['per_s'] / lean:.2f}x against the lean one (aiosmtpd 1.4 builds a"
            " class on every MAIL and RCPT to read the address, about 90 us each, which"
            " Switchboard's sessions do not). Each 250 waits for"
            " the raw mail's INSERT, shared by the DATAs that arrive together, and for nothing"
            " else: parsing (worker processes), threading, storing and publishing follow in the"
            " background, and while mail pours in they take a part of a batch only when the"
            " arrivals pause, or once a second (server/services/mailroom.py), so the backlog"
            " builds during the flat-out run and drains after it (the time and the sustained"
            " rate above). Flat out, a mail waits behind that backlog: DATA → console p50 /"
            f" p99 {f['flat_p50']:.0f} / {f['flat_p99']:.0f} ms. The paced run sends at a rate"
            " the node sustains, so its latency is a mail's own. CPU per mail of the flat-out"
            " run, first DATA to last mail in the console: "
            + ", ".join(f"{name} {ms:.1f} ms" for name, ms in per_mail.items())
            + f", {f['commits']:.2f} commits and {f['syncs']:.2f} WAL flushes (cores are CPU"
            f" seconds per second of the run; load average {f['load']:.1f} at its end).",
            "",
            "Where a mail's time goes, stage by stage (the server's switchboard_stage_seconds,"
            " mean / p50 / p99 ms; p50 and p99 interpolated in the histogram's buckets), flat"
            " out: "
            + f["stages"]
            + "; paced: "
            + f["paced_stages"]
            + ". receipt: the raw mail stored; queued: waiting to be processed; parse: in a"
            " worker process, with the wait for one; understand: language, sentiment; store:"
            " the grouped transaction, with the wait for a writer; batch: that transaction (once"
            " a batch); publish: to the consoles; console: DATA ended to published, for the"
            " mails processed from memory.",
        ]
    )


async def _print_functions(dsn: str) -> None:
    """Each PL/pgSQL function's (triggers') calls and own time per mail, over the whole run."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT funcname, calls, self_time FROM pg_stat_user_functions ORDER BY self_time DESC"
        )
    finally:
        await conn.close()
    for r in rows:
        print(
            f"  fn {r['funcname']:40} calls {r['calls'] / MAILS:.2f}"
            f" self {r['self_time'] / MAILS * 1000:.1f} us/mail"
        )


async def _log_statements(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("ALTER SYSTEM SET log_min_duration_statement = 0")
        await conn.execute("ALTER SYSTEM SET track_functions = 'pl'")
        await conn.execute("SELECT pg_reload_conf()")
    finally:
        await conn.close()


def main() -> None:
    publish(run(), START, END)


if __name__ == "__main__":
    main()
