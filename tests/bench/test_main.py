"""`make bench`'s own arithmetic: what "sustained" means for a run of rising steps."""

from __future__ import annotations

from bench.__main__ import sustained
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
