"""Who should get a queued conversation: pure choices over values.

``order`` ranks a team's queue (priority now, aging included; the longest waiting first on
ties); ``ranked`` gives the same order with each conversation's live priority and its rank, a
string that sorts the same way, so a console orders its queue without knowing these rules.
``choose`` picks, for one conversation, an online agent of its team with every required
skill and spare capacity: the conversation's previous agent if they qualify (a reopened
conversation goes back to them), else the least busy, then the one who got a conversation
longest ago (round robin on ties). The server makes the choice stick with a transactional
claim, so a stale view can cost a retry but never a double assignment.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from routing.priority import Priority, Weights, at

# Scores are shifted by this before they are written into a rank, so that a negative score
# (a low-urgency intent) and a high one have the same width and compare as strings.
_SCORE_OFFSET = 10**9


@dataclass(frozen=True, slots=True)
class AgentState:
    id: str
    teams: frozenset[str]
    skills: frozenset[str]
    capacity: int
    load: int  # open conversations assigned now
    online: bool
    # When they were last given a conversation (round robin among equally busy agents).
    last_assigned_at: datetime | None = None

    @property
    def spare(self) -> int:
        return self.capacity - self.load


@dataclass(frozen=True, slots=True)
class Waiting:
    """A queued conversation as the dispatcher sees it."""

    id: str
    team: str
    required_skills: frozenset[str]
    standing: Priority
    waiting_since: datetime
    first_response_due: datetime | None = None
    previous_agent: str | None = None


@dataclass(frozen=True, slots=True)
class Ranked:
    """A queued conversation's place now: its priority with the clock's part, and ``rank``,
    which sorts (as a plain string, ascending) in queue order."""

    item: Waiting
    live: Priority
    rank: str


def rank_of(item: Waiting, now: datetime, weights: Weights) -> Ranked:
    live = at(
        item.standing,
        waiting_since=item.waiting_since,
        first_response_due=item.first_response_due,
        now=now,
        weights=weights,
    )
    # Highest score first, then the longest waiting, then the id: fixed-width fields.
    score = min(max(_SCORE_OFFSET - live.score, 0), 2 * _SCORE_OFFSET)
    since = item.waiting_since
    if since.tzinfo is not None:
        since = since.astimezone(UTC)
    return Ranked(item, live, f"{score:010d}|{since:%Y-%m-%dT%H:%M:%S.%f}|{item.id}")


def ranked(queue: Iterable[Waiting], now: datetime, weights: Weights) -> list[Ranked]:
    """The queue in order, each conversation with its live priority and rank."""
    return sorted((rank_of(item, now, weights) for item in queue), key=lambda r: r.rank)


def order(queue: Iterable[Waiting], now: datetime, weights: Weights) -> list[Waiting]:
    """Highest priority now first (aging included); the longest waiting first on ties."""
    return [r.item for r in ranked(queue, now, weights)]


def eligible(conversation: Waiting, agent: AgentState) -> bool:
    return (
        agent.online
        and agent.spare > 0
        and conversation.team in agent.teams
        and conversation.required_skills <= agent.skills
    )


def choose(conversation: Waiting, agents: Sequence[AgentState]) -> AgentState | None:
    """The agent who should get the conversation now, or None (nobody qualifies): the agent
    who had it before if they qualify; else the least busy for their capacity, then whoever
    was given one longest ago (never first), then by id."""
    best: AgentState | None = None
    best_key: tuple[float, float, str] | None = None
    # One pass, no list of candidates: the router calls this for every conversation of a
    # pass over every agent online (a thousand times a hundred in the routing bench).
    team, skills = conversation.team, conversation.required_skills
    for agent in agents:
        # eligible(), spelled out: a call and a property per agent were a third of this.
        if not (
            agent.online
            and agent.load < agent.capacity
            and team in agent.teams
            and skills <= agent.skills
        ):
            continue
        if agent.id == conversation.previous_agent:
            return agent
        last = agent.last_assigned_at
        key = (agent.load / agent.capacity, last.timestamp() if last else -math.inf, agent.id)
        if best_key is None or key < best_key:
            best, best_key = agent, key
    return best
