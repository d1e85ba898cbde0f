"""The chaos traffic's widgets wait as widget.js does before offering a refused message again
(tests/e2e/test_widget_retry_browser.py checks the widget itself)."""

from __future__ import annotations

import random

import pytest

from bench.chaos.traffic import retry_wait

BUSY = {"type": "error", "code": "busy", "retry_after": 1.0}


def test_a_busy_wait_is_the_hint_and_up_to_half_of_it_more(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(random, "uniform", lambda low, high: high)  # the span's top
    assert retry_wait(BUSY) == 1.5
    assert retry_wait({**BUSY, "retry_after": 5.0}) == 7.5
    monkeypatch.setattr(random, "uniform", lambda low, high: low)  # its bottom: the hint
    assert retry_wait(BUSY) == 1.0
    assert retry_wait({**BUSY, "retry_after": 0.2}) == 1.0  # never under a second
    # The database away: 3 s each time.
    assert retry_wait({"type": "error", "code": "unavailable"}) == 3.0


def test_the_waits_are_spread_over_half_the_hint() -> None:
    waits = [retry_wait(BUSY) for _ in range(2000)]
    assert 1.0 <= min(waits) < 1.05
    assert 1.45 < max(waits) <= 1.5
