"""Search in the console: messages by their words, contacts by name or address; only in the
conversations the searching agent may see (``Reach``), newest first, a page at a time.

Messages are matched on their stored words (``messages.words``, migration 0021) rather than on
``to_tsvector(text)`` computed in the query: for a first page Postgres often walks messages
newest first and keeps those that match, and a stored vector makes each step cheap.

Each message's words are stemmed in its own language's configuration (migration 0025:
english, french, or simple for the others), so a query is looked for in each of the three:
"orders" finds "order" in English, "livraisons" finds "livraison" in French, and a word no
stemmer knows still matches as it is written. Each side is also compared with its accents
taken off ("telephone" finds "téléphone"). The three are ORed into one tsquery, so one GIN
scan answers. The price of ORing: a message matches when any of the three readings of the
query matches it, so ``-word`` excludes it only if every reading does; with an inflected word
it may not ("order -refunds": the simple reading looks for "order" without "refunds" as
written, and an English message "order refund" has the stem "refund"). The singular form,
which every configuration leaves as it is, excludes as expected.

Customers are found by name and address in the simple configuration (names are in no
language), accents folded likewise: "Helene" finds "Hélène"."""

from __future__ import annotations

from typing import TypedDict

from server.payloads import ConversationView
from server.store.conversations import reach_filter, reach_params
from server.store.views import CONVERSATION_VIEW_SQL, Conn, conversation_view, iso
from web_console.access import Reach

PAGE = 50


class MessageHit(TypedDict):
    message_id: int
    conversation_id: str
    seq: int
    author_kind: str
    text: str
    created_at: str | None


class SearchPage(TypedDict):
    messages: list[MessageHit]
    conversations: list[ConversationView]
    # Pass as ``before`` for the next page of messages; None when this was the last.
    next_before: int | None


async def search(conn: Conn, query: str, reach: Reach, before: int | None) -> SearchPage:
    """Messages matching the words (websearch syntax: "quoted phrase", -not, or), newest
    first; and the conversations of contacts whose name or address matches (first page only).
    """
    rows = await conn.fetch(
        """SELECT m.id, m.conversation_id, m.seq, m.author_kind, m.text, m.created_at
             FROM messages m JOIN conversations c ON c.id = m.conversation_id
            WHERE m.words @@ (search_query('english', $1) || search_query('french', $1)
                              || search_query('simple', $1))
              AND ($2::bigint IS NULL OR m.id < $2) AND """
        + reach_filter(4)
        + " ORDER BY m.id DESC LIMIT $3",
        query,
        before,
        PAGE + 1,
        *reach_params(reach),
    )
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    conversations: list[ConversationView] = []
    if before is None:
        found = await conn.fetch(
            CONVERSATION_VIEW_SQL
            + """ WHERE search_words('simple', coalesce(ct.name, '') || ' '
                                      || coalesce(ct.email, ''))
                        @@ search_query('simple', $1) AND """
            + reach_filter(3)
            + " ORDER BY c.last_message_at DESC NULLS LAST LIMIT $2",
            query,
            PAGE,
            *reach_params(reach),
        )
        conversations = [conversation_view(r) for r in found]
    return SearchPage(
        messages=[
            MessageHit(
                message_id=r["id"],
                conversation_id=str(r["conversation_id"]),
                seq=r["seq"],
                author_kind=r["author_kind"],
                text=r["text"][:300],
                created_at=iso(r["created_at"]),
            )
            for r in rows
        ],
        conversations=conversations,
        next_before=rows[-1]["id"] if more else None,
    )
