"""Scenario 5, the reconnect storm: thousands of idle widget sockets dropped at once, and how
fast they come back, against a bare ``websockets`` server driven by the same client code.

What drops them is what operators meet: a hard restart of the proxy (``haproxy -st``, the new
process takes the listening port and the old one ends at once, closing every connection it
held; a configuration change applied by a restart, or the proxy's host failing over, look the
same to the widgets). The baseline is dropped the same way: new bare servers take the port
(SO_REUSEPORT) and the old ones are killed.

The idle sockets live in processes of their own (``python -m bench.chaos.storm clients``), so
their handshakes do not slow the counted traffic's event loop, and the same code drives the
cluster and the baseline: connect, ``hello``, wait for ``welcome``; when the socket closes, the
widget's own back-off (channels/webchat/static/widget.js: a delay uniform in [0, 0.5 s], doubled
on each failure up to 15 s, reset once a socket opens), and again. The rate is the sockets back
divided by the time from the first close any of them saw to the last ``welcome``.

Lines on stdout: for Switchboard, ``sessions N`` once every widget has its session (its
sockets open on a ``connect`` line on stdin, so the sessions may be asked for long before);
``ready N`` once every socket is open and greeted; then, after the drop, ``storm back=N of=M
first=T0 last=T1 attempts=A failures=F why=... stuck=... times=...`` once every one is back
(or the wait is over; T0 the first close, T1 the last welcome, on the machine's monotonic
clock). The process holds the sockets until its stdin closes. A process may open 20,000 files
here, so the crowd and the bare server are spread over processes of SOCKETS_PER_PROCESS
sockets each (the bare servers share their port, as the proxy's processes do;
cluster.Cluster.proxies).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import math
import random
import re
import resource
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import orjson
import uvloop
from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException

from bench.chaos import cpu

# Sockets opened (and sessions created) at once while the idle crowd is built, before the drop.
CONCURRENCY = 200
# The longest the storm may take before the clients report what came back.
STORM_WITHIN = 300.0
# widget.js sets no timeout of its own on the handshake or the welcome: it waits until the
# socket closes, which the proxy (timeout connect, timeout http-request) and the node (no hello in
# 10-30 s: 4408) bound. The clients waited 30 s for each, then closed and tried again, so on
# a loaded machine a handshake still in a node's queues was abandoned and paid for twice
# (61,175 such timeouts in the 11:54 UTC storm). This bound only keeps a lost socket from
# holding the harness.
STALLED = 120.0
# Upgrades one client process has in flight at once. Unbounded, each process opened all of
# its 6,667 sockets again at once after the drop; on a loaded machine it could not send their
# upgrade requests within HAProxy's 10 s (timeout http-request), so most tries failed in the
# open step and were made again: in the 14:46 UTC bare storm beside the chaos traffic,
# 47,430 sockets closed under the upgrade and 9,312 408s for 20,000 back (69/s). That is the
# load generator's own congestion: a browser drives its own socket, and no widget's upgrade
# waits for another's. A try waiting here is waiting, not failing; at 500 a process a quiet
# storm (upgrades of tens of milliseconds) is not held back.
OPENING = 500
# Sockets one process holds: a process may open 20,000 files here (root may not raise it).
SOCKETS_PER_PROCESS = 7000
INBOX = "demo-web"


def widget_delay(failures: int) -> float:
    """The widget's wait before its next try: uniform in [0, backoff], backoff 0.5 s doubled
    after each try that did not open, up to 15 s (widget.js ``again``)."""
    return random.uniform(0, min(15.0, 0.5 * 2**failures))


# The steps of a try, named in the tally of failed tries: the TCP connection and the HTTP
# upgrade (``open``), then the hello sent and the welcome awaited (``welcome``). Under a loaded
# machine most tries of a storm failed with a socket closed without a close frame (94,323 of
# a bare storm's 113,755 at 14:07 UTC), and which step it happened in tells a proxy or server
# giving up on a slow client from a client that gave up itself.
OPEN, WELCOME = "open", "welcome"


def reason(exc: BaseException) -> str:
    """A failed try's kind, for the storm's tally: the step it failed in (when known), the
    exception's name, with the HTTP status of a refused upgrade or the close code of a socket
    closed before its welcome."""
    name = type(exc).__name__
    if isinstance(exc, InvalidStatus):
        name = f"{name}{exc.response.status_code}"
    elif isinstance(exc, ConnectionClosed):
        name = f"{name}{exc.rcvd.code if exc.rcvd is not None else ''}"
    steps = [note for note in getattr(exc, "__notes__", ()) if note in (OPEN, WELCOME)]
    return f"{steps[-1]}:{name}" if steps else name


EXPECTED = (OSError, TimeoutError, WebSocketException, ValueError)
_told: set[str] = set()


def _unexpected(exc: Exception) -> None:
    """The first traceback of each kind of failure other than the network's, on stderr."""
    name = type(exc).__name__
    if not isinstance(exc, EXPECTED) and name not in _told:
        _told.add(name)
        traceback.print_exception(exc, file=sys.stderr)


