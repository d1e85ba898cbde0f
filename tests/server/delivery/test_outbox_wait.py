"""The outbox's wait before the next attempt doubles, honours a remote's Retry-After and is
capped, whatever the attempt count."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from server.delivery.outbox import MAX_RETRY_SECONDS, retry_wait


def test_the_wait_doubles_per_attempt() -> None:
    assert [retry_wait(n, 5.0) for n in (1, 2, 3, 4)] == [5.0, 10.0, 20.0, 40.0]


def test_retry_after_is_honoured_up_to_the_cap() -> None:
    assert retry_wait(1, 5.0, retry_after=30.0) == 30.0
    assert retry_wait(1, 5.0, retry_after=10**9) == MAX_RETRY_SECONDS


def test_a_huge_attempt_count_waits_the_cap_and_still_makes_a_date() -> None:
    for attempts in (20, 1000, 10**6):
        wait = retry_wait(attempts, 5.0)
        assert wait == MAX_RETRY_SECONDS
        assert datetime.now(UTC) + timedelta(seconds=wait) > datetime.now(UTC)
