"""bench/fsync.py: the machine line's fsync cost (behaviour only, no timing asserted)."""

from __future__ import annotations

from pathlib import Path

from bench import fsync


def test_it_times_each_write_and_leaves_no_file_behind(tmp_path: Path) -> None:
    cost = fsync.measure(7, tmp_path)
    assert cost.count == 7
    assert 0 < cost.median_ms <= cost.p99_ms
    assert cost.folder == tmp_path
    assert list(tmp_path.iterdir()) == []
    assert str(tmp_path) in cost.describe()
