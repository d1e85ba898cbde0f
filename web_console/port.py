"""What the console needs from the server: agents, conversations, replies and the event log."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import IO, TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from web_console.access import Placement
    from web_console.bot_review_port import BotReviewPort
    from web_console.bot_studio_port import BotStudioPort
    from web_console.bot_training_port import BotTrainer
    from web_console.bot_views import FlowList, IntentDetail, IntentList, ResponseList


@dataclass(frozen=True, slots=True)
class Agent:
    """A console user and what they may reach (``web_console.access`` says what each role
    allows)."""

    id: str
    email: str
    name: str
    # An admin holds every power in every brand.
    admin: bool = False
    # Brand id -> the roles held there: supervisor, agent, analyst, designer, editor.
    roles: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # The ids of the teams the agent belongs to.
    teams: frozenset[str] = frozenset()
    # Carried in the session cookie; a cookie made under an older version is refused.
    session_version: int = 0

    @property
    def role(self) -> str:
        """The strongest role held anywhere, for a one-word label."""
        if self.admin:
            return "admin"
        held = set().union(*self.roles.values()) if self.roles else set()
        for role in ("supervisor", "agent", "analyst", "designer", "editor"):
            if role in held:
                return role
        return "member"


@dataclass(frozen=True, slots=True)
class UploadedFile:
    """A file an agent attached to a reply, as the browser sent it (name not yet cleaned)."""

    filename: str
    content_type: str
    content: bytes


class Unknown(Exception):
    """No such conversation, message, file or agent (or not one the agent may see): 404."""


class BadValue(Exception):
    """A value the action cannot take (an unknown contact reference, a bad status): 422."""


class Forbidden(Exception):
    """The agent may see this but their role does not allow the action: HTTP 403."""


class ActionRefused(Exception):
    """The action conflicts with the current state (resolved, held by another agent, the
    agent is full or offline): HTTP 409."""


@dataclass(frozen=True, slots=True)
class ListFilter:
    """What a console list is narrowed to, as the endpoint checked it; None is "any"."""

    channel: str | None = None
    brand_id: str | None = None  # a UUID
    team_id: str | None = None  # a UUID
    language: str | None = None
    label: str | None = None


EVERYTHING = ListFilter()


@dataclass(frozen=True, slots=True)
class ContactEdit:
    """The customer's fields an agent set, as the endpoint checked them; None leaves a field
    as it is, "" (or no labels) clears it."""

    name: str | None = None
    email: str | None = None
    phone: str | None = None
    notes: str | None = None
    labels: tuple[str, ...] | None = None
    time_zone: str | None = None

    def changed(self) -> list[str]:
        return [f.name for f in fields(self) if getattr(self, f.name) is not None]


@dataclass(frozen=True, slots=True)
class Client:
    """Where a request came from, for the session list and the audit log."""

    address: str | None = None
    user_agent: str = ""


@dataclass(frozen=True, slots=True)
class LiveSession:
    """A signed-in browser: its agent and the session's id (``web_console.account_port``)."""

    agent: Agent
    id: str


@dataclass(frozen=True, slots=True)
class SignIn:
    """What a login attempt came to: a new session (``agent``, and ``secret``, which only the
    cookie carries), a right password that wants its second factor (``second_factor`` names
    it: "totp"), or a refusal (neither)."""

    agent: Agent | None = None
    secret: str = ""
    second_factor: str | None = None
    # The code given was wrong (a failed attempt, as a wrong password is).
    wrong_code: bool = False


class AgentDirectory(Protocol):
    """Who may use the console, and their sessions (kept on the server)."""

    async def log_in(self, email: str, password: str, code: str | None, client: Client) -> SignIn:
        """Check the credentials (and the TOTP or recovery code when the agent has a second
        factor); on success a new session. Attempts are recorded in the audit log."""
        ...

    async def session(self, secret: str) -> LiveSession | None:
        """The live session with this cookie secret (the agent active, not idle, not past
        its absolute timeout), noted as seen; None otherwise."""
        ...

    async def log_out(self, secret: str, client: Client) -> LiveSession | None:
        """End the session with this secret; the session it was, if any."""
        ...

    async def agent(self, agent_id: str) -> Agent | None:
        """An active agent by id, or None."""
        ...

    async def end_sessions(self, agent_id: str) -> None:
        """End every console session of the agent."""
        ...


