"""The event loop's lateness (server/pipeline/pressure.py): past the limit, only a share of new
messages is refused, growing with the lateness, so one stall does not cost a whole backlog."""

from __future__ import annotations

from server.pipeline.pressure import RAMP, LoopLag


async def test_up_to_the_limit_nothing_is_refused() -> None:
    lag = LoopLag(limit=0.1)
    try:
        lag.lag = 0.1
        assert not lag.overloaded
        assert not any(lag.refuse() for _ in range(100))
    finally:
        await lag.close()


async def test_just_past_the_limit_only_a_share_is_refused_evenly() -> None:
    # Binary fractions, so the shares add up exactly.
    lag = LoopLag(limit=0.5)
    try:
        # A quarter of the way from the limit to all refused: one message in four.
        lag.lag = 0.5 + 0.25 * 0.5 * (RAMP - 1)
        assert lag.overloaded
        refused = [lag.refuse() for _ in range(100)]
        assert sum(refused) == 25
        assert refused[:8] == [False, False, False, True] * 2
    finally:
        await lag.close()


async def test_far_past_the_limit_every_message_is_refused() -> None:
    lag = LoopLag(limit=0.1)
    try:
        lag.lag = 0.1 * RAMP
        assert all(lag.refuse() for _ in range(50))
        lag.lag = 3.0
        assert all(lag.refuse() for _ in range(50))
    finally:
        await lag.close()


async def test_a_share_owed_is_forgotten_once_the_loop_has_caught_up() -> None:
    lag = LoopLag(limit=0.5)
    try:
        lag.lag = 0.5 + 0.875 * 0.5 * (RAMP - 1)
        assert not lag.refuse()  # 0.875 owed
        lag.lag = 0.25
        assert not lag.refuse()
        # Past the limit again, just: the old 0.875 does not make the first one refused.
        lag.lag = 0.5 + 0.25 * 0.5 * (RAMP - 1)
        assert not lag.refuse()
    finally:
        await lag.close()
