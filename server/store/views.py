"""Row shapes and views: how stored rows leave the store.

Rows leave as plain JSON-ready dicts (the "views" the bus, the widget and the console share),
never as asyncpg records.
"""

from __future__ import annotations

from datetime import datetime
from typing import TypedDict
from uuid import UUID

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from server.errors import NotFound
from server.payloads import (
    ConversationView,
    MessageView,
    NluSummary,
)

# A plain connection or one borrowed from the pool: every function here takes either.
Conn = asyncpg.Connection | PoolConnectionProxy
# The pool and Postgres's error, named here so that no module outside the store imports asyncpg.
Pool = asyncpg.Pool
DatabaseError = asyncpg.PostgresError


class Inbox(TypedDict):
    id: str
    brand_id: str
    channel: str
    address: str
    name: str


class ConversationRow(TypedDict):
    id: str
    inbox_id: str
    contact_id: str
    channel: str
    status: str
    assignee_id: str | None
    last_seq: int


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def optional_str(value: UUID | None) -> str | None:
    return str(value) if value is not None else None


def message_view(row: asyncpg.Record) -> MessageView:
    """A stored message as the widget and console see it."""
    external_id = row["external_id"]
    view: MessageView = {
        "id": row["id"],
        "conversation_id": str(row["conversation_id"]),
        "seq": row["seq"],
        "direction": row["direction"],
        "author_kind": row["author_kind"],
        "author_id": optional_str(row["author_id"]),
        "channel": row["channel"],
        # external ids are scoped "<author>:<client id>"; clients only know their own part.
        "client_id": external_id.split(":", 1)[-1] if external_id else None,
        "text": row["text"],
        "created_at": iso(row["created_at"]),
        "nlu": _nlu_summary(row),
    }
    keys = row.keys()
    meta = (row["meta"] if "meta" in keys else None) or {}
    for name in ("subject", "automated"):
        if meta.get(name):
            view[name] = meta[name]
    if meta.get("attachments"):
        view["attachments"] = meta["attachments"]
    if meta.get("csat") is not None:
        view["csat"] = meta["csat"]
    if meta.get("kb"):
        view["kb"] = meta["kb"]
    # By get(), not `in keys`: keys is an iterator, and a look-up past the delivery columns
    # would use it up before they are looked for.
    if row.get("author_name"):
        view["author_name"] = row["author_name"]
    if "full_text" in meta or meta.get("receipt_id"):
        view["original"] = True
    if "delivery_status" in keys and row["delivery_status"] is not None:
        view["delivery"] = {
            "status": row["delivery_status"],
            "detail": row["delivery_detail"] if "delivery_detail" in keys else None,
        }
    return view


def _nlu_summary(row: asyncpg.Record) -> NluSummary | None:
    """What the console shows beside a customer's message: intent, confidence, entities,
    language, sentiment. Bot messages carry the action that produced them instead."""
    keys = row.keys()
    nlu = row["nlu"] if "nlu" in keys else None
    if nlu is None:
        meta = row["meta"] if "meta" in keys else None
        return {"action": meta["action"]} if meta and meta.get("action") else None
    summary: NluSummary = {
        "intent": nlu.get("intent"),
        "confidence": nlu.get("confidence"),
        "entities": [{"entity": e["entity"], "value": e["value"]} for e in nlu.get("entities", [])],
        "language": nlu.get("language"),
        "sentiment": nlu.get("sentiment"),
        "engine": nlu.get("engine"),
    }
    scope = nlu.get("scope")
    if isinstance(scope, dict) and scope.get("out_of_scope"):
        summary["out_of_scope"] = [str(r) for r in scope.get("reasons") or []]
    if nlu.get("retrieval_intent"):
        summary["retrieval_intent"] = str(nlu["retrieval_intent"])
    return summary


CONVERSATION_VIEW_SQL = """
    SELECT c.id, c.brand_id, c.inbox_id, c.contact_id, c.channel, c.status, c.priority,
           c.assignee_id, c.last_seq, c.last_message_at, c.created_at, c.updated_at,
           c.handoff_reason, c.handoff_at, c.language, ct.vip AS contact_vip,
           ct.name AS contact_name, ct.email AS contact_email, a.name AS assignee_name,
           c.team_id, t.name AS team_name, c.required_skills, c.intent, c.priority_parts,
           c.band, c.queued_at, c.assigned_at, c.first_response_due, c.resolution_due,
           c.first_response_at, ct.tier AS contact_tier, c.subject, ct.verified AS contact_verified,
           c.labels,
           (SELECT m.text FROM messages m
             WHERE m.conversation_id = c.id AND m.author_kind = 'customer'
             ORDER BY m.seq DESC LIMIT 1) AS preview
      FROM conversations c
      JOIN contacts ct ON ct.id = c.contact_id
      LEFT JOIN agents a ON a.id = c.assignee_id
      LEFT JOIN teams t ON t.id = c.team_id
"""


def conversation_view(row: asyncpg.Record) -> ConversationView:
    """A conversation as a console list item; the preview is what the customer said last."""
    preview = row["preview"]
    return {
        "id": str(row["id"]),
        "brand_id": str(row["brand_id"]),
        "inbox_id": str(row["inbox_id"]),
        "contact": {
            "id": str(row["contact_id"]),
            "name": row["contact_name"],
            "email": row["contact_email"],
            "vip": row["contact_vip"],
            "tier": row["contact_tier"],
            "verified": row["contact_verified"],
        },
        "handoff_reason": row["handoff_reason"],
        "handoff_at": iso(row["handoff_at"]),
        "language": row["language"],
        "channel": row["channel"],
        "status": row["status"],
        "priority": row["priority"],
        # The standing priority's contributions; the queue adds waiting time and the SLA.
        "priority_parts": row["priority_parts"],
        "band": row["band"],
        "intent": row["intent"],
        "team": {"id": str(row["team_id"]), "name": row["team_name"]} if row["team_id"] else None,
        "required_skills": list(row["required_skills"]),
        "queued_at": iso(row["queued_at"]),
        "assigned_at": iso(row["assigned_at"]),
        "first_response_due": iso(row["first_response_due"]),
        "resolution_due": iso(row["resolution_due"]),
        "first_response_at": iso(row["first_response_at"]),
        "assignee": (
            {"id": str(row["assignee_id"]), "name": row["assignee_name"]}
            if row["assignee_id"]
            else None
        ),
        "last_seq": row["last_seq"],
        "last_message_at": iso(row["last_message_at"]),
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
        "preview": preview[:200] if preview else None,
        "labels": list(row["labels"]),
        "subject": row["subject"],
    }


def conversation_row_of(row: asyncpg.Record, prefix: str = "") -> ConversationRow:
    """The conversation's columns, named ``<prefix><column>`` when joined with other tables."""
    return ConversationRow(
        id=str(row[prefix + "id"]),
        inbox_id=str(row[prefix + "inbox_id"]),
        contact_id=str(row[prefix + "contact_id"]),
        channel=row[prefix + "channel"],
        status=row[prefix + "status"],
        assignee_id=optional_str(row[prefix + "assignee_id"]),
        last_seq=row[prefix + "last_seq"],
    )


def parse_uuid(value: str) -> UUID:
    """A conversation id from a client: a malformed one is simply not found (404, not 500)."""
    try:
        return UUID(value)
    except ValueError:
        raise NotFound(f"no conversation {value!r}") from None
