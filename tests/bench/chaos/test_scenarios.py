"""The reconnect storm's notes (scenario 5): how busy the machine was during each storm, and
the cluster's CPU a reconnect once the traffic's share is taken out."""

from __future__ import annotations

from bench.chaos.lag import LagWatch, Sample
from bench.chaos.ledger import Ledger
from bench.chaos.scenarios import ReconnectStorm
from bench.chaos.storm import Storm


def _storm() -> ReconnectStorm:
    fault = ReconnectStorm(idle=100)
    fault.bare = Storm(100, 100, 10.0, 100, 0, 9.0, cpu=5.0, began=100.0)
    fault.cluster = Storm(100, 100, 20.0, 150, 50, 18.0, cpu=30.0, began=200.0, clients_cpu=12.5)
    return fault


def test_the_traffic_acknowledged_during_each_storm_is_counted_in_its_own_window() -> None:
    fault = _storm()
    ledger = Ledger("r")
    for acked in (99.0, 105.0, 109.0, 150.0, 205.0, 230.0):
        ledger.new("webchat", 0).acked_at = acked
    ledger.new("webchat", 1)  # never acknowledged
    fault.ledger = ledger
    bare, cluster = fault.windows()
    assert bare.startswith("during the bare storm (10.0 s): traffic acknowledged 2 (0/s)")
    assert cluster.startswith("during the cluster storm (20.0 s): traffic acknowledged 1 (0/s)")
    assert "proxy took a node out" in cluster
    assert "the load generator used 12.5 CPU s" in cluster
    assert "proxy took a node out" not in bare


def test_the_nodes_lag_is_read_over_each_storm() -> None:
    fault = _storm()
    watch = LagWatch([("node1", "http://a")])
    watch.samples = [Sample(105.0, "node1", 0.02, 0.0), Sample(210.0, "node1", 0.5, 80.0)]
    fault._watch = watch
    bare, cluster = fault.windows()
    assert "past 100 ms in 0 of 1 samples" in bare
    # Refusals counted from the last reading before the window (0, during the bare storm).
    assert "past 100 ms in 1 of 1 samples (highest 0.50 s; 0 polls" in cluster
    assert "within 5 s), 80 messages refused" in cluster


def test_the_clusters_storm_cpu_leaves_out_what_the_traffic_took_a_second() -> None:
    fault = _storm()
    fault._traffic_cpu = 0.5  # CPU seconds a second while the bare storm ran
    fault._cluster_wall = 40.0  # the cluster storm's CPU counted over 40 s
    # 30 s used, 20 of them the traffic's: 10 s for 100 reconnects.
    assert "storm took 100.00 ms a reconnect (10.0 of 30.0 s over 40 s)" in fault.storm_cpu()
    assert fault.storm_cpu().endswith("against the bare 50.00 ms")
    assert ReconnectStorm(idle=1).storm_cpu() == "storm CPU: not measured"