def _tally(counts: Counter[str]) -> str:
    """``name:count`` pairs joined by ``;`` (one word on the storm line), or ``-``."""
    return ";".join(f"{k}:{v}" for k, v in counts.most_common()) or "-"


def _untally(text: str) -> Counter[str]:
    found: Counter[str] = Counter()
    for pair in text.split(";"):
        name, _, count = pair.rpartition(":")
        if name:
            found[name] += int(count)
    return found


def raise_file_limit(wanted: int) -> None:
    """Room for ``wanted`` descriptors (root may raise the hard limit too)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= wanted:
        return
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(wanted, hard), max(wanted, hard)))
        return
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))


@dataclass
class Sockets:
    """One process's idle sockets, and when each was dropped and came back."""

    ws_url: str
    tokens: list[str | None]
    opened: int = 0
    back: int = 0
    first_close: float | None = None
    last_welcome: float = 0.0
    # When each socket was greeted again (monotonic seconds).
    welcomes: list[float] = field(default_factory=list)
    attempts: int = 0
    failures: int = 0
    # Why the tries after the drop failed (reason() names them), and what each widget is
    # doing (opening, held, dropped, trying, waiting): one never back says where it stuck.
    why: Counter[str] = field(default_factory=Counter)
    phase: dict[int, str] = field(default_factory=dict)
    returned: set[int] = field(default_factory=set)
    all_open: asyncio.Event = field(default_factory=asyncio.Event)
    all_back: asyncio.Event = field(default_factory=asyncio.Event)
    # The upgrades in flight at once (OPENING).
    opening: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(OPENING))

    async def widget(self, me: int, token: str | None, gate: asyncio.Semaphore) -> None:
        failures = 0
        closes = 0
        first = True
        self.phase[me] = "opening"
        hello = orjson.dumps({"type": "hello", "token": token}).decode()
        while True:
            try:
                if first:
                    async with gate:
                        ws = await self._greeted(hello)
                else:
                    self.attempts += 1
                    self.phase[me] = "trying"
                    ws = await self._greeted(hello)
            except Exception as exc:
                # Any failure is a try to make again, as widget.js does on its socket's error
                # or close. Under load the websockets client can fail a handshake with an
                # AssertionError (17.4); caught only as the network's errors, it ended 3,334
                # of a storm's 20,000 widgets, which then never came back (11:51 UTC).
                _unexpected(exc)
                if not first:  # the tries after the drop are what the storm counts
                    self.failures += 1
                    self.why[reason(exc)] += 1
                    self.phase[me] = "waiting"
                await asyncio.sleep(widget_delay(failures))
                failures += 1
                continue
            failures = 0
            if first:
                first = False
                self.opened += 1
                if self.opened == len(self.tokens):
                    self.all_open.set()
            elif closes == 1:
                self.back += 1
                self.returned.add(me)
                self.last_welcome = time.monotonic()
                self.welcomes.append(self.last_welcome)
                if self.back == len(self.tokens):
                    self.all_back.set()
            self.phase[me] = "held"
            try:
                await ws.wait_closed()
            finally:
                closes += 1
                now = time.monotonic()
                if self.first_close is None:
                    self.first_close = now
            self.phase[me] = "dropped"
            await asyncio.sleep(widget_delay(0))
            failures = 1

    def stuck(self, tasks: list[asyncio.Task[None]]) -> Counter[str]:
        """What the widgets not back are doing: a phase, or how their task ended."""
        found: Counter[str] = Counter()
        for me, task in enumerate(tasks):
            if task.done() and not task.cancelled() and task.exception() is not None:
                found[f"ended:{type(task.exception()).__name__}"] += 1
            elif me not in self.returned:
                found[self.phase.get(me, "unknown")] += 1
        return found

    async def _greeted(self, hello: str) -> ClientConnection:
        try:
            async with self.opening:
                ws = await connect(
                    self.ws_url, open_timeout=STALLED, ping_interval=None, max_size=None
                )
        except Exception as exc:
            exc.add_note(OPEN)
            raise
        try:
            await ws.send(hello)
            frame = orjson.loads(await asyncio.wait_for(ws.recv(), STALLED))
            if frame.get("type") != "welcome":
                raise ValueError(f"not welcomed: {frame}")
        except BaseException as exc:
            if isinstance(exc, Exception):
                exc.add_note(WELCOME)
            await ws.close()
            raise
        return ws