class ConsoleBackend(Protocol):
    """Conversations and actions, each scoped to what the agent may see
    (``web_console.access``): a conversation, message or file they may not see raises
    Unknown, an action their role does not allow raises Forbidden."""

    async def conversations(
        self,
        agent: Agent,
        statuses: list[str],
        before: str | None = None,
        only: ListFilter = EVERYTHING,
    ) -> tuple[Sequence[Mapping[str, Any]], str | None]:
        """A page of the conversations the agent may see (and the filter keeps), by latest
        activity, after the ``before`` cursor; and the next page's cursor (None after the
        last). BadValue for a cursor this list did not give."""
        ...

    async def edit_contact(
        self, agent: Agent, conversation_id: str, change: ContactEdit
    ) -> Mapping[str, Any]:
        """Change the conversation's customer (audited; colleagues see it live); the
        conversation's view."""
        ...

    async def set_labels(
        self, agent: Agent, conversation_id: str, labels: Sequence[str]
    ) -> Mapping[str, Any]:
        """Replace the conversation's labels (normalised by the caller); its view."""
        ...

    async def filter_options(self, agent: Agent) -> Mapping[str, Any]:
        """What the lists may be narrowed to, within what the agent may see: brands, teams,
        languages of open conversations, labels (most used first)."""
        ...

    async def conversation(self, agent: Agent, conversation_id: str) -> Mapping[str, Any]: ...

    async def messages_after(
        self, agent: Agent, conversation_id: str, after_seq: int
    ) -> Sequence[Mapping[str, Any]]: ...

    async def activities(self, agent: Agent, conversation_id: str) -> Sequence[Mapping[str, Any]]:
        """What happened to the conversation besides its messages, oldest first."""
        ...

    async def context(self, agent: Agent, conversation_id: str) -> Mapping[str, Any]:
        """The context panel: the customer, their other conversations the agent may see,
        their orders, the message that made the bot hand over, the sentiment over time."""
        ...

    async def suggestions(self, agent: Agent, conversation_id: str) -> Mapping[str, Any]:
        """Up to three suggested replies with their sources (docs/suggestions.md)."""
        ...

    async def summary(self, agent: Agent, conversation_id: str) -> Mapping[str, Any]:
        """The handoff summary: the extractive one, and a chat model's (with reply drafts)
        when one is configured and answers in time."""
        ...

    async def search(self, agent: Agent, query: str, before: int | None) -> Mapping[str, Any]:
        """Messages matching the words and conversations of contacts matching them, only
        where the agent may see; a page of messages with id < before."""
        ...

    async def placements(self, conversation_ids: list[str]) -> Mapping[str, Placement]:
        """Where each of these conversations sits (unknown ids left out): the socket's
        event filter."""
        ...

    async def attachment(
        self, agent: Agent, message_id: int, position: int
    ) -> tuple[str, str, bytes]:
        """(file name, content type, bytes) of a message's attachment; raise Unknown."""
        ...

    async def original(self, agent: Agent, message_id: int) -> bytes:
        """The raw mail a customer's message came from; raise Unknown."""
        ...

    async def merge_contact(
        self, agent: Agent, conversation_id: str, other: str
    ) -> Mapping[str, Any]:
        """Merge another contact (id, email or "channel:id") into the conversation's; returns
        the conversation. Raise Unknown, ActionRefused or BadValue."""
        ...

    async def reply(
        self,
        agent: Agent,
        conversation_id: str,
        text: str,
        client_id: str,
        files: Sequence[UploadedFile] = (),
    ) -> tuple[Mapping[str, Any], bool]:
        """Store the agent's reply (with its files) once per client id; raise ActionRefused
        or Unknown."""
        ...

    async def return_to_bot(self, agent: Agent, conversation_id: str) -> Mapping[str, Any]:
        """Hand the conversation back to the bot; raise ActionRefused or Unknown."""
        ...

    async def queue(
        self, agent: Agent, first: int | None = None
    ) -> tuple[list[dict[str, Any]], int]:
        """Queued conversations the agent may see, highest priority now first, each with
        ``score`` and ``explanation``: the ``first`` of them (all when None), and how many
        the agent may see in all."""
        ...

    async def claim(self, agent: Agent, conversation_id: str) -> Mapping[str, Any]: ...

    async def transfer(
        self, agent: Agent, conversation_id: str, to_agent: str | None, to_team: str | None
    ) -> Mapping[str, Any]: ...

    async def resolve(self, agent: Agent, conversation_id: str) -> Mapping[str, Any]: ...

    async def set_status(self, agent: Agent, status: str) -> Mapping[str, Any]:
        """Set the agent's status (online, away, offline); returns the agent's view."""
        ...

    async def agent_view(self, agent: Agent) -> Mapping[str, Any]:
        """The agent with status, capacity, load, teams and skills."""
        ...

    async def directory(self, agent: Agent) -> dict[str, Any]:
        """Teams and agents (with status and load) of the agent's brands, to transfer a
        conversation to."""
        ...

    async def overview(self, agent: Agent) -> dict[str, Any]:
        """Queue depth and SLA state per team, and the agents, of the brands the agent
        supervises or analyses."""
        ...

    async def bot(self, agent: Agent) -> Mapping[str, Any]:
        """The bot's engine and project, and what the project asks for that the engine does
        not do (for designers and admins)."""
        ...

    async def bot_intents(self, agent: Agent) -> IntentList:
        """The bot's intents with their example counts per language (issue 19)."""
        ...

    async def bot_intent(self, agent: Agent, name: str) -> IntentDetail:
        """One intent's examples with their entity spans; Unknown if the project has none."""
        ...

    async def bot_responses(self, agent: Agent) -> ResponseList:
        """The bot's responses, their variations per language and buttons."""
        ...

    @property
    def bot_review(self) -> BotReviewPort | None:
        """The trainer review inbox, the agents' flag and the bot's health (issue 19)."""
        ...

    async def bot_flows(self, agent: Agent) -> FlowList:
        """The bot's rules and stories as step lists, with file and line."""
        ...

    async def bot_domain(self, agent: Agent) -> Mapping[str, Any]:
        """The domain's slots, forms and custom actions (read-only)."""
        ...

    @property
    def bot_studio(self) -> BotStudioPort | None:
        """Edits of the bot's project files, each a version (issue 19); None: not offered."""
        ...

    @property
    def bot_trainer(self) -> BotTrainer | None:
        """Validate, train, test a sentence and evaluate the bot (issue 19)."""
        ...

    async def notes(
        self, agent: Agent, conversation_id: str, after_id: int
    ) -> Sequence[Mapping[str, Any]]:
        """The conversation's internal notes with id > after_id, oldest first (a page)."""
        ...

    async def add_note(
        self, agent: Agent, conversation_id: str, text: str, mentions: Sequence[str]
    ) -> Mapping[str, Any]:
        """An internal note (never sent to the customer), mentioning colleagues who may see
        the conversation (BadValue for one who may not)."""
        ...

    async def canned_for(
        self, agent: Agent, conversation_id: str, query: str
    ) -> Sequence[Mapping[str, Any]]:
        """The conversation's brand's canned responses matching the query, each with its
        variables filled in for this conversation (``rendered``)."""
        ...

    async def canned(
        self, agent: Agent, brand_id: str | None, query: str
    ) -> Sequence[Mapping[str, Any]]:
        """Canned responses of the brand, or of every brand the agent holds a role in."""
        ...

    async def put_canned(
        self,
        agent: Agent,
        brand_id: str | None,
        shortcut: str,
        title: str,
        text: str,
        canned_id: str | None = None,
    ) -> Mapping[str, Any]:
        """Create (no id) or change a canned response: supervisors of its brand and admins.
        Raise Unknown, Forbidden, BadValue or ActionRefused (the shortcut is taken)."""
        ...

    async def delete_canned(self, agent: Agent, canned_id: str) -> None: ...

    async def brand_texts(self, agent: Agent) -> Sequence[Mapping[str, Any]]:
        """The greeting and closing message, per language, of every brand the agent may
        edit them in (supervisors of the brand, admins): its own words or the defaults."""
        ...

    async def put_brand_text(
        self, agent: Agent, brand_id: str, kind: str, language: str, text: str
    ) -> Mapping[str, Any]:
        """Set the brand's own words (audited). Raise Unknown or Forbidden."""
        ...

    async def reset_brand_text(
        self, agent: Agent, brand_id: str, kind: str, language: str
    ) -> Mapping[str, Any]:
        """Back to the default words (audited). Raise Unknown or Forbidden."""
        ...

    async def export_contact(self, agent: Agent, contact_id: str, out: IO[bytes]) -> None:
        """Write everything held about the contact, as a ZIP, to ``out``: supervisors of the
        contact's brand and admins (Unknown for others, Forbidden with another role there)."""
        ...

    async def erase_contact(
        self, agent: Agent, contact_id: str, confirm: bool
    ) -> Mapping[str, Any]:
        """Erase the contact (docs/privacy.md): as export_contact, who may; BadValue unless
        ``confirm`` (checked after who may, so the answer tells a stranger nothing)."""
        ...

    async def audit_log(
        self,
        action: str | None,
        actor: str | None,
        since: str | None,
        until: str | None,
        before: int | None,
    ) -> Mapping[str, Any]:
        """A page of the audit log (50 entries, newest first, ``next`` for the following);
        BadValue for a malformed filter."""
        ...

    async def invite(
        self,
        agent: Agent,
        email: str,
        name: str,
        brand_id: str,
        roles: Sequence[str],
        team_ids: Sequence[str],
    ) -> Mapping[str, Any]:
        """Add a colleague with these roles and teams in the brand and mail them a link to set
        their password: {person, mailed, link (when not mailed)}. Raise BadValue, Unknown or
        ActionRefused (the email is taken)."""
        ...

    async def people(self) -> dict[str, Any]:
        """The admin area: every brand with its teams, every agent with their roles and
        teams per brand."""
        ...

    async def set_access(
        self,
        agent: Agent,
        target_id: str,
        brand_id: str,
        roles: Sequence[str],
        team_ids: Sequence[str],
        admin: bool,
    ) -> tuple[Mapping[str, Any], bool]:
        """Set the target's roles and teams in the brand (and whether they are an admin),
        recorded as done by ``agent``; the person now, and whether their roles changed.
        Raise Unknown, BadValue or ActionRefused (the last admin)."""
        ...

    async def event_ids_since(self, last_event_id: int, through: int, limit: int) -> list[int]:
        """What a console resuming from ``last_event_id`` may lack, up to ``through``: the ids
        of the events above it and of those below it that committed late
        (server/store/event_log.py), in id order, at most ``limit``. Unfiltered: the socket
        filters the events per agent (the replay and the checkpoint's check)."""
        ...

    async def events_by_id(self, ids: list[int]) -> list[dict[str, Any]]:
        """These stored events, in id order (unfiltered)."""
        ...

    async def last_event_id(self) -> int:
        """The newest stored event id: where a freshly loaded console starts listening."""
        ...

    async def typing(self, agent: Agent, conversation_id: str, active: bool) -> None: ...

    async def viewing(self, agent: Agent, conversation_id: str, active: bool) -> None:
        """The agent has the conversation open in their console (or no longer): their
        colleagues who may see it are told (live-only)."""
        ...
