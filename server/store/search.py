"""Search in the console: messages by their words, contacts by name or address; only in the
conversations the searching agent may see (``Reach``), newest first, a page at a time.

Messages are matched on their stored words (``messages.words``, migration 0021) rather than on
``to_tsvector(text)`` computed in the query: for a first page Postgres often walks messages
newest first and keeps those that match, and a stored vector makes each step cheap.

Each message's words are stemmed in its own language's configuration (migration 0025:
english, french, or simple for the others), so a query is looked for in each of the three:
"orders" finds "order" in English, "livraisons" finds "livraison" in French, and a word no
stemmer knows still matches as it is written. Each side is also compared with its accents
taken off ("telephone" finds "téléphone"). The distinct readings are ORed into one tsquery,
so one GIN scan answers. The price of ORing: a message matches when any reading of the query
matches it, so ``-word`` excludes it only if every reading does; with an inflected word it
may not ("order -refunds": the simple reading looks for "order" without "refunds" as
written, and an English message "order refund" has the stem "refund"). The singular form,
which every configuration leaves as it is, excludes as expected.

Customers are found by name and address in the simple configuration (names are in no
language), accents folded likewise: "Helene" finds "Hélène"."""

from __future__ import annotations

from typing import TypedDict

import asyncpg

from server.payloads import ConversationView
from server.store.conversations import reach_filter, reach_params
from server.store.views import CONVERSATION_VIEW_SQL, Conn, conversation_view, iso
from web_console.access import Reach

PAGE = 50
# How each text-search configuration in use reads the query (migration 0025's search_query:
# websearch syntax, accents folded too), as tsquery texts, each distinct reading once.
READINGS_SQL = """SELECT DISTINCT search_query(config, $1::text)::text AS reading
                    FROM unnest('{english,french,simple}'::regconfig[]) AS config"""

# A page of messages is found in one of two ways, and which one is ours to pick: Postgres
# picks from its estimate of how many messages match, and a word no message holds is
# estimated at hundreds (half the rarest word it sampled); it then walks every message newest
# first looking for them (0.5-0.8 s over a million). So, in turn, until the page is full:
# - the NEWEST messages (below ``before``), newest first, keeping the matches: a common word
#   (one message in a hundred or more) fills the page there (a ms or two);
# - unless the index holds no more than a page of matches in all (FEW_SQL, a fraction of a ms
#   for such a word), the RECENT newest messages likewise: a word in one message of a
#   thousand or more fills it (at most RECENT read, ~10-25 ms);
# - every match, from the index (few by then), sorted ("m.id + 0": not by walking the
#   primary key).
NEWEST = 5_000
RECENT = 50_000
FEW_SQL = "SELECT count(*) FROM (SELECT FROM messages WHERE words @@ $1::tsquery LIMIT $2) AS m"
_HIT = "m.id, m.conversation_id, m.seq, m.author_kind, m.text, m.created_at"
RECENT_SQL = (
    f"SELECT {_HIT}"
    + """ FROM (SELECT id, conversation_id, seq, author_kind, text, created_at, words
                  FROM messages WHERE $2::bigint IS NULL OR id < $2
                 ORDER BY id DESC LIMIT $4) m
          JOIN conversations c ON c.id = m.conversation_id
         WHERE m.words @@ $1::tsquery AND """
    + reach_filter(5)
    + " ORDER BY m.id DESC LIMIT $3"
)
MATCHES_SQL = (
    f"SELECT {_HIT}"
    + """ FROM messages m JOIN conversations c ON c.id = m.conversation_id
         WHERE m.words @@ $1::tsquery AND ($2::bigint IS NULL OR m.id < $2) AND """
    + reach_filter(4)
    + " ORDER BY m.id + 0 DESC LIMIT $3"
)


# Customers are found in one of two ways too. Postgres walks conversations newest first
# (conversations_by_activity) and keeps those whose customer's name matches: a common name
# fills the page at once, but a name few customers have, none of them recent, made it read
# every conversation (10-14 s over a million). So when the contacts' index holds no more than
# FEW_CUSTOMERS matches, their conversations are found from them instead (by_contact), and
# sorted: a few ms.
FEW_CUSTOMERS = 1_000
CUSTOMER_MATCH = """search_words('simple', coalesce(ct.name, '') || ' ' || coalesce(ct.email, ''))
                    @@ search_query('simple', $1)"""
FEW_CUSTOMERS_SQL = (
    f"SELECT count(*) FROM (SELECT FROM contacts ct WHERE {CUSTOMER_MATCH} LIMIT $2) AS m"
)
# The hour first: conversations_by_activity walks it newest first (migration 0043), and
# within an hour the exact time orders them as before.
CUSTOMERS_ORDER = " ORDER BY c.active_hour DESC NULLS LAST, c.last_message_at DESC NULLS LAST"
CUSTOMERS_WALK_SQL = (
    CONVERSATION_VIEW_SQL
    + f" WHERE {CUSTOMER_MATCH} AND "
    + reach_filter(3)
    + CUSTOMERS_ORDER
    + " LIMIT $2"
)
CUSTOMERS_FEW_SQL = (
    # MATERIALIZED: found first, whatever Postgres guesses of how many match.
    f"""WITH found AS MATERIALIZED (
            SELECT c.id FROM contacts ct JOIN conversations c ON c.contact_id = ct.id
             WHERE {CUSTOMER_MATCH})"""
    + CONVERSATION_VIEW_SQL
    + " WHERE c.id IN (SELECT id FROM found) AND "
    + reach_filter(3)
    + CUSTOMERS_ORDER
    + " LIMIT $2"
)


async def _at_most(conn: Conn, count_sql: str, query: str, most: int) -> bool:
    """Whether the index holds no more than ``most`` matches in all (``count_sql`` counts
    them up to its limit, ``$2``)."""
    async with conn.transaction():
        # From the index, never from the table's first page on: that reads far for a word
        # only recent messages hold, or after migration 0025's UPDATE of every row left the
        # first half of the table empty. (Inside a caller's transaction the setting lasts
        # until its end.)
        await conn.execute("SET LOCAL enable_seqscan = off")
        found: int = await conn.fetchval(count_sql, query, most + 1)
    return found <= most


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
    # The query's readings, each once: ORing three equal ones ("12345678" reads the same in
    # every configuration) would only make Postgres expect three times the matches.
    readings = [
        r["reading"]
        for r in await conn.fetch(READINGS_SQL, query)
        if r["reading"]  # stop words alone read as nothing in english and french
    ]
    rows: list[asyncpg.Record] = []
    if readings:
        # A tsquery's text reads back as the same tsquery.
        words = " | ".join(f"({reading})" for reading in readings)
        scope = (words, before, PAGE + 1)
        rows = await conn.fetch(RECENT_SQL, *scope, NEWEST, *reach_params(reach))
        if len(rows) <= PAGE and not await _at_most(conn, FEW_SQL, words, PAGE):
            rows = await conn.fetch(RECENT_SQL, *scope, RECENT, *reach_params(reach))
        if len(rows) <= PAGE:
            rows = await conn.fetch(MATCHES_SQL, *scope, *reach_params(reach))
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    conversations: list[ConversationView] = []
    if before is None:
        few = await _at_most(conn, FEW_CUSTOMERS_SQL, query, FEW_CUSTOMERS)
        found = await conn.fetch(
            CUSTOMERS_FEW_SQL if few else CUSTOMERS_WALK_SQL, query, PAGE, *reach_params(reach)
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
