"""`make bench`'s own arithmetic: what "sustained" means for a run of rising steps, and how
the web chat's ratio to the echo is said."""

from __future__ import annotations

from bench.__main__ import ceilings, sustained
from bench.load import Result


def step(offered: float, achieved: float, lost: int = 0) -> Result:
    return Result(offered, achieved, 5.0, 20.0, lost)


def test_sustained_is_the_highest_step_served_in_full_with_every_step_below() -> None:
    steady = [step(500, 499), step(1000, 998), step(2000, 1996)]
    assert sustained(steady) == 1996
    # 2,000 failed (lost messages), 2,500 passed: 1,000 is what the node sustains.
    unsteady = [step(500, 499), step(1000, 998), step(2000, 1098, lost=900), step(2500, 2467)]
    assert sustained(unsteady) == 998
    assert sustained([step(500, 300)]) == 0.0


def test_an_echo_that_served_every_step_makes_the_ratio_an_upper_bound() -> None:
    # The run of 2026-12-06 23:37 (Xeon): steps stopping at 2,500 had read 1.00x.
    sb = [step(1000, 998), step(2000, 1996), step(3000, 2738), step(6000, 3470)]
    echo = [step(1000, 998), step(2000, 1995), step(3000, 2993), step(6000, 5983)]
    text = ceilings(sb, echo)
    assert "Switchboard 1996 msg/s, echo 5983 msg/s" in text
    assert "capacity is at least 5983 msg/s" in text
    # Its own capacity may be up to the 3,470 it served at 6,000 offered.
    assert "Switchboard served at most 3470 at any step, so the ratio is at most 0.58" in text
    assert "At 2,000 msg/s offered (issue 14's target): Switchboard 1996 at p99 20.0 ms" in text
    assert "the echo 1995 (1.00x)" in text


def test_a_saturated_echo_gives_a_plain_ratio() -> None:
    sb = [step(1000, 998), step(4000, 2100)]
    echo = [step(1000, 998), step(4000, 3000)]
    text = ceilings(sb, echo)
    assert "ratio 1.00." in text  # both sustained 998: the highest step each served in full
    assert "at most" not in text
    assert "target" not in text  # no step at 2,000
