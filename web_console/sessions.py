"""Which agent a console session cookie stands for, if it still stands for anyone.

The cookie is signed and expires (starlette's SessionMiddleware); it also carries the agent's
session version from when it was made. Logging out, a password change or a role change bump
the version (``AgentDirectory.end_sessions``), so every older cookie, a copied one included,
is refused at its next request or socket.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from web_console.port import Agent, AgentDirectory


async def session_agent(session: Mapping[str, Any], agents: AgentDirectory) -> Agent | None:
    """The active agent the session names, or None when there is none or the session ended."""
    agent_id = session.get("agent_id")
    agent = await agents.agent(agent_id) if isinstance(agent_id, str) else None
    if agent is None or session.get("version") != agent.session_version:
        return None
    return agent
