"""The fake Rasa the cluster's nodes talk to (it can be made down, slow or failing), and the
cluster made whole before each test (each module builds its own ``cluster``: HAProxy or
nginx in front)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bench.chaos.cluster import Cluster
from bench.chaos.fake_rasa import FakeRasa


@pytest.fixture(scope="module")
def rasa() -> Iterator[FakeRasa]:
    fake = FakeRasa()
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def whole(cluster: Cluster) -> Cluster:
    """Every node up and the proxy routing to them, whatever the test before left."""
    for node in cluster.nodes:
        if not node.running:
            cluster.start_node(node)
        cluster.wait_ready(node)
    cluster.wait_proxy_ready()
    return cluster
