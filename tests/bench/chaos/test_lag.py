"""The nodes' loop lag and busy refusals as the storm's notes summarise them."""

from __future__ import annotations

from bench.chaos.lag import LagWatch, Sample, read, route_depth

PAGE = """# HELP switchboard_event_loop_lag_seconds How late
# TYPE switchboard_event_loop_lag_seconds gauge
switchboard_event_loop_lag_seconds 0.25
switchboard_refused_total{channel="webchat"} 40.0
switchboard_refused_total{channel="slack"} 2.0
"""


def test_a_metrics_page_gives_the_lag_and_every_channels_refusals() -> None:
    assert read(PAGE) == (0.25, 42.0)
    assert read("") == (0.0, 0.0)


def test_a_window_counts_samples_past_the_limit_and_refusals_risen_within_it() -> None:
    watch = LagWatch([("node1", "http://a"), ("node2", "http://b")])
    watch.samples = [
        Sample(9.0, "node1", 0.01, 10.0),  # before: the refusals' starting point
        Sample(10.0, "node1", 0.30, 12.0),
        Sample(11.0, "node1", 0.05, 30.0),
        Sample(10.5, "node2", 0.90, 5.0),  # node2's first reading is inside: from there
        Sample(11.5, "node2", 0.20, 9.0),
        Sample(13.0, "node1", 2.00, 99.0),  # after the window
    ]
    watch.unanswered = [(10.2, "node2"), (11.8, "node1"), (12.5, "node1")]  # two within
    window = watch.window(10.0, 12.0, limit=0.1)
    assert (window.samples, window.over, window.highest) == (4, 3, 0.90)
    assert window.unanswered == 2
    assert window.refused == (30.0 - 10.0) + (9.0 - 5.0)
    assert window.line(0.1) == (
        "nodes' loop lag past 100 ms in 3 of 4 samples (highest 0.90 s; 2 polls unanswered"
        " within 5 s), 24 messages refused"
    )
    assert watch.window(20.0, 21.0, limit=0.1).line(0.1) == "no loop-lag samples"


def test_a_window_says_the_routing_queue_and_how_long_the_checks_took() -> None:
    page = PAGE + 'switchboard_queue_depth{queue="route"} 2000.0\n'
    assert route_depth(page) == 2000.0
    assert route_depth(PAGE) == 0.0
    watch = LagWatch([("node1", "http://a")])
    watch.samples = [
        Sample(10.0, "node1", 0.01, 0.0, route=2000.0, check=0.02),
        Sample(10.5, "node1", 0.01, 0.0, route=1500.0, check=None),  # not answered
        Sample(11.0, "node1", 0.01, 0.0, route=100.0, check=0.50),
    ]
    assert watch.window(10.0, 12.0, limit=0.1).line(0.1) == (
        "nodes' loop lag past 100 ms in 0 of 3 samples (highest 0.01 s; 0 polls unanswered"
        " within 5 s), 0 messages refused; routing queue 1,500 at the median (highest 2,000);"
        " /readyz on the health port in 0.26 s at the median, 0.50 s at p95, 0.50 s at most"
    )