async def _sessions(base: str, count: int) -> list[str | None]:
    gate = asyncio.Semaphore(CONCURRENCY)
    # A pooled connection is dropped before the server's keep-alive (uvicorn: 5 s) ends it.
    limits = httpx.Limits(max_connections=CONCURRENCY, keepalive_expiry=2.0)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as http:

        async def one() -> str:
            while True:
                async with gate:
                    with contextlib.suppress(httpx.HTTPError, KeyError, ValueError):
                        answer = await http.post("/api/webchat/sessions", json={"inbox": INBOX})
                        if answer.status_code == 201:
                            token: str = answer.json()["token"]
                            return token
                await asyncio.sleep(random.uniform(0, 1))

        return list(await asyncio.gather(*(one() for _ in range(count))))


async def clients(kind: str, base: str, count: int) -> None:
    raise_file_limit(count + 1024)
    loop = asyncio.get_running_loop()
    if kind == "switchboard":
        tokens = await _sessions(base, count)
        ws_url = base.replace("http://", "ws://") + "/ws/webchat"
        # The sessions may be asked for long before the storm (the scenario asks before its
        # traffic starts); the sockets open when the harness says so.
        print(f"sessions {len(tokens)}", flush=True)
        await loop.run_in_executor(None, sys.stdin.readline)
    else:
        tokens = [None] * count
        ws_url = base.replace("http://", "ws://")
    crowd = Sockets(ws_url, tokens)
    gate = asyncio.Semaphore(CONCURRENCY)
    tasks = [asyncio.create_task(crowd.widget(n, t, gate)) for n, t in enumerate(tokens)]
    await crowd.all_open.wait()
    print(f"ready {crowd.opened}", flush=True)
    while crowd.first_close is None:  # noqa: ASYNC110 (set by whichever socket closes first)
        await asyncio.sleep(0.01)
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(STORM_WITHIN):
            await crowd.all_back.wait()
    # Monotonic clock readings: the same clock in every process of this machine.
    print(
        f"storm back={crowd.back} of={count} first={crowd.first_close:.6f}"
        f" last={crowd.last_welcome:.6f} attempts={crowd.attempts} failures={crowd.failures}"
        f" why={_tally(crowd.why)} stuck={_tally(crowd.stuck(tasks))}"
        f" times={','.join(f'{t:.4f}' for t in crowd.welcomes)}",
        flush=True,
    )
    await loop.run_in_executor(None, sys.stdin.read)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def bare_server(port: int) -> None:
    """The baseline: a bare websockets server that answers ``hello`` as Switchboard's web chat
    does (a ``welcome``), and holds the socket; same library, event loop, heartbeat, (no)
    compression and listen backlog as the nodes' sockets."""
    from server.settings import Settings

    backlog: int = Settings.model_fields["listen_backlog"].default
    raise_file_limit(SOCKETS_PER_PROCESS * 2 + 1024)
    welcome = orjson.dumps(
        {"type": "welcome", "visitor_id": "bare", "conversation_id": None, "resume_after": 0}
    ).decode()

    async def greet(ws: ServerConnection) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for _ in ws:
                await ws.send(welcome)

    async with serve(
        greet, "127.0.0.1", port, reuse_port=True, max_size=64 * 1024, ping_interval=20,
        compression=None, backlog=backlog,
    ):  # fmt: skip
        print(f"port {port}", flush=True)
        await asyncio.Future()


# -- the harness's side -------------------------------------------------------------------------


