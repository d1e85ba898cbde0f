"""What the console's context panel shows beside a conversation, in one read: who the
customer is (every identity across channels), their other conversations with how each ended,
their orders, the message that made the bot hand over, the sentiment over the
conversation, and the customer's rating of it once resolved."""

from __future__ import annotations

from typing import TypedDict
from uuid import UUID

from server.errors import NotFound
from server.store.conversations import reach_filter, reach_params
from server.store.csat import CsatView, csat_of
from server.store.kb_feedback import ShownArticle, shown_in
from server.store.profiles import LookAlike, look_alikes
from server.store.views import Conn, iso
from web_console.access import Reach


class Identity(TypedDict):
    channel: str
    external_id: str
    since: str | None


class CustomerCard(TypedDict):
    id: str
    name: str | None
    email: str | None
    verified: bool
    vip: bool
    tier: str | None
    value: float
    since: str | None
    identities: list[Identity]
    phone: str | None
    notes: str | None
    labels: list[str]
    time_zone: str | None
    # The language of their latest conversation that has one.
    language: str | None
    # Other contacts of the brand sharing their email or phone: maybe the same person.
    look_alikes: list[LookAlike]


class PastConversation(TypedDict):
    id: str
    channel: str
    status: str
    subject: str | None
    intent: str | None
    handoff_reason: str | None
    assignee: str | None
    created_at: str | None
    resolved_at: str | None
    messages: int
    # The customer's rating of it (1-5), when they gave one.
    rating: int | None


class OrderLine(TypedDict):
    number: str
    status: str
    carrier: str | None
    tracking_number: str | None
    estimated_delivery: str | None
    delivered_on: str | None


class HandoffMoment(TypedDict):
    reason: str | None
    at: str | None
    # The customer's last message before the handoff: what the bot could not answer.
    message_id: int | None
    seq: int | None
    text: str | None


class SentimentPoint(TypedDict):
    seq: int
    sentiment: float


class Context(TypedDict):
    customer: CustomerCard
    conversations: list[PastConversation]
    orders: list[OrderLine]
    handoff: HandoffMoment
    sentiment: list[SentimentPoint]
    # This conversation's rating survey once it was resolved: when asked, the customer's
    # rating and comment when they answered (past conversations carry only the rating).
    csat: CsatView | None
    # The knowledge-base articles used in this conversation (shown by the bot, suggested to
    # or sent by an agent), in order, each with its verdict (issue 18).
    articles: list[ShownArticle]


PAST_LIMIT = 20


async def conversation_context(conn: Conn, conversation_id: UUID, reach: Reach) -> Context:
    """The panel's data; the customer's other conversations are those the reach lets its
    agent see (an agent of one team does not learn of another team's)."""
    conversation = await conn.fetchrow(
        "SELECT contact_id, handoff_reason, handoff_at FROM conversations WHERE id = $1",
        conversation_id,
    )
    if conversation is None:
        raise NotFound(f"no conversation {conversation_id}")
    contact_id = conversation["contact_id"]
    contact = await conn.fetchrow(
        """SELECT c.id, c.name, c.email, c.verified, c.vip, c.tier, c.lifetime_value,
                  c.created_at, c.phone, c.notes, c.labels, c.time_zone,
                  (SELECT v.language FROM conversations v
                    WHERE v.contact_id = c.id AND v.language IS NOT NULL
                    ORDER BY v.created_at DESC LIMIT 1) AS language,
                  coalesce((SELECT jsonb_agg(jsonb_build_object(
                                'channel', i.channel, 'external_id', i.external_id,
                                'since', i.created_at) ORDER BY i.created_at)
                              FROM contact_identities i WHERE i.contact_id = c.id), '[]')
                  AS identities
             FROM contacts c WHERE c.id = $1""",
        contact_id,
    )
    assert contact is not None  # conversations.contact_id references contacts
    past = await conn.fetch(
        """SELECT c.id, c.channel, c.status, c.subject, c.intent, c.handoff_reason,
                  a.name AS assignee, c.created_at, c.resolved_at, c.last_seq, s.rating
             FROM conversations c LEFT JOIN agents a ON a.id = c.assignee_id
             LEFT JOIN csat s ON s.conversation_id = c.id
            WHERE c.contact_id = $1 AND c.id <> $2 AND """
        + reach_filter(4)
        + " ORDER BY c.created_at DESC LIMIT $3",
        contact_id,
        conversation_id,
        PAST_LIMIT,
        *reach_params(reach),
    )
    orders = await conn.fetch(
        """SELECT number, status, carrier, tracking_number, estimated_delivery, delivered_on
             FROM orders WHERE contact_id = $1 ORDER BY created_at DESC LIMIT 20""",
        contact_id,
    )
    trigger = None
    if conversation["handoff_at"] is not None:
        trigger = await conn.fetchrow(
            """SELECT id, seq, text FROM messages
                WHERE conversation_id = $1 AND author_kind = 'customer' AND created_at <= $2
                ORDER BY seq DESC LIMIT 1""",
            conversation_id,
            conversation["handoff_at"],
        )
    sentiment = await conn.fetch(
        """SELECT seq, sentiment FROM messages
            WHERE conversation_id = $1 AND author_kind = 'customer' AND sentiment IS NOT NULL
            ORDER BY seq DESC LIMIT 50""",
        conversation_id,
    )
    return Context(
        customer=CustomerCard(
            id=str(contact["id"]),
            name=contact["name"],
            email=contact["email"],
            verified=contact["verified"],
            vip=contact["vip"],
            tier=contact["tier"],
            value=float(contact["lifetime_value"]),
            since=iso(contact["created_at"]),
            identities=[
                Identity(channel=i["channel"], external_id=i["external_id"], since=i["since"])
                for i in contact["identities"]
            ],
            phone=contact["phone"],
            notes=contact["notes"],
            labels=list(contact["labels"]),
            time_zone=contact["time_zone"],
            language=contact["language"],
            look_alikes=await look_alikes(conn, contact_id, reach),
        ),
        conversations=[
            PastConversation(
                id=str(r["id"]),
                channel=r["channel"],
                status=r["status"],
                subject=r["subject"],
                intent=r["intent"],
                handoff_reason=r["handoff_reason"],
                assignee=r["assignee"],
                created_at=iso(r["created_at"]),
                resolved_at=iso(r["resolved_at"]),
                messages=r["last_seq"],
                rating=r["rating"],
            )
            for r in past
        ],
        orders=[
            OrderLine(
                number=r["number"],
                status=r["status"],
                carrier=r["carrier"],
                tracking_number=r["tracking_number"],
                estimated_delivery=iso_date(r["estimated_delivery"]),
                delivered_on=iso_date(r["delivered_on"]),
            )
            for r in orders
        ],
        handoff=HandoffMoment(
            reason=conversation["handoff_reason"],
            at=iso(conversation["handoff_at"]),
            message_id=trigger["id"] if trigger else None,
            seq=trigger["seq"] if trigger else None,
            text=trigger["text"] if trigger else None,
        ),
        sentiment=[
            SentimentPoint(seq=r["seq"], sentiment=float(r["sentiment"]))
            for r in reversed(sentiment)
        ],
        csat=await csat_of(conn, str(conversation_id)),
        articles=await shown_in(conn, conversation_id),
    )


def iso_date(value: object) -> str | None:
    return None if value is None else str(value)
