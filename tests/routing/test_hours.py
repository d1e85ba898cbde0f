from __future__ import annotations

from datetime import UTC, datetime

import pytest

from routing.hours import parse_hours


def test_business_hours_honour_days_times_and_the_time_zone() -> None:
    hours = parse_hours("mon-fri 09:00-18:00 Europe/Paris")
    # Monday 2026-11-23, 08:30 UTC is 09:30 in Paris (UTC+1 in winter)
    assert hours.contains(datetime(2026, 11, 23, 8, 30, tzinfo=UTC))
    assert not hours.contains(datetime(2026, 11, 23, 7, 30, tzinfo=UTC))  # 08:30 Paris
    assert not hours.contains(datetime(2026, 11, 23, 17, 0, tzinfo=UTC))  # 18:00 Paris
    assert not hours.contains(datetime(2026, 11, 22, 10, 0, tzinfo=UTC))  # Sunday
    assert hours.describe() == "Mon-Fri 09:00-18:00 (Europe/Paris)"


def test_day_lists_and_wrapping_ranges() -> None:
    assert parse_hours("sat-mon 10:00-12:00 UTC").days == frozenset({5, 6, 0})
    assert parse_hours("mon,wed 10:00-12:00 UTC").days == frozenset({0, 2})


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("mon-fri 09:00-18:00", "expected"),
        ("mon-frx 09:00-18:00 UTC", "unknown day"),
        ("mon-fri 9h-18h UTC", "bad times"),
        ("mon-fri 18:00-09:00 UTC", "before closing"),
        ("mon-fri 09:00-18:00 Mars/Olympus", "unknown time zone"),
    ],
)
def test_malformed_hours_are_refused_precisely(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_hours(spec)


@pytest.mark.parametrize(
    ("start", "minutes", "due"),
    [
        # Monday 10:00 Paris (09:00 UTC) + 30 min: the same morning.
        (datetime(2026, 11, 23, 9, 0, tzinfo=UTC), 30, datetime(2026, 11, 23, 9, 30, tzinfo=UTC)),
        # Friday 17:50 Paris + 30 min: 10 min on Friday, 20 on Monday from 09:00.
        (datetime(2026, 11, 27, 16, 50, tzinfo=UTC), 30, datetime(2026, 11, 30, 8, 20, tzinfo=UTC)),
        # Saturday: the clock starts on Monday at opening time.
        (datetime(2026, 11, 28, 12, 0, tzinfo=UTC), 15, datetime(2026, 11, 30, 8, 15, tzinfo=UTC)),
        # Before opening on a weekday: from opening.
        (datetime(2026, 11, 24, 5, 0, tzinfo=UTC), 60, datetime(2026, 11, 24, 9, 0, tzinfo=UTC)),
        # Two working days of nine hours: 18 h from Monday 09:00 ends Tuesday 18:00.
        (
            datetime(2026, 11, 23, 8, 0, tzinfo=UTC),
            18 * 60,
            datetime(2026, 11, 24, 17, 0, tzinfo=UTC),
        ),
    ],
)
def test_business_time_only_runs_while_open(start: datetime, minutes: int, due: datetime) -> None:
    hours = parse_hours("mon-fri 09:00-18:00 Europe/Paris")
    assert hours.add(start, minutes * 60) == due
