"""What every cluster scenario must show, whatever its fault and whichever the proxy."""

from __future__ import annotations

from bench.chaos.counts import Figures, table


def assert_nothing_lost(figures: Figures) -> None:
    shown = table([figures])
    print(shown)  # the scenario's row, for `pytest -rP`
    assert figures.acked == figures.sent, shown
    assert figures.lost == 0, shown
    assert figures.duplicated == 0, shown
    assert figures.out_of_order == 0, shown
    assert figures.undelivered_widget == 0, shown
    assert figures.undelivered_console == 0, shown
    assert figures.unrouted == 0, shown
    assert figures.out_of_scope == 0, shown
    assert figures.assigned_twice == 0, shown
    assert figures.away == 0, shown
    assert figures.retention_twice == 0, shown
    # Every widget got its session, if need be after the fault (asked again with its key).
    assert figures.sessions_missing == 0, shown
    # Every reply to mail, Telegram and Slack reached the far side (duplicates are counted
    # in the table, not failed: a node killed between the send and its record may repeat one).
    assert figures.out_lost == 0, shown
    assert figures.out_pending == 0, shown
    # The bot answered this run's Telegram users through the stand-in (each run's people are
    # new, so no earlier handover keeps the bot silent).
    assert any(note.startswith("telegram out: ") for note in figures.notes), shown
    assert not any(note.startswith("stale leases") for note in figures.notes), shown
