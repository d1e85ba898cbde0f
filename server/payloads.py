"""The values that travel: a message, a conversation, an agent, a delivery, and each event's
payload, as the bus, the widget and the console receive them.

They are TypedDicts, not classes, because they *are* the JSON: orjson writes them as they are
and a console reads the same keys. Typing them lets ``mypy --strict`` catch a misspelt key at
every place one is built or read. They live in the kernel because both the event value
(``server.events``) and the store's row-to-view functions need them.
"""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict


class NluSummary(TypedDict, total=False):
    """What the console shows beside a message: a customer message's interpretation, or the
    bot action that produced a bot message."""

    intent: str | None
    confidence: float | None
    entities: list[dict[str, str]]
    language: str | None
    sentiment: float | None
    engine: str | None
    action: str
    # Why the embedded engine judged the message out of scope (nlu.scope), when it did.
    out_of_scope: list[str]
    # A retrieval intent's sub-intent (faq/ask_hours), as Rasa's ResponseSelector names it.
    retrieval_intent: str


class Delivery(TypedDict):
    """An outgoing message's delivery as its message view carries it."""

    status: str
    detail: str | None


class KbArticleCard(TypedDict):
    """An article the bot shows (server/pipeline/knowledge.py): its help center link."""

    id: str
    title: str
    url: str
    excerpt: str


class KbCard(TypedDict):
    """The bot's knowledge-base answer as the widget draws it: cards and a yes/no question,
    in the customer's language. The message's text says the same for text channels."""

    language: str
    intro: str
    ask: str
    articles: list[KbArticleCard]


class MessageView(TypedDict):
    """A stored message as it travels: to the widget, the console and the bus."""

    id: int
    conversation_id: str
    seq: int
    direction: str
    author_kind: str
    author_id: str | None
    channel: str
    client_id: str | None
    text: str
    created_at: str | None
    nlu: NluSummary | None
    # What a channel with more than text adds (see store.views.message_view).
    subject: NotRequired[str]
    automated: NotRequired[str]
    attachments: NotRequired[list[dict[str, Any]]]
    original: NotRequired[bool]
    delivery: NotRequired[Delivery]
    # An agent's message: their name, which the widget shows the customer.
    author_name: NotRequired[str]
    # The survey's steps (server/pipeline/survey.py): "asked" on the question, the rating on
    # the customer's answer, "thanked" on the thanks; the widget draws its buttons from them.
    csat: NotRequired[str | int]
    # The bot's knowledge-base answer: the articles it showed, as cards.
    kb: NotRequired[KbCard]


class ContactSummary(TypedDict):
    id: str
    name: str | None
    email: str | None
    vip: bool
    tier: str | None
    # False for a web chat visitor nobody vouched for: its name and email are what it typed.
    verified: bool


class Named(TypedDict):
    id: str
    name: str | None


class ConversationView(TypedDict):
    """A conversation as it travels: a console list item, an event's payload."""

    id: str
    brand_id: str
    inbox_id: str
    contact: ContactSummary
    handoff_reason: str | None
    handoff_at: str | None
    language: str | None
    channel: str
    status: str
    priority: float | None
    priority_parts: list[Any]
    band: str | None
    intent: str | None
    team: Named | None
    required_skills: list[str]
    queued_at: str | None
    assigned_at: str | None
    first_response_due: str | None
    resolution_due: str | None
    first_response_at: str | None
    assignee: Named | None
    last_seq: int
    last_message_at: str | None
    created_at: str | None
    updated_at: str | None
    preview: str | None
    labels: list[str]
    subject: str | None


class BrandShare(TypedDict):
    """An agent's teams and load in one brand."""

    teams: list[str]
    team_ids: list[str]
    load: int


class AgentView(TypedDict):
    """An agent as the console's roster shows them."""

    id: str
    name: str
    email: str
    # "admin" (every brand) or "member" (the roles in ``roles``)
    role: str
    # brand id -> the roles held there
    roles: dict[str, list[str]]
    status: str
    # When the status was set (Unix time, the database's clock when the row was written, so
    # the later of two racing writers has the later stamp): consoles keep the newest status
    # when two nodes' agent.updated events reach them out of order.
    status_at: float
    capacity: int
    load: int
    teams: list[str]
    team_ids: list[str]
    skills: list[str]
    # brand id -> their teams and load there: only on an agent.updated event, from which the
    # console hub keeps, for each console, the brands that console shares with the agent.
    brands: NotRequired[dict[str, BrandShare]]


class DeliveryView(TypedDict):
    """How one outgoing message's delivery stands: a message.delivery event's payload."""

    message_id: int
    status: str
    attempts: int
    detail: str | None
    updated_at: str | None


class NoteView(TypedDict):
    """An internal note: agents' words about a conversation, never sent to the customer."""

    id: int
    conversation_id: str
    author: Named | None
    text: str
    # The ids of the colleagues it mentions (their consoles say so).
    mentions: list[str]
    created_at: str | None


class ActivityView(TypedDict):
    """Something that happened to a conversation besides a message, shown in its transcript."""

    id: int
    conversation_id: str
    # handed_off, assigned, transferred, requeued, returned_to_bot, resolved, reopened,
    # sla_breached (the migration's list).
    kind: str
    actor: Named | None  # who did it; None: the system
    agent: Named | None  # whom it concerns
    team: Named | None
    detail: str | None  # the handoff reason, how it was assigned, which deadline
    created_at: str | None


class QueueEntry(TypedDict):
    """A conversation's place in the ranked queue now (``routing.assignment.ranked``):
    consoles order their queue by ``rank`` as a plain string, so the rules stay on the
    server."""

    id: str
    score: int
    band: str
    rank: str
    explanation: str
    contributions: list[dict[str, object]]


class EventData(TypedDict, total=False):
    """Every key an event's payload may carry; which ones depends on the event's name.

    message.created        message, inbox_id, contact_id (stored with message_id instead of
                           message; reading the log joins the message back in)
    message.interpreted    message
    message.delivery       delivery
    conversation.created   conversation
    conversation.updated   conversation, change
    queue.changed          queue: the conversation's queue entry now, None when it is not
                           (or no longer) queued; follows the conversation.updated it ranks
    sla.breached           conversation, breach_id, kind, due_at, team_id, band, and
                           escalation_points, notify_team_id when a policy applies
    agent.updated          agent
    note.created           note
    typing                 author_kind, active, inbox_id, contact_id; an agent's also
                           author and to_customer (only the assignee's reaches them)
    viewing                author, active

    One dictionary type with every key rather than one per name: the name and the payload
    are separate fields of Event, which mypy cannot narrow together, and a misspelt key is
    caught either way.
    """

    message: MessageView
    message_id: int
    inbox_id: str
    contact_id: str
    conversation: ConversationView
    change: str
    delivery: DeliveryView
    agent: AgentView
    note: NoteView
    # conversation.updated: what happened, as the transcript shows it (absent for a re-score).
    activity: ActivityView
    author_kind: str
    author: Named
    to_customer: bool
    active: bool
    breach_id: int
    kind: str
    due_at: str
    team_id: str | None
    band: str | None
    escalation_points: float
    notify_team_id: str | None
    queue: QueueEntry | None
