"""The cluster's reverse proxy: HAProxy (the default) or nginx, each configured from the file an
operator would use (deploy/haproxy/haproxy.cfg.template; deploy/nginx.conf and
deploy/nginx-smtp.conf) with this machine's ports filled in, run as ``processes`` processes
sharing the proxy's ports (SO_REUSEPORT: the kernel spreads the connections; one process may
open 20,000 files here, and a proxied connection takes two), and restarted hard as operators
meet it: new processes take the ports, then the old ones end at once, closing every connection
they held.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.chaos import cpu
from bench.processes import ROOT, stop

DEPLOY = ROOT / "deploy"
KINDS = ("haproxy", "nginx")


@dataclass(frozen=True)
class Upstream:
    """A node as the proxy sees it: ``health_port``, where its checks go (the node's
    SWITCHBOARD_HEALTH_PORT; unset: its HTTP port)."""

    name: str
    http_port: int
    smtp_port: int
    health_port: int | None = None

    @property
    def checked_on(self) -> int:
        return self.health_port if self.health_port is not None else self.http_port


@dataclass(frozen=True)
class Ports:
    """Where the proxy listens: HTTP and WebSocket, SMTP, and HAProxy's statistics page."""

    http: int
    smtp: int
    stats: int


# A checked node that refuses a connection is marked down at once (the template says why).
OBSERVED = "observe layer4 error-limit 1 on-error mark-down"


def haproxy_template() -> str:
    """deploy/haproxy/haproxy.cfg.template: the braced names left to fill in."""
    return (DEPLOY / "haproxy" / "haproxy.cfg.template").read_text()


def haproxy_config(nodes: Sequence[Upstream], ports: Ports) -> str:
    """HTTP and WebSocket on one port, the SMTP stream on another. A node gets traffic while
    its /readyz answers 200 (checked every second on its health port, or its HTTP port
    without one; two failures to leave, two successes to come back). When no node is ready
    (Postgres or Redis down makes them all unready), the same nodes are used as backups
    without a check: they answer "unavailable" themselves (web chat: no ack; SMTP 451;
    webhooks 503), which a client retries, rather than the proxy's bare 503 or a closed
    connection."""
    http = "\n".join(
        f"    server {n.name} 127.0.0.1:{n.http_port} check{_port(n)} {OBSERVED}\n"
        f"    server {n.name}-backup 127.0.0.1:{n.http_port} backup"
        for n in nodes
    )
    smtp = "\n".join(
        f"    server {n.name} 127.0.0.1:{n.smtp_port} check port {n.checked_on}\n"
        f"    server {n.name}-backup 127.0.0.1:{n.smtp_port} backup"
        for n in nodes
    )
    return haproxy_template().format(
        proxy_port=ports.http,
        smtp_port=ports.smtp,
        stats_port=ports.stats,
        http_servers=http,
        smtp_servers=smtp,
    )


def _port(node: Upstream) -> str:
    """`` port N`` for a node checked on a health port of its own (the template says why)."""
    return f" port {node.health_port}" if node.health_port is not None else ""


def _servers(text: str, port: int, addresses: Sequence[int]) -> str:
    """docker-compose's ``server switchboard-N:<port> <parameters>;`` lines in ``text`` made
    one line per address on loopback, with the same parameters."""
    line = re.compile(rf"^(\s*)server switchboard-\d+:{port}\b(.*);\n", re.MULTILINE)
    found = line.search(text)
    if found is None:
        raise ValueError(f"no 'server switchboard-N:{port}' line to fill in")
    indent, parameters = found.group(1), found.group(2)
    filled = "".join(f"{indent}server 127.0.0.1:{a}{parameters};\n" for a in addresses)
    text = line.sub("", text)
    return text[: found.start()] + filled + text[found.start() :]


def _listen(text: str, port: int, local: int) -> str:
    replaced, n = re.subn(
        rf"^(\s*)listen {port};", rf"\1listen 127.0.0.1:{local} reuseport;", text, flags=re.M
    )
    if n != 1:
        raise ValueError(f"no single 'listen {port};' to fill in")
    return replaced


