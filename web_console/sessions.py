"""Which agent and session a console cookie stands for, if it still stands for anyone.

The cookie is signed and expires (starlette's SessionMiddleware); it carries only the
session's secret and the agent's session version when it was made. The session itself lives
on the server (``AgentDirectory.session``): it ends at logout, when revoked from the session
list, with a password change or reset, a deactivation, after the idle timeout and at the
absolute one; a role change moves the agent's version on, which ends every older cookie. A
copied cookie dies with the session it copies.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any

from web_console.port import Agent, AgentDirectory, LiveSession, SignIn

SECRET = "sid"
VERSION = "version"


async def session_of(session: Mapping[str, Any], agents: AgentDirectory) -> LiveSession | None:
    """The live session the cookie names, or None when there is none or it ended."""
    secret = session.get(SECRET)
    if not isinstance(secret, str) or not secret or len(secret) > 200:
        return None
    live = await agents.session(secret)
    if live is None or session.get(VERSION) != live.agent.session_version:
        return None
    return live


async def session_agent(session: Mapping[str, Any], agents: AgentDirectory) -> Agent | None:
    """The active agent the cookie names, or None."""
    live = await session_of(session, agents)
    return live.agent if live else None


def begin(session: MutableMapping[str, Any], signed_in: SignIn) -> None:
    """Put a new session in the cookie (anything it held before is dropped)."""
    assert signed_in.agent is not None
    session.clear()
    session[SECRET] = signed_in.secret
    session[VERSION] = signed_in.agent.session_version
