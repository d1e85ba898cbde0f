"""A Switchboard cluster on this machine: nodes behind HAProxy (or nginx), one Postgres, one
Redis.

The shape of docker-compose.yml on loopback: every node is a `switchboard serve` on ports of
its own, sharing one Postgres (an embedded pgserver, or the URL given) and one Redis
(redis-server on a free port); HAProxy in front proxies HTTP and WebSocket to the nodes that
answer /readyz, and the SMTP stream likewise. The chaos scenarios and the tests drive the
faults through this class: kill -9 and restart a node, stop and start Postgres or Redis on
the same address, so that what the nodes see is what they would see in production.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx

from bench import stand_ins
from bench.chaos import cpu
from bench.chaos.outbound import Received, Recording, Relay
from bench.chaos.proxy import Ports, Proxy, Upstream, haproxy_config, nginx_config
from bench.chaos.serving import ThreadedApp
from bench.processes import ROOT, free_port, stop

SERVE = [sys.executable, "-m", "server.cli", "serve"]
SECRET_KEY = "cluster-secret-key-" + "k" * 32
NLU_CACHE = ROOT / "var" / "nlu"  # where `switchboard nlu train` keeps it too
TELEGRAM_SECRET = "cluster-telegram-secret"
TELEGRAM_PATH = "/channels/telegram/webhook"
# A node loads its models in about half a minute on two idle cores; far longer while other
# test runs share them (seen: past 180 s at a load average of 16).
READY_TIMEOUT = 600.0


@dataclass
class Node:
    """One `switchboard serve`; its output goes to ``log`` (appended across restarts)."""

    name: str
    http_port: int
    smtp_port: int
    log: Path
    # Its /readyz, /healthz and /metrics on a listener of their own (server/http/health.py),
    # where the proxy checks it.
    health_port: int
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def health_url(self) -> str:
        return f"http://127.0.0.1:{self.health_port}"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


@dataclass
class Cluster:
    """Start with ``start()`` (or ``running()``), stop with ``stop()``. ``root`` holds the
    data, the logs and the proxy's configuration; keep its path short (Postgres' socket)."""

    root: Path
    size: int = 3
    database_url: str | None = None
    rasa_url: str | None = None
    # More SWITCHBOARD_* settings for every node.
    env: dict[str, str] = field(default_factory=dict)
    # A Telegram Bot API stand-in (bench/stand_ins.py) the nodes talk to; updates come in
    # through the proxy's webhook.
    telegram: bool = True
    telegram_api: stand_ins.Apis = field(default_factory=stand_ins.Apis)
    # Slack's Web API stand-in (bench/stand_ins.py) and signed events through the proxy.
    slack: bool = True
    # Where replies go out: an SMTP relay here (outbound.Relay), the stand-ins' record.
    relay: bool = True
    received: Received = field(default_factory=Received)
    # The proxy in front: "haproxy" or "nginx" (bench/chaos/proxy.py), and how many of its
    # processes share its ports (SO_REUSEPORT: the kernel spreads the connections). One holds
    # 9,000 connections (two descriptors each, within a process's open files: 20,000 here,
    # which root may not raise); the reconnect storm's 20,000 idle sockets need three.
    proxy: str = "haproxy"
    proxies: int = 1
    nodes: list[Node] = field(default_factory=list)
    proxy_port: int = 0
    proxy_smtp_port: int = 0
    stats_port: int = 0
    redis_port: int = 0
    dsn: str = ""
    _embedded: object | None = None
    _redis: subprocess.Popen[bytes] | None = None
    _proxy: Proxy | None = None
    _telegram_served: ThreadedApp | None = None
    _slack_served: ThreadedApp | None = None
    _relay: Relay | None = None

    # -- the whole -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The proxy: what customers, agents and webhooks reach."""
        return f"http://127.0.0.1:{self.proxy_port}"

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(exist_ok=True)
        Proxy.binary(self.proxy)  # missing: say so before starting anything
        self.proxy_port, self.proxy_smtp_port = free_port(), free_port()
        self.stats_port, self.redis_port = free_port(), free_port()
        self.dsn = self.database_url or self._start_postgres()
        if self.telegram:
            # The benchmark's own stand-in (getMe, setWebhook, sendMessage), served here;
            # every sendMessage recorded.
            app = stand_ins._telegram(self.telegram_api)
            recorded = Recording(app, "telegram", self.received, {"sendMessage"})
            self._telegram_served = ThreadedApp(recorded)
            self._telegram_served.start()
            self.telegram_api.telegram_url = self._telegram_served.url
        if self.slack:
            recorded = Recording(stand_ins._slack(), "slack", self.received, {"chat.postMessage"})
            self._slack_served = ThreadedApp(recorded)
            self._slack_served.start()
            self.telegram_api.slack_url = self._slack_served.url
        if self.relay:
            self._relay = Relay(self.received)
            self._relay.start()
        self.start_redis()
        self._seed()
        self.nodes = [
            Node(
                f"node{i + 1}",
                free_port(),
                free_port(),
                self.logs / f"node{i + 1}.log",
                health_port=free_port(),
            )
            for i in range(self.size)
        ]
        for node in self.nodes:
            self._spawn(node)
        for node in self.nodes:
            self.wait_ready(node)
        upstreams = [Upstream(n.name, n.http_port, n.smtp_port, n.health_port) for n in self.nodes]
        ports = Ports(self.proxy_port, self.proxy_smtp_port, self.stats_port)
        if self.proxy == "nginx":
            config = nginx_config(upstreams, ports, self.root)
        else:
            config = haproxy_config(upstreams, ports)
        log = self.logs / f"{self.proxy}.log"
        self._proxy = Proxy(self.proxy, self.root, log, config, self.proxies)
        self._proxy.start()
        self._wait_port(self.proxy_port, self._proxy.first, self.proxy)
        self.wait_proxy_ready()

    def restart_proxy(self) -> None:
        """A hard restart of the proxy (``haproxy -st``; nginx's fast shutdown): each new
        process binds the same ports, then the old one ends at once, closing every connection
        it held. Returns once the old ones have exited."""
        assert self._proxy is not None
        self._proxy.restart()

    def stop(self) -> None:
        if self._proxy is not None:
            self._proxy.stop()
        for node in self.nodes:
            self.stop_node(node)
        self.stop_redis()
        for served in (self._telegram_served, self._slack_served):
            if served is not None:
                served.stop()
        if self._relay is not None:
            self._relay.stop()
        if self._embedded is not None:
            self._embedded.stop()  # type: ignore[attr-defined]
            self._embedded = None

    @contextlib.contextmanager
    def running(self) -> Iterator[Cluster]:
        try:
            self.start()
            yield self
        finally:
            self.stop()

    def describe(self) -> str:
        from server.services import demo

        lines = [
            f"Switchboard cluster of {self.size} nodes behind {self.proxy}",
            f"  web chat demo : {self.url}/",
            f"  agent console : {self.url}/console",
            f"  inbound SMTP  : 127.0.0.1:{self.proxy_smtp_port}",
            *(
                [f"  proxy stats   : http://127.0.0.1:{self.stats_port}/"]
                if self.proxy == "haproxy"
                else []
            ),
            f"  redis         : {self.redis_url}",
            f"  postgres      : {self.dsn}",
            f"  demo agent    : {demo.AGENT_EMAIL} / {demo.AGENT_PASSWORD}",
        ]
        if self._relay is not None:
            lines.append(f"  replies relay : {self._relay.url} (a stand-in: mail stops here)")
        if self._slack_served is not None:
            lines.append(f"  Slack events  : {self.url}/channels/slack/events (Web API stand-in)")
        lines += [
            f"  {n.name:13} : {n.url} (SMTP {n.smtp_port}, checks {n.health_port}, log {n.log})"
            for n in self.nodes
        ]
        return "\n".join(lines)

    def server_pids(self, proxy: bool = True) -> list[int]:
        """Every process that serves the cluster's clients: the nodes, the proxies (unless
        ``proxy`` is False: before a restart of the proxy, whose old processes take the CPU
        they used with them), Postgres (its postmaster and backends, when embedded) and
        Redis; for CPU accounting."""
        pids = [n.proc.pid for n in self.nodes if n.proc is not None and n.running]
        pids += self._proxy.pids if self._proxy is not None and proxy else []
        if self._redis is not None:
            pids.append(self._redis.pid)
        with contextlib.suppress(OSError, ValueError, IndexError):
            postmaster = int((self.root / "postgres" / "postmaster.pid").read_text().split()[0])
            pids += [postmaster, *cpu.children(postmaster)]
        return pids

    # -- nodes -----------------------------------------------------------------------------

    def node_env(self) -> dict[str, str]:
        env = {
            "SWITCHBOARD_DATABASE_URL": self.dsn,
            "SWITCHBOARD_REDIS_URL": self.redis_url,
            "SWITCHBOARD_SECRET_KEY": SECRET_KEY,
            "SWITCHBOARD_PUBLIC_URL": self.url,
            "SWITCHBOARD_ALLOWED_ORIGINS": f'["{self.url}"]',
            # Only the proxy reaches the nodes: its X-Forwarded-For is the client's address.
            "SWITCHBOARD_FORWARDED_ALLOW_IPS": "127.0.0.1",
            "SWITCHBOARD_LOG_JSON": "true",
            "SWITCHBOARD_NLU_ENGINE": "rasa" if self.rasa_url else "none",
            # The demo's admin retires the bootstrap token otherwise (as `serve --demo`).
            "SWITCHBOARD_ADMIN_TOKEN_ALWAYS": "1",
        }
        if self.rasa_url:
            env["SWITCHBOARD_RASA_URL"] = self.rasa_url
            # Even with Rasa each node loads the embedded model (for the project's languages):
            # one copy, trained once by _seed, rather than three nodes training their own.
            env["SWITCHBOARD_NLU_CACHE_DIR"] = str(NLU_CACHE)
        if self.telegram:
            env["SWITCHBOARD_TELEGRAM_BOT_TOKEN"] = stand_ins.TELEGRAM_TOKEN
            env["SWITCHBOARD_TELEGRAM_API_URL"] = self.telegram_api.telegram_url
            env["SWITCHBOARD_TELEGRAM_WEBHOOK_URL"] = "https://chaos.example.com" + TELEGRAM_PATH
            env["SWITCHBOARD_TELEGRAM_WEBHOOK_SECRET"] = TELEGRAM_SECRET
        if self.slack:
            env["SWITCHBOARD_SLACK_SIGNING_SECRET"] = stand_ins.SLACK_SIGNING_SECRET
            env["SWITCHBOARD_SLACK_BOT_TOKEN"] = stand_ins.SLACK_TOKEN
            env["SWITCHBOARD_SLACK_API_URL"] = self.telegram_api.slack_url + "/api/"
        if self._relay is not None:
            env["SWITCHBOARD_SMTP_RELAY_URL"] = self._relay.url
        return {**env, **self.env}

    def _spawn(self, node: Node) -> None:
        data = self.root / node.name
        data.mkdir(exist_ok=True)
        env = {
            **os.environ,
            **self.node_env(),
            "SWITCHBOARD_DATA_DIR": str(data),
            "SWITCHBOARD_PORT": str(node.http_port),
            "SWITCHBOARD_SMTP_PORT": str(node.smtp_port),
            "SWITCHBOARD_HEALTH_PORT": str(node.health_port),
        }
        with node.log.open("ab") as out:
            node.proc = subprocess.Popen(
                SERVE, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )  # fmt: skip
        node.starts += 1

    def wait_ready(self, node: Node, timeout: float = READY_TIMEOUT) -> float:
        """Wait until ``node`` answers /readyz with 200; the seconds it took."""
        began = time.monotonic()
        while True:
            if node.proc is None or node.proc.poll() is not None:
                tail = node.log.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{node.name} exited before it was ready:\n{tail}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{node.url}/readyz", timeout=3).status_code == 200:
                    return time.monotonic() - began
            if time.monotonic() - began > timeout:
                tail = node.log.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{node.name} not ready within {timeout:g} s:\n{tail}")
            time.sleep(0.2)

    def kill_node(self, node: Node) -> None:
        """kill -9: no goodbye to its sockets, its leases or its half-done work."""
        if node.proc is not None and node.proc.poll() is None:
            node.proc.send_signal(signal.SIGKILL)
            node.proc.wait()

    def stop_node(self, node: Node, grace: float = 30) -> None:
        """SIGTERM (a rolling restart's graceful stop), SIGKILL after ``grace`` seconds."""
        if node.proc is not None:
            stop(node.proc, grace=grace)

    def start_node(self, node: Node, wait: bool = True) -> None:
        self._spawn(node)
        if wait:
            self.wait_ready(node)

    def wait_proxy_ready(self, timeout: float = 60) -> None:
        """Until the proxy sends traffic to a ready node (its readiness checks run every s)."""
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(httpx.HTTPError):
                answer = httpx.get(f"{self.url}/readyz", timeout=3)
                if answer.status_code == 200:
                    return
            if time.monotonic() > deadline:
                raise RuntimeError("the proxy has no ready node")
            time.sleep(0.2)

    # -- Redis -----------------------------------------------------------------------------

    def start_redis(self) -> None:
        """redis-server on ``redis_port`` (the same address after a restart), nothing on disk."""
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is missing: `make system-deps` installs it")
        args = [binary, "--port", str(self.redis_port), "--bind", "127.0.0.1", "--save", ""]
        args += ["--appendonly", "no", "--dir", str(self.root)]
        with (self.logs / "redis.log").open("ab") as out:
            self._redis = subprocess.Popen(
                args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        self._wait_port(self.redis_port, self._redis, "redis-server")

    def stop_redis(self, kill: bool = False) -> None:
        if self._redis is None:
            return
        if kill:
            self._redis.kill()
            self._redis.wait()
        else:
            stop(self._redis, grace=10)
        self._redis = None

    # -- Postgres --------------------------------------------------------------------------

    def _start_postgres(self) -> str:
        from server.store.database import EmbeddedPostgres

        embedded = EmbeddedPostgres(self.root)
        dsn = embedded.start()
        self._embedded = embedded
        return dsn

    def _pg_ctl(self, *args: str) -> None:
        if self._embedded is None:
            raise RuntimeError("only the embedded Postgres can be stopped and started")
        from pgserver import _commands

        pgdata = (self.root / "postgres").resolve()
        # Root runs Postgres as pgserver's 'pgserver' user, which alone may signal it.
        user = "pgserver" if os.geteuid() == 0 else None
        # pgserver makes its command functions at import time (mypy cannot see them).
        pg_ctl = _commands.pg_ctl  # type: ignore[attr-defined]
        pg_ctl(["-w", *args], pgdata=pgdata, user=user, timeout=120)

    def stop_postgres(self, mode: str = "fast") -> None:
        """``fast``: sessions are ended, as a restart does; ``immediate``: as a crash."""
        self._pg_ctl("-m", mode, "stop")

    def start_postgres(self) -> None:
        socket_dir = parse_qs(urlsplit(self.dsn).query)["host"][0]
        self._pg_ctl("-o", '-h ""', "-o", f"-k {socket_dir}", "start")

    # -- helpers ---------------------------------------------------------------------------

    def _seed(self) -> None:
        """Migrate and seed the demo data once, before the nodes start (and, with Rasa, have
        the embedded model the nodes load ready)."""
        env = {**os.environ, **self.node_env(), "SWITCHBOARD_DATA_DIR": str(self.root)}
        commands = [["seed-demo"]]
        if self.rasa_url:
            commands.append(["nlu", "train", "--no-rasa", "--cache", str(NLU_CACHE)])
        with (self.logs / "seed.log").open("ab") as out:
            for command in commands:
                subprocess.run(
                    [sys.executable, "-m", "server.cli", *command],
                    cwd=ROOT,
                    env=env,
                    check=True,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )

    @staticmethod
    def _wait_port(port: int, proc: subprocess.Popen[bytes], what: str) -> None:
        deadline = time.monotonic() + 20
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                return
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not listen on port {port}")
            time.sleep(0.05)
