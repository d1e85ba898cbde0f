"""The same cluster behind nginx instead of HAProxy, configured from deploy/nginx.conf and
deploy/nginx-smtp.conf as docker-compose mounts them (bench/chaos/proxy.py fills in the
ports): the faults that lean on the proxy lose nothing there either. nginx has no active
health checks, so what keeps a customer's request alive is its passive marking-down of a node
that refuses connections and its sending a request that never got an answer to another node
(``proxy_next_upstream``; for the session POST, the files, the agent's reply and the
webhooks, also after the node took it).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.chaos import scenarios
from bench.chaos.cluster import Cluster
from bench.chaos.counts import table
from bench.chaos.fake_rasa import FakeRasa
from tests.cluster.expect import assert_nothing_lost

SIZE = scenarios.REDUCED


@pytest.fixture(scope="module")
def cluster(rasa: FakeRasa) -> Iterator[Cluster]:
    # A short path: Postgres' unix socket lives under it.
    with (
        tempfile.TemporaryDirectory(prefix="sbn", dir="/tmp") as root,
        Cluster(
            Path(root), rasa_url=rasa.url, env=scenarios.LOAD_ENV, proxy="nginx"
        ).running() as running,
    ):
        yield running


async def test_kill_nine_of_two_nodes_behind_nginx_loses_nothing(whole: Cluster) -> None:
    figures = await scenarios.run(whole, "kill -9 (nginx)", scenarios.node_kills, SIZE)
    assert_nothing_lost(figures)
    assert figures.reconnects > 0, table([figures])


async def test_a_rolling_restart_behind_nginx_shows_nothing_but_reconnects(
    whole: Cluster,
) -> None:
    """A draining node still gets requests from nginx (it cannot see /readyz) until it stops
    listening; then each refused connection goes to another node."""
    figures = await scenarios.run(whole, "rolling (nginx)", scenarios.rolling_restart, SIZE)
    assert_nothing_lost(figures)
