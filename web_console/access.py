"""Who may see and do what in the console.

An agent holds roles per brand (an admin holds every power in every brand):

- **supervisor**: the brand's conversations (read and act), queues, agents and reports;
- **agent**: the brand's conversations that have no team yet, belong to one of the agent's
  teams, or are assigned to the agent (read and act);
- **analyst**: the brand's conversations and reports, read-only;
- **designer** and **editor**: the brand's bot and knowledge base, no conversations.

A conversation the agent may not see does not exist for them (404 on every route, no event on
the socket); one they may see but not act on answers 403. These are pure functions over the
agent and where a conversation sits, so the REST handlers, the socket's event filter and the
store's queries (``Reach``) decide alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from web_console.port import Agent

ROLES = ("supervisor", "agent", "analyst", "designer", "editor")
WHOLE_BRAND = frozenset({"supervisor", "analyst"})
REPORTS = frozenset({"supervisor", "analyst"})
TEAMMATE = "agent"
ACTING = frozenset({"supervisor", "agent"})
# Who works on the bot (the studio): its project, what the engine makes of it.
DESIGNER = "designer"


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a conversation sits: what decides who may see it."""

    brand_id: str
    team_id: str | None
    assignee_id: str | None


def placement_of(view: Mapping[str, Any]) -> Placement:
    """Where a conversation sits, read off its view (a list item, an event's payload)."""
    team, assignee = view.get("team"), view.get("assignee")
    return Placement(
        view["brand_id"], team["id"] if team else None, assignee["id"] if assignee else None
    )


@dataclass(frozen=True, slots=True)
class Reach:
    """The conversations an agent may see, as a query filters them: every one (an admin), or
    those of ``whole_brands``, plus, in ``team_brands``, those with no team, of ``teams`` or
    assigned to ``agent_id``."""

    everything: bool
    whole_brands: tuple[str, ...]
    team_brands: tuple[str, ...]
    teams: tuple[str, ...]
    agent_id: str


def brands_where(agent: Agent, roles: Iterable[str]) -> frozenset[str]:
    """The brands where the agent holds any of these roles (every one held for an admin is
    the caller's business: admins are checked first)."""
    wanted = frozenset(roles)
    return frozenset(brand for brand, held in agent.roles.items() if held & wanted)


def _as_teammate(agent: Agent, where: Placement) -> bool:
    return TEAMMATE in agent.roles.get(where.brand_id, frozenset()) and (
        where.team_id is None or where.team_id in agent.teams or where.assignee_id == agent.id
    )


def may_see(agent: Agent, where: Placement) -> bool:
    if agent.admin:
        return True
    return bool(agent.roles.get(where.brand_id, frozenset()) & WHOLE_BRAND) or _as_teammate(
        agent, where
    )


def may_act(agent: Agent, where: Placement) -> bool:
    """Reply, claim, transfer, resolve, merge, hand back: a supervisor of the brand, or an
    agent who may see the conversation."""
    if agent.admin:
        return True
    return "supervisor" in agent.roles.get(where.brand_id, frozenset()) or _as_teammate(
        agent, where
    )


def may_work(agent: Agent) -> bool:
    """Whether the agent may take conversations at all (the queue, their status)."""
    return agent.admin or bool(brands_where(agent, ACTING))


def may_read_conversations(agent: Agent) -> bool:
    return agent.admin or bool(brands_where(agent, WHOLE_BRAND | {TEAMMATE}))


def may_report(agent: Agent) -> bool:
    """The supervisor overview and, later, the analytics: supervisors and analysts."""
    return agent.admin or bool(brands_where(agent, REPORTS))


def may_design(agent: Agent) -> bool:
    """The bot's project and engine: designers (of any brand: one bot serves them all)."""
    return agent.admin or bool(brands_where(agent, {DESIGNER}))


def reach(agent: Agent) -> Reach:
    return Reach(
        everything=agent.admin,
        whole_brands=tuple(sorted(brands_where(agent, WHOLE_BRAND))),
        team_brands=tuple(sorted(brands_where(agent, {TEAMMATE}))),
        teams=tuple(sorted(agent.teams)),
        agent_id=agent.id,
    )
