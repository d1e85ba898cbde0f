"""The proxies' configurations (deploy/haproxy/haproxy.cfg.template, deploy/nginx.conf) as
bench/chaos/proxy.py runs them, in front of two stand-in nodes: one that takes each request
and closes the connection without an answer (a node killed holding it), one that answers.
What may be sent again goes to the other node and is answered; what may not reaches the
client as the proxy's 502. Sent one at a time, the requests alternate between the two nodes
(neither holds a connection when the next comes), so each kind meets the dying one."""

from __future__ import annotations

import contextlib
import tempfile
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from bench.chaos.proxy import Ports, Proxy, Upstream, haproxy_config, nginx_config
from bench.processes import free_port

TRIES = 12


class _Answering(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _answer(self, status: int) -> None:
        length = int(self.headers.get("content-length") or 0)
        self.rfile.read(length)
        self.send_response(status)
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def do_GET(self) -> None:
        self._answer(200)

    def do_POST(self) -> None:
        self._answer(201)

    def log_message(self, *args: object) -> None:
        pass


class _Dying(_Answering):
    """Answers its health check; takes anything else and closes without a word."""

    def do_GET(self) -> None:
        if self.path == "/readyz":
            self._answer(200)
        else:
            self._vanish()

    def do_POST(self) -> None:
        self._vanish()

    def _vanish(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self.close_connection = True


@contextlib.contextmanager
def _served(handler: type[BaseHTTPRequestHandler]) -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(params=["haproxy", "nginx"])
def proxy(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    """(kind, url) of a proxy in front of a dying node and an answering one."""
    kind: str = request.param
    try:
        Proxy.binary(kind)
    except RuntimeError:
        pytest.skip(f"{kind} is not installed (`make system-deps` installs it)")
    with (
        _served(_Dying) as dying,
        _served(_Answering) as answering,
        tempfile.TemporaryDirectory(prefix="sbp") as folder,
    ):
        root = Path(folder)
        nodes = [
            Upstream("dying", dying, free_port()),
            Upstream("answering", answering, free_port()),
        ]
        ports = Ports(free_port(), free_port(), free_port())
        config = (
            nginx_config(nodes, ports, root) if kind == "nginx" else haproxy_config(nodes, ports)
        )
        running = Proxy(kind, root, root / "proxy.log", config, processes=1)
        running.start()
        url = f"http://127.0.0.1:{ports.http}"
        try:
            deadline = time.monotonic() + 20
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                        break
                assert time.monotonic() < deadline, (root / "proxy.log").read_text()
                time.sleep(0.1)
            yield kind, url
        finally:
            running.stop()


# What a client hears when its request was not answered: the proxy's 502, or (HAProxy, on a
# connection kept alive) the connection closed without an answer, as the node left it.
NOT_ANSWERED = 0


def _statuses(url: str, method: str, path: str, body: bytes = b"") -> list[int]:
    found = []
    with httpx.Client(base_url=url, timeout=20) as http:
        for _ in range(TRIES):
            try:
                found.append(http.request(method, path, content=body or None).status_code)
            except httpx.RemoteProtocolError:
                found.append(NOT_ANSWERED)
    return found


def _refused(statuses: list[int]) -> bool:
    return bool({502, NOT_ANSWERED} & set(statuses))


def test_reads_files_replies_and_webhooks_are_sent_again_to_the_living_node(
    proxy: tuple[str, str],
) -> None:
    _kind, url = proxy
    assert set(_statuses(url, "GET", "/console/api/queue")) == {200}
    for path in (
        "/api/webchat/files",
        "/console/api/conversations/c1/messages",
        "/channels/telegram/webhook",
        "/channels/slack/events",
    ):
        assert set(_statuses(url, "POST", path, b'{"client_id": "x"}')) == {201}, path


def test_a_post_not_safe_to_repeat_is_not_sent_twice(proxy: tuple[str, str]) -> None:
    """The dying node took it: the client is told it was not answered (and asks again if it
    may); no second copy goes to the other node."""
    _kind, url = proxy
    assert _refused(_statuses(url, "POST", "/console/api/conversations/c1/resolve", b"{}"))


def test_a_keyless_session_is_not_sent_again_a_keyed_one_is_behind_haproxy(
    proxy: tuple[str, str],
) -> None:
    """A session POST without a key or token, sent again, would make a second visitor and
    leave the first behind. HAProxy reads the body; nginx cannot, and sends no session POST
    again once a node took it (the widget asks again itself, with its key); nginx's marking
    the dying node down after the first failure sends the rest to the living one."""
    kind, url = proxy
    keyless = _statuses(url, "POST", "/api/webchat/sessions", b'{"inbox": "web"}')
    assert _refused(keyless)
    keyed = _statuses(
        url, "POST", "/api/webchat/sessions", b'{"inbox": "web", "key": "k' + b"x" * 30 + b'"}'
    )
    if kind == "haproxy":
        assert set(keyed) == {201}
        with_token = b'{"inbox": "web", "token": "t.x"}'
        assert set(_statuses(url, "POST", "/api/webchat/sessions", with_token)) == {201}


def test_haproxy_checks_a_node_with_a_health_port_there() -> None:
    """Each node's server line checks its health port (`check port N`), for HTTP and SMTP;
    one without a health port is checked on its HTTP port."""
    nodes = [Upstream("a", 8000, 2525, health_port=8081), Upstream("b", 9000, 2526)]
    config = haproxy_config(nodes, Ports(80, 25, 81))
    assert "server a 127.0.0.1:8000 check port 8081 observe layer4" in config
    assert "server a 127.0.0.1:2525 check port 8081\n" in config
    assert "server b 127.0.0.1:9000 check observe layer4" in config
    assert "server b 127.0.0.1:2526 check port 9000\n" in config
    assert "server a-backup 127.0.0.1:8000 backup" in config


class _Named(_Answering):
    """Answers every request with its port; its /readyz answers 503, as a node's main port
    too busy to answer its check in time."""

    def do_GET(self) -> None:
        if self.path == "/readyz":
            self._answer(503)
            return
        name = str(self.request.getsockname()[1]).encode()
        self.send_response(200)
        self.send_header("content-length", str(len(name)))
        self.end_headers()
        self.wfile.write(name)


def test_haproxy_keeps_a_node_whose_health_port_says_ready() -> None:
    """A node is in rotation by its health port's answer, whatever its main port's /readyz
    says: with both nodes' main ports unready and only ``a`` checked on a ready health port,
    every request goes to ``a`` (``b`` is down; the backups wait until none is up)."""
    try:
        Proxy.binary("haproxy")
    except RuntimeError:
        pytest.skip("haproxy is not installed (`make system-deps` installs it)")
    with (
        _served(_Named) as a,
        _served(_Named) as b,
        _served(_Answering) as a_health,
        tempfile.TemporaryDirectory(prefix="sbp") as folder,
    ):
        root = Path(folder)
        nodes = [
            Upstream("a", a, free_port(), health_port=a_health),
            Upstream("b", b, free_port()),
        ]
        ports = Ports(free_port(), free_port(), free_port())
        running = Proxy("haproxy", root, root / "proxy.log", haproxy_config(nodes, ports), 1)
        running.start()
        try:
            url = f"http://127.0.0.1:{ports.http}"
            time.sleep(3.5)  # b's two failed checks a second apart, a's two good ones
            with httpx.Client(base_url=url, timeout=5) as http:
                answered = {http.get("/api/anything").text for _ in range(TRIES)}
            assert answered == {str(a)}, (root / "proxy.log").read_text()
        finally:
            running.stop()
