"""What the console needs from the server: agents, conversations, replies and the event log."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Agent:
    id: str
    email: str
    name: str
    role: str


class ReplyRefused(Exception):
    """The reply conflicts with the conversation's state (resolved, held by another agent)."""


class AgentDirectory(Protocol):
    """Who may use the console."""

    async def authenticate(self, email: str, password: str) -> Agent | None:
        """The agent with these credentials, or None."""
        ...

    async def agent(self, agent_id: str) -> Agent | None:
        """An active agent by id, or None."""
        ...


class ConsoleBackend(Protocol):
    """Conversations and actions. Lookups of unknown ids raise LookupError."""

    async def conversations(self, statuses: list[str]) -> list[dict[str, Any]]: ...

    async def conversation(self, conversation_id: str) -> dict[str, Any]: ...

    async def messages_after(
        self, conversation_id: str, after_seq: int
    ) -> list[dict[str, Any]]: ...

    async def reply(
        self, agent: Agent, conversation_id: str, text: str, client_id: str
    ) -> tuple[dict[str, Any], bool]:
        """Store the agent's reply once per client id; raise ReplyRefused or LookupError."""
        ...

    async def return_to_bot(self, agent: Agent, conversation_id: str) -> dict[str, Any]:
        """Hand the conversation back to the bot; raise ReplyRefused or LookupError."""
        ...

    async def events_after(self, last_event_id: int, limit: int) -> list[dict[str, Any]]:
        """Stored events with id > last_event_id, in id order."""
        ...

    async def last_event_id(self) -> int:
        """The newest stored event id: where a freshly loaded console starts listening."""
        ...

    async def typing(self, conversation_id: str, active: bool) -> None: ...