@dataclass(frozen=True)
class Storm:
    """One storm's outcome: ``back`` of ``of`` sockets greeted again, ``seconds`` from the first
    close any saw to the last welcome; tries made after the drop, and those that failed."""

    back: int
    of: int
    seconds: float
    attempts: int
    failures: int
    # Seconds from the first close until 90 % of the sockets were greeted again: the rate
    # without the last stragglers (a SYN dropped from a full backlog waits 1 s, then 3).
    seconds_90: float = 0.0
    # CPU seconds the serving side used from the drop until every socket was back (or the
    # wait was over): the servers, the proxy, and for the cluster Postgres and Redis.
    cpu: float = 0.0
    # The failed tries by kind (storm.reason), and the sockets not back by what they were
    # doing when the clients reported (a phase of Sockets.widget, or ended:<exception>).
    why: Counter[str] = field(default_factory=Counter)
    stuck: Counter[str] = field(default_factory=Counter)
    # When the first socket closed and the last was greeted again (monotonic seconds, the
    # same clock in every process of the machine): the storm's window.
    began: float = 0.0
    # CPU seconds the load generator (the idle widgets' processes) used from their last
    # socket greeted until their report: the same client code for either target, so more
    # here is more failed tries (each costs the clients a handshake too) on the same cores.
    clients_cpu: float = 0.0

    @property
    def cpu_ms_each(self) -> float:
        """Serving CPU milliseconds per socket greeted again."""
        return 1000 * self.cpu / max(self.back, 1)

    @property
    def rate(self) -> float:
        return self.back / max(self.seconds, 1e-6)

    @property
    def rate_90(self) -> float:
        return 0.9 * self.of / max(self.seconds_90, 1e-6)

    @classmethod
    def of_lines(cls, lines: list[str]) -> Storm:
        """The whole storm from each client process's ``storm`` line."""
        parts = [dict(re.findall(r"(\w+)=([0-9.]+)\b", line)) for line in lines]
        times = sorted(
            float(t) for line in lines for t in line.split("times=")[-1].split(",") if t.strip()
        )
        back = sum(int(p["back"]) for p in parts)
        first = min(float(p["first"]) for p in parts)
        last = max(float(p["last"]) for p in parts if int(p["back"])) if back else first
        why: Counter[str] = Counter()
        stuck: Counter[str] = Counter()
        for line in lines:
            words = dict(w.split("=", 1) for w in line.split() if "=" in w)
            why += _untally(words.get("why", "-"))
            stuck += _untally(words.get("stuck", "-"))
        return cls(
            back,
            sum(int(p["of"]) for p in parts),
            last - first,
            sum(int(p["attempts"]) for p in parts),
            sum(int(p["failures"]) for p in parts),
            _ninety(times, sum(int(p["of"]) for p in parts)) - first,
            why=why,
            stuck=stuck,
            began=first,
        )

    @property
    def ended(self) -> float:
        """When the last socket was greeted again (monotonic seconds)."""
        return self.began + self.seconds

    def tallies(self) -> str:
        """Why tries failed and where the sockets not back were, for a note."""
        failed = _tally(self.why) if self.why else "none"
        stuck = f"; not back: {_tally(self.stuck)}" if self.stuck else ""
        return f"failed tries: {failed}{stuck}"


def _ninety(times: list[float], of: int) -> float:
    """When 90 % of ``of`` sockets were back; infinity if fewer came back."""
    wanted = math.ceil(0.9 * of)
    if len(times) < wanted or wanted == 0:
        return math.inf
    return times[wanted - 1]


def processes_for(count: int) -> int:
    """Processes to hold ``count`` sockets, each well within a process's open files."""
    return max(1, math.ceil(count / SOCKETS_PER_PROCESS))


