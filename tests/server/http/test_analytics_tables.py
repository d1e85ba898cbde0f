"""The reports' tables without a server: the time online's order, the dashboard's."""

from __future__ import annotations

from uuid import uuid4

from server.http.analytics_tables import agent_time, name_order
from server.store.analytics_live import AgentTime


def test_names_sort_as_the_consoles_collator_sorts_them() -> None:
    """The order Chromium's (and Node's) ``Intl.Collator(undefined, {numeric: true,
    sensitivity: "base"})`` gives these names, read from Node 20 on this machine."""
    names = ["Agent 10", "Zoë Adams", "émile Blanc", "Agent 9", "agent 2", "Emma", "a 1",
             "a1", "A10b", "a9z", "Agent", "Agent 09x", "z", "Ω"]  # fmt: skip
    assert sorted(names, key=name_order) == [
        "a 1",
        "a1",
        "a9z",
        "A10b",
        "Agent",
        "agent 2",
        "Agent 9",
        "Agent 09x",
        "Agent 10",
        "émile Blanc",
        "Emma",
        "z",
        "Zoë Adams",
        "Ω",
    ]


def test_the_time_online_table_is_most_online_then_names() -> None:
    """Ties compare the whole seconds the table shows: 10.2 s and 9.8 s are both 10."""
    rows = [
        AgentTime(uuid4(), "Agent 10", 0.0, 0.0),
        AgentTime(uuid4(), "Agent 9", 0.0, 5.0),
        AgentTime(uuid4(), "Bo", 9.8, 0.0),
        AgentTime(uuid4(), "Al", 10.2, 0.0),
        AgentTime(uuid4(), "Zed", 3600.0, 0.0),
    ]
    table = agent_time(rows)
    assert [r[:2] for r in table.rows] == [
        ["Zed", 3600],
        ["Al", 10],
        ["Bo", 10],
        ["Agent 9", 0],
        ["Agent 10", 0],
    ]


def test_a_digit_int_cannot_read_is_ordered_not_a_500() -> None:
    """Ethiopic ፩ (and 68 other code points) is a digit to str.isdigit but not to int(): an
    agent so named made the whole brand's time-online table raise (the review's finding)."""
    rows = [AgentTime(uuid4(), "Agent 9", 0.0, 0.0), AgentTime(uuid4(), "Agent \u1369", 0.0, 0.0)]
    assert len(agent_time(rows).rows) == 2
    for cp in (0x1369, 0x10A40, 0x2460, 0x00B2):
        name_order(f"a{chr(cp)}b")
