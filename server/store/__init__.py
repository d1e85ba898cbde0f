"""SQL for the core tables. Functions take a connection, so the pipeline owns transactions.

``views`` says how rows leave the store (JSON-ready dicts, never asyncpg records); the other
modules hold the queries for one table each.
"""

from server.store.contacts import (
    brand_of_contact,
    contact_by_identity,
    contact_id_by_reference,
    ensure_inbox,
    fill_missing_profile,
    fill_profile,
    inbox_address_of_conversation,
    inbox_address_of_message,
    inbox_by_address,
    merge_contacts,
    resolve_contact,
)
from server.store.conversations import (
    NO_OPEN_CONVERSATION,
    append_to_open_conversation,
    conversation,
    conversation_row,
    conversations,
    conversations_by_id,
    latest_conversation_id,
    lock_open_conversation,
    lock_thread_conversation,
)
from server.store.event_log import events_after, last_event_id, store_events
from server.store.messages import (
    attachment,
    attachments_of,
    conversation_of_message,
    insert_attachments,
    insert_message,
    message_by_external_id,
    message_text,
    messages_after,
)
from server.store.nlu import (
    dialogue_history,
    offered_buttons,
    return_to_bot,
    routing_facts,
    set_bot_state,
    set_handoff,
    store_interpretation,
    unrouted_messages,
)
from server.store.orders import describe_order, order_by_number
from server.store.views import Conn, ConversationRow, DatabaseError, Inbox, Pool, message_view

__all__ = [
    "NO_OPEN_CONVERSATION",
    "Conn",
    "ConversationRow",
    "DatabaseError",
    "Inbox",
    "Pool",
    "append_to_open_conversation",
    "attachment",
    "attachments_of",
    "brand_of_contact",
    "contact_by_identity",
    "contact_id_by_reference",
    "conversation",
    "conversation_of_message",
    "conversation_row",
    "conversations",
    "conversations_by_id",
    "describe_order",
    "dialogue_history",
    "ensure_inbox",
    "events_after",
    "fill_missing_profile",
    "fill_profile",
    "inbox_address_of_conversation",
    "inbox_address_of_message",
    "inbox_by_address",
    "insert_attachments",
    "insert_message",
    "last_event_id",
    "latest_conversation_id",
    "lock_open_conversation",
    "lock_thread_conversation",
    "merge_contacts",
    "message_by_external_id",
    "message_text",
    "message_view",
    "messages_after",
    "offered_buttons",
    "order_by_number",
    "resolve_contact",
    "return_to_bot",
    "routing_facts",
    "set_bot_state",
    "set_handoff",
    "store_events",
    "store_interpretation",
    "unrouted_messages",
]