class Process:
    """A child of this module (idle clients, or a bare server), read line by line."""

    def __init__(self, *args: str) -> None:
        from bench.processes import ROOT

        self.what = args[0]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.chaos.storm", *args],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def line(self, prefix: str) -> str:
        """The next line starting with ``prefix`` (blocking); the child ending first is an
        error. Callers with a deadline run it in a thread and ``close()`` past it."""
        assert self.proc.stdout is not None
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"the storm's {self.what} ended before '{prefix}'")
            if line.startswith(prefix):
                return line.strip()

    def say(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def close(self) -> None:
        from bench.processes import stop

        if self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        stop(self.proc, grace=30)
        if self.proc.stdout is not None:
            self.proc.stdout.close()

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


class Crowd:
    """``count`` idle widgets against ``url`` (``kind``: switchboard or bare), spread over
    processes; blocking calls, for a thread."""

    def __init__(self, kind: str, url: str, count: int) -> None:
        n = processes_for(count)
        shares = [count // n + (1 if i < count % n else 0) for i in range(n)]
        self.children = [Process("clients", kind, url, str(share)) for share in shares]
        self._sessions = self._connecting = kind != "switchboard"
        self._cpu_ready = 0.0

    def sessions(self) -> None:
        """Every widget has its session (switchboard), and no socket is open yet."""
        if not self._sessions:
            for child in self.children:
                child.line("sessions")
            self._sessions = True

    def ready(self) -> None:
        """Every socket open and greeted (after the sessions, asked for now if not yet)."""
        if not self._connecting:
            self.sessions()
            for child in self.children:
                child.say("connect")
            self._connecting = True
        for child in self.children:
            child.line("ready")
        self._cpu_ready = cpu.seconds(child.proc.pid for child in self.children)

    def storm(self) -> Storm:
        outcome = Storm.of_lines([child.line("storm") for child in self.children])
        used = cpu.seconds(child.proc.pid for child in self.children) - self._cpu_ready
        return dataclasses.replace(outcome, clients_cpu=used)

    def close(self) -> None:
        for child in self.children:
            child.close()


def bare_storm(count: int, servers: int = 0, proxied: bool = False) -> Storm:
    """The baseline, blocking: ``count`` sockets held by ``servers`` bare server processes
    sharing one port (0: as many as the crowd's), and the same clients' storm.

    Direct (``proxied`` False), the servers are replaced: a new set takes the port and the old
    one is killed. ``proxied``, the sockets go through HAProxy with the cluster's own
    configuration and the proxy is restarted hard, as the cluster's storm is: the same drop,
    the same proxy, the same number of server processes as nodes, so that the ratio measures
    what Switchboard's handshake costs beyond a bare one."""
    from bench.processes import free_port

    port = free_port()
    n = servers or processes_for(count)
    live = [Process("bare", str(port)) for _ in range(n)]
    crowd: Crowd | None = None
    proxy: BareProxy | None = None
    try:
        for server in live:
            server.line("port")
        if proxied:
            proxy = BareProxy(port, processes=math.ceil((count + 500) / 8000))
            proxy.start()
            crowd = Crowd("bare", proxy.url, count)
            crowd.ready()
            servers_pids = [server.proc.pid for server in live]
            before = cpu.seconds(servers_pids)
            proxy.restart()
            outcome = crowd.storm()
            used = cpu.seconds(servers_pids + proxy.pids) - before
            return dataclasses.replace(outcome, cpu=used)
        crowd = Crowd("bare", f"http://127.0.0.1:{port}", count)
        crowd.ready()
        fresh = [Process("bare", str(port)) for _ in range(n)]
        for server in fresh:
            server.line("port")
        before = cpu.seconds(server.proc.pid for server in fresh)
        old, live = live, live + fresh
        for server in old:
            server.kill()
        outcome = crowd.storm()
        used = cpu.seconds(server.proc.pid for server in fresh) - before
        return dataclasses.replace(outcome, cpu=used)
    finally:
        if crowd is not None:
            crowd.close()
        if proxy is not None:
            proxy.stop()
        for server in live:
            server.close()


class BareProxy:
    """HAProxy with the cluster's configuration (deploy/haproxy/haproxy.cfg.template) in front
    of the bare servers' shared port (unchecked: they serve no /readyz), restarted hard as the
    cluster's is."""

    def __init__(self, port: int, processes: int = 1) -> None:
        # Not at the top: the client processes import this module, and need none of it.
        from bench.chaos.proxy import Proxy, haproxy_template
        from bench.processes import free_port

        self.port = free_port()
        self._dir = tempfile.TemporaryDirectory(prefix="sbbare")
        config = haproxy_template().format(
            proxy_port=self.port,
            smtp_port=free_port(),
            stats_port=free_port(),
            http_servers=f"    server bare 127.0.0.1:{port}",
            smtp_servers=f"    server bare 127.0.0.1:{port}",
        )
        root = Path(self._dir.name)
        self.proxy = Proxy("haproxy", root, root / "haproxy.log", config, processes)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proxy.start()
        deadline = time.monotonic() + 20
        while True:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), 0.2),
            ):
                return
            if time.monotonic() > deadline:
                raise RuntimeError("the bare storm's haproxy did not listen")
            time.sleep(0.05)

    def restart(self) -> None:
        self.proxy.restart()

    @property
    def pids(self) -> list[int]:
        return self.proxy.pids

    def stop(self) -> None:
        self.proxy.stop()
        self._dir.cleanup()


def main() -> None:
    if sys.argv[1] == "clients":
        uvloop.run(clients(sys.argv[2], sys.argv[3], int(sys.argv[4])))
    elif sys.argv[1] == "bare":
        uvloop.run(bare_server(int(sys.argv[2])))
    else:
        raise SystemExit("usage: python -m bench.chaos.storm clients KIND URL N | bare PORT")


if __name__ == "__main__":
    main()
