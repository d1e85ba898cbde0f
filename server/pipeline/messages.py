"""What the pipeline's steps share: the stored-message value, the meta a message keeps, the
event that announces it, and publishing after the commit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from channels.base import Attachment, InboundMessage
from server import events
from server.events import Event
from server.live.bus import EventBus
from server.payloads import MessageView
from server.store import ConversationRow


@dataclass(frozen=True, slots=True)
class Stored:
    """The stored message and whether it had been stored before (a retried delivery)."""

    message: MessageView
    duplicate: bool
    # It answered a resolved conversation's survey (a rating): nothing to route.
    survey_answer: bool = False
    # Routed already, in the transaction that stored it (Decider.hand_over_opened).
    routed: bool = False
    # A redelivery of a message stored but left unrouted with no node routing it
    # (Pipeline._stored_before).
    unrouted: bool = False


class AlreadyStored(Exception):
    """Raised inside a transaction to roll it back when a concurrent twin won the insert."""


async def publish(bus: EventBus, stored_events: list[Event]) -> None:
    """Publish events already committed (write first, then publish)."""
    for event in stored_events:
        await bus.publish(event)


def meta_of(inbound: InboundMessage) -> dict[str, Any]:
    """What is kept with the message beside its text: the channel's details, the subject, why
    a machine sent it, and the list of its attachments (the files go to their own table)."""
    meta: dict[str, Any] = dict(inbound.meta)
    if inbound.subject:
        meta["subject"] = inbound.subject
    if inbound.automated:
        meta["automated"] = inbound.automated
    if inbound.attachments:
        meta["attachments"] = listing(inbound.attachments)
    return meta


def listing(attachments: tuple[Attachment, ...]) -> list[dict[str, Any]]:
    """Attachments as a message's meta lists them (the bytes are in their own table)."""
    return [
        {"n": n, "filename": a.filename, "content_type": a.content_type, "size": len(a.content)}
        for n, a in enumerate(attachments)
    ]


def message_created(
    conv: ConversationRow, message: MessageView, event_id: int | None = None
) -> Event:
    # The inbox and contact ride along so every node's hubs can route without a query.
    return Event(
        events.MESSAGE_CREATED,
        conv["id"],
        {"message": message, "inbox_id": conv["inbox_id"], "contact_id": conv["contact_id"]},
        id=event_id,
    )
