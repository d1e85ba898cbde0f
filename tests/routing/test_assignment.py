from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from routing.assignment import AgentState, Waiting, choose, order, rank_of, ranked
from routing.priority import Facts, Priority, Weights, score

W = Weights()
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def agent(
    name: str,
    *,
    load: int = 0,
    capacity: int = 3,
    skills: tuple[str, ...] = (),
    teams: tuple[str, ...] = ("support",),
    online: bool = True,
    last: int | None = None,
) -> AgentState:
    return AgentState(
        id=name,
        teams=frozenset(teams),
        skills=frozenset(skills),
        capacity=capacity,
        load=load,
        online=online,
        last_assigned_at=NOW - timedelta(minutes=last) if last is not None else None,
    )


def waiting(
    name: str,
    *,
    skills: tuple[str, ...] = (),
    team: str = "support",
    points: int = 0,
    waited: int = 0,
    previous: str | None = None,
) -> Waiting:
    return Waiting(
        id=name,
        team=team,
        required_skills=frozenset(skills),
        standing=Priority(points, ()),
        waiting_since=NOW - timedelta(minutes=waited),
        previous_agent=previous,
    )


@pytest.mark.parametrize(
    ("conversation", "agents", "expected"),
    [
        # The least busy gets it.
        (waiting("c"), [agent("a", load=2), agent("b", load=1)], "b"),
        # Load is relative to capacity: 2 of 10 is less busy than 1 of 2.
        (waiting("c"), [agent("a", load=1, capacity=2), agent("b", load=2, capacity=10)], "b"),
        # Ties: whoever got a conversation longest ago (round robin); never beats any time.
        (waiting("c"), [agent("a", last=1), agent("b", last=10)], "b"),
        (waiting("c"), [agent("a", last=1), agent("b")], "b"),
        # Skills: only an agent with every required skill.
        (
            waiting("c", skills=("billing", "fr")),
            [agent("a", skills=("billing",)), agent("b", load=2, skills=("billing", "fr"))],
            "b",
        ),
        # Skills nobody online has: nobody.
        (
            waiting("c", skills=("de",)),
            [agent("a", skills=("fr",)), agent("b", skills=("de",), online=False)],
            None,
        ),
        # Capacity full: nobody.
        (waiting("c"), [agent("a", load=3), agent("b", load=1, capacity=1)], None),
        # Zero capacity never gets anything.
        (waiting("c"), [agent("a", capacity=0)], None),
        # Another team's agents do not take it.
        (waiting("c", team="billing"), [agent("a")], None),
        # A reopened conversation goes back to its previous agent while they qualify ...
        (waiting("c", previous="a"), [agent("a", load=2), agent("b")], "a"),
        # ... and to someone else when they are full or offline.
        (waiting("c", previous="a"), [agent("a", load=3), agent("b")], "b"),
        (waiting("c", previous="a"), [agent("a", online=False), agent("b")], "b"),
        # Offline agents never.
        (waiting("c"), [agent("a", online=False)], None),
    ],
)
def test_choose(conversation: Waiting, agents: list[AgentState], expected: str | None) -> None:
    chosen = choose(conversation, agents)
    assert (chosen.id if chosen else None) == expected


def test_order_is_priority_then_the_longest_waiting() -> None:
    queue = [
        waiting("low", points=0, waited=1),
        waiting("vip", points=40, waited=1),
        waiting("tie-newer", points=20, waited=2),
        waiting("tie-older", points=20, waited=2),
    ]
    # The same standing and the same wait: the id decides, so every node agrees.
    assert [w.id for w in order(queue, NOW, W)] == ["vip", "tie-newer", "tie-older", "low"]
    queue[2] = waiting("tie-newer", points=20, waited=2)
    queue[3] = waiting("tie-older", points=20, waited=3)
    assert [w.id for w in order(queue, NOW, W)][:3] == ["vip", "tie-older", "tie-newer"]


def test_aging_lets_a_long_wait_overtake_a_fresh_vip() -> None:
    fresh_vip = waiting("vip", points=score(Facts(channel="email", vip=True), W).score)
    patient = waiting("patient", points=0, waited=40)  # 40 min x 1.5 = 60 points
    assert [w.id for w in order([fresh_vip, patient], NOW, W)] == ["patient", "vip"]


def test_ranks_sort_as_strings_in_queue_order() -> None:
    """A console orders its queue by comparing ranks as plain strings, and gets ``order``'s
    order: negative scores, ties on score and on the wait included."""
    queue = [
        waiting("low", points=-10, waited=1),
        waiting("vip", points=40, waited=1),
        waiting("tie-newer", points=20, waited=2),
        waiting("tie-older", points=20, waited=3),
        waiting("patient", points=0, waited=40),
        waiting("zero", points=0, waited=0),
    ]
    by_rank = sorted(queue, key=lambda w: rank_of(w, NOW, W).rank)
    assert [w.id for w in by_rank] == [w.id for w in order(queue, NOW, W)]
    assert [r.item.id for r in ranked(queue, NOW, W)] == [w.id for w in order(queue, NOW, W)]
    assert rank_of(queue[4], NOW, W).live.score == 60
