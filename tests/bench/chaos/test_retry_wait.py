"""The chaos traffic's widgets wait as widget.js does before offering a refused message again
(tests/e2e/test_widget_retry_browser.py checks the widget itself)."""

from __future__ import annotations

import random

import pytest

from bench.chaos.traffic import retry_wait

BUSY = {"type": "error", "code": "busy", "retry_after": 1.0}


def test_a_busy_wait_grows_with_the_refusals_up_to_15_s_never_under_the_hint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(random, "uniform", lambda low, high: high)  # the span's top
    assert [retry_wait(BUSY, n) for n in range(7)] == [1.0, 2.0, 4.0, 8.0, 15.0, 15.0, 15.0]
    monkeypatch.setattr(random, "uniform", lambda low, high: low)  # its bottom: the hint
    assert [retry_wait(BUSY, n) for n in range(3)] == [1.0, 1.0, 1.0]
    assert retry_wait({**BUSY, "retry_after": 5.0}, 1) == 5.0
    assert retry_wait({**BUSY, "retry_after": 0.2}, 0) == 1.0
    # The database away: 3 s each time, whatever came before.
    assert [retry_wait({"type": "error", "code": "unavailable"}, n) for n in (0, 5)] == [3.0, 3.0]


def test_the_waits_are_spread_over_the_back_off() -> None:
    waits = [retry_wait(BUSY, 4) for _ in range(2000)]
    assert min(waits) == 1.0
    assert 14.0 < max(waits) <= 15.0
    assert 7.0 < sum(waits) / len(waits) < 8.5