def nginx_config(nodes: Sequence[Upstream], ports: Ports, root: Path) -> str:
    """deploy/nginx.conf and deploy/nginx-smtp.conf as docker-compose mounts them, in a main
    configuration of our own (the processes' limits, paths under ``root``), with the nodes'
    ports for docker-compose's replicas and the proxy's ports for its own."""
    site = (DEPLOY / "nginx.conf").read_text()
    site = _listen(_servers(site, 8000, [n.http_port for n in nodes]), 80, ports.http)
    smtp = (DEPLOY / "nginx-smtp.conf").read_text()
    smtp = _listen(_servers(smtp, 2525, [n.smtp_port for n in nodes]), 2525, ports.smtp)
    temp = root / "nginx"
    # As root, nginx's workers would run as nobody, who may not write under ``root``.
    user = "user root;\n" if os.geteuid() == 0 else ""
    paths = "\n".join(
        f"    {kind}_temp_path {temp / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    # Debian builds the stream module apart (libnginx-mod-stream); others build it in.
    stream = Path("/usr/lib/nginx/modules/ngx_stream_module.so")
    load = f"load_module {stream};\n" if stream.exists() else ""
    return (
        f"{load}{user}worker_processes 1;\n"
        # Two connections (client and node) a proxied socket, within a process's files.
        "worker_rlimit_nofile 20000;\n"
        "events {\n    worker_connections 19000;\n}\n"
        f"http {{\n    access_log off;\n{paths}\n\n{site}}}\n"
        f"stream {{\n{smtp}}}\n"
    )


class Proxy:
    """``processes`` processes of the proxy of ``kind`` on the same ports, configured with
    ``config`` (written under ``root``), logging to ``log``."""

    def __init__(self, kind: str, root: Path, log: Path, config: str, processes: int) -> None:
        if kind not in KINDS:
            raise ValueError(f"proxy: one of {', '.join(KINDS)}, not {kind!r}")
        self.kind = kind
        self.root = root
        self.log = log
        self.processes = processes
        self.config = root / f"{kind}.conf"
        self.config.write_text(config)
        self._procs: list[subprocess.Popen[bytes]] = []
        self._spawned = 0

    @staticmethod
    def binary(kind: str) -> str:
        found = shutil.which(kind) or (
            f"/usr/sbin/{kind}" if Path(f"/usr/sbin/{kind}").exists() else None
        )
        if found is None:
            raise RuntimeError(f"{kind} is missing: `make system-deps` installs it")
        return found

    def _pid_file(self, n: int) -> Path:
        return self.root / "nginx" / f"nginx-{n}.pid"

    def _spawn(self, replacing: subprocess.Popen[bytes] | None = None) -> subprocess.Popen[bytes]:
        self._spawned += 1
        if self.kind == "haproxy":
            extra = ["-st", str(replacing.pid)] if replacing is not None else []
            command = [self.binary("haproxy"), "-db", "-f", str(self.config), *extra]
        else:
            for kind in ("", "client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
                (self.root / "nginx" / kind).mkdir(parents=True, exist_ok=True)
            pid_file = self._pid_file(self._spawned)
            command = [
                self.binary("nginx"), "-p", str(self.root), "-c", str(self.config),
                "-e", str(self.log), "-g", f"daemon off; pid {pid_file};",
            ]  # fmt: skip
        with self.log.open("ab") as out:
            proc = subprocess.Popen(
                command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        if self.kind == "nginx":
            # nginx writes its pid file once it has bound its ports.
            deadline = time.monotonic() + 20
            while not pid_file.exists():
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"nginx did not start (see {self.log})")
                time.sleep(0.02)
            if replacing is not None:
                replacing.send_signal(signal.SIGTERM)  # a fast shutdown: connections closed
        return proc

    def start(self) -> None:
        self._procs = [self._spawn() for _ in range(self.processes)]

    def restart(self) -> None:
        """A hard restart: each new process binds the same ports, then the old one ends at
        once, closing every connection it held. Returns once the old ones have exited."""
        old = self._procs
        self._procs = [self._spawn(replacing=proc) for proc in old]
        for proc in old:
            proc.wait(30)

    def stop(self) -> None:
        for proc in self._procs:
            stop(proc, grace=5)
        self._procs = []

    @property
    def pids(self) -> list[int]:
        """The living processes, nginx's workers with their master."""
        living = [proc.pid for proc in self._procs if proc.poll() is None]
        return living + [child for pid in living for child in cpu.children(pid)]

    @property
    def first(self) -> subprocess.Popen[bytes]:
        return self._procs[0]
