"""Customer messages of several senders stored by one statement (server/store/appends.py):
each in its sender's open conversation with the next seq and its message.created event, a
redelivery stored once with no gap in the seqs, a sender without an open conversation told
so, and two senders of one contact refused together (the caller stores them one by one)."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import asyncpg
import pytest

from nlu.base import Interpretation
from server import store
from server.store import appends
from tests.harness import until


async def _sender(pool: asyncpg.Pool, name: str, *, conversation: bool = True) -> str:
    """A web-chat visitor ``name`` of the demo inbox, with an open conversation."""
    row = await pool.fetchrow(
        """WITH contact AS (
               INSERT INTO contacts (brand_id, name)
               SELECT brand_id, $1 FROM inboxes WHERE address = 'demo-web' RETURNING id),
           identity AS (
               INSERT INTO contact_identities (contact_id, channel, external_id)
               SELECT id, 'webchat', $1 FROM contact RETURNING contact_id)
           SELECT contact_id FROM identity""",
        name,
    )
    assert row is not None
    if conversation:
        await pool.execute(
            """INSERT INTO conversations (brand_id, inbox_id, contact_id, channel, status)
               SELECT i.brand_id, i.id, $1, 'webchat', 'queued' FROM inboxes i
                WHERE i.address = 'demo-web'""",
            row["contact_id"],
        )
    return str(row["contact_id"])


async def _inbox(pool: asyncpg.Pool) -> store.Inbox:
    async with pool.acquire() as conn:
        return await store.inbox_by_address(conn, "webchat", "demo-web")


def _append(inbox: store.Inbox, sender: str, n: int) -> appends.Append:
    return appends.Append(inbox, sender, f"{sender}:{n}", f"hello {n}", {})


async def test_each_sender_s_message_gets_the_next_seq_and_its_event(
    pool: asyncpg.Pool,
) -> None:
    inbox = await _inbox(pool)
    for name in ("ann", "bob"):
        await _sender(pool, name)
    await _sender(pool, "cy", conversation=False)
    async with pool.acquire() as conn:
        first = await appends.append_many(
            conn, [_append(inbox, "ann", 1), _append(inbox, "cy", 1), _append(inbox, "bob", 1)]
        )
        second = await appends.append_many(
            conn, [_append(inbox, "bob", 2), _append(inbox, "ann", 2)]
        )
    assert first[1] is store.NO_OPEN_CONVERSATION
    stored = [first[0], first[2], *second]
    seqs = []
    for outcome in stored:
        assert isinstance(outcome, appends.AppendedMessage)
        conv, message, event_id = outcome.conversation, outcome.message, outcome.event_id
        assert outcome.interpreted_event_id is None  # it came with no interpretation
        assert message is not None
        assert event_id is not None
        # The conversation as it was before this message.
        assert conv["last_seq"] == message["seq"] - 1
        assert message["conversation_id"] == conv["id"]
        assert message["author_kind"] == "customer"
        event = await pool.fetchrow("SELECT name, data FROM events WHERE id = $1", event_id)
        assert event is not None
        assert event["name"] == "message.created"
        assert event["data"] == {
            "message_id": message["id"],
            "inbox_id": conv["inbox_id"],
            "contact_id": conv["contact_id"],
        }
        seqs.append((message["client_id"], message["seq"]))
    assert sorted(seqs) == [("1", 1), ("1", 1), ("2", 2), ("2", 2)]
    kept = await pool.fetch("SELECT last_seq FROM conversations ORDER BY last_seq")
    assert [r["last_seq"] for r in kept] == [2, 2]


async def test_a_redelivery_is_stored_once_and_leaves_no_gap(pool: asyncpg.Pool) -> None:
    inbox = await _inbox(pool)
    await _sender(pool, "ann")
    await _sender(pool, "bob")
    async with pool.acquire() as conn:
        await appends.append_many(conn, [_append(inbox, "ann", 1)])
        again = await appends.append_many(
            conn, [_append(inbox, "ann", 1), _append(inbox, "bob", 1)]
        )
        after = await appends.append_many(conn, [_append(inbox, "ann", 2)])
    redelivered = again[0]
    assert isinstance(redelivered, appends.AppendedMessage)
    assert redelivered.message is None
    assert redelivered.event_id is None
    newer = after[0]
    assert isinstance(newer, appends.AppendedMessage)
    assert newer.message is not None
    assert newer.message["seq"] == 2
    assert await pool.fetchval("SELECT count(*) FROM messages") == 3
    assert await pool.fetchval("SELECT count(*) FROM events WHERE name = 'message.created'") == 3


async def test_two_senders_of_one_contact_are_refused_together(pool: asyncpg.Pool) -> None:
    """A verified visitor on two devices: two identities, one contact, one conversation."""
    inbox = await _inbox(pool)
    contact_id = await _sender(pool, "ann")
    await pool.execute(
        "INSERT INTO contact_identities (contact_id, channel, external_id)"
        " VALUES ($1, 'webchat', 'ann-phone')",
        contact_id,
    )
    async with pool.acquire() as conn:
        with pytest.raises(asyncpg.UniqueViolationError):
            await appends.append_many(
                conn, [_append(inbox, "ann", 1), _append(inbox, "ann-phone", 1)]
            )
    assert await pool.fetchval("SELECT count(*) FROM messages") == 0


_UPDATES = (
    "SELECT n_tup_upd AS updated, n_tup_hot_upd AS hot"
    " FROM pg_stat_user_tables WHERE relname = 'conversations'"
)


async def test_a_message_updates_its_conversation_without_touching_an_index(
    pool: asyncpg.Pool,
) -> None:
    """The conversation's per-message update (seq, last message's time) is a HOT update: the
    only indexed column it changes is the last message's hour (migration 0043), so after the
    first message of an hour no index entry is written. Each message in its own transaction,
    so each changes last_message_at (now() is the transaction's start); before 0043 that
    column was indexed and no such update was HOT."""
    inbox = await _inbox(pool)
    await _sender(pool, "ann")
    async with pool.acquire() as conn:

        async def counters() -> asyncpg.Record:
            # This backend's statistics reach the shared ones when it next goes idle.
            await conn.execute("SELECT pg_stat_force_next_flush()")
            await conn.execute("SELECT pg_stat_clear_snapshot()")
            row = await conn.fetchrow(_UPDATES)
            assert row is not None
            return row

        await appends.append_many(conn, [_append(inbox, "ann", 1)])
        before = await counters()
        for n in range(2, 5):
            await appends.append_many(conn, [_append(inbox, "ann", n)])
        after = await counters()
        times = await conn.fetch(
            "SELECT created_at FROM messages WHERE text LIKE 'hello %' ORDER BY seq"
        )
    assert len({t["created_at"] for t in times}) == 4
    # A message in a new hour changes the indexed hour (rare: the test would cross one).
    new_hours = len({t["created_at"].replace(minute=0, second=0, microsecond=0) for t in times}) - 1
    updated, hot = after["updated"] - before["updated"], after["hot"] - before["hot"]
    assert (updated, hot) == (3, 3 - new_hours)


def _understood(inbox: store.Inbox, sender: str, n: int, seen: str | None = None) -> appends.Append:
    """A message understood before it is stored, for a conversation in language ``seen``."""
    read = Interpretation(
        text=f"hello {n}", intent="unknown", confidence=0.0, engine="none", sentiment=-0.5
    )
    return replace(_append(inbox, sender, n), understood=appends.Understood(seen, read))


async def test_a_message_understood_before_is_stored_routed_with_its_event_after_its_own(
    pool: asyncpg.Pool,
) -> None:
    """To a conversation waiting for a person, the interpretation made before the statement
    is written with the message, and its message.interpreted event follows message.created:
    the message is routed as it is stored (nothing left unrouted)."""
    inbox = await _inbox(pool)
    await _sender(pool, "ann")
    async with pool.acquire() as conn:
        (outcome,) = await appends.append_many(conn, [_understood(inbox, "ann", 1)])
        unrouted = await store.unrouted_messages(conn, 3600)
    assert isinstance(outcome, appends.AppendedMessage)
    assert outcome.message is not None
    assert outcome.message["nlu"] is not None
    assert outcome.message["nlu"]["sentiment"] == -0.5
    assert outcome.event_id is not None
    assert outcome.interpreted_event_id is not None
    assert outcome.interpreted_event_id > outcome.event_id
    event = await pool.fetchrow(
        "SELECT name, data FROM events WHERE id = $1", outcome.interpreted_event_id
    )
    assert event is not None
    assert (event["name"], event["data"]) == (
        "message.interpreted",
        {"message_id": outcome.message["id"]},
    )
    assert unrouted == []
    row = await pool.fetchrow("SELECT nlu, sentiment FROM messages")
    assert row is not None
    assert (row["sentiment"], row["nlu"]["engine"]) == (-0.5, "none")


async def test_a_message_understood_before_is_stored_unrouted_when_that_no_longer_holds(
    pool: asyncpg.Pool,
) -> None:
    """The interpretation is written only if the conversation, under its lock, still waits
    for or has a person, in the language the interpretation assumed, which the message does
    not change, and its customer's last message is understood: otherwise the message is
    stored as any other and routed after the commit."""
    inbox = await _inbox(pool)
    for name in ("bot", "fr", "de", "behind", "ok"):
        await _sender(pool, name)
    await pool.execute(
        "UPDATE conversations c SET status = 'bot' FROM contact_identities ci"
        " WHERE ci.contact_id = c.contact_id AND ci.external_id = 'bot'"
    )
    await pool.execute(
        "UPDATE conversations c SET language = 'fr' FROM contact_identities ci"
        " WHERE ci.contact_id = c.contact_id AND ci.external_id = 'fr'"
    )
    german = _understood(inbox, "de", 1)
    assert german.understood is not None
    german = replace(
        german,
        understood=replace(
            german.understood,
            interpretation=replace(german.understood.interpretation, language="de"),
        ),
    )
    async with pool.acquire() as conn:
        # "behind": its first message is stored unrouted (a routing still to come).
        await appends.append_many(conn, [_append(inbox, "behind", 0)])
        outcomes = await appends.append_many(
            conn,
            [
                _understood(inbox, "bot", 1),  # the bot has the conversation
                _understood(inbox, "fr", 1),  # understood as if it had no language
                german,  # the message would change the conversation's language
                _understood(inbox, "behind", 1),  # an earlier message is not understood
                _understood(inbox, "ok", 1),
            ],
        )
        unrouted = await store.unrouted_messages(conn, 3600)
    decided = []
    for outcome in outcomes:
        assert isinstance(outcome, appends.AppendedMessage)
        assert outcome.message is not None
        decided.append(outcome.interpreted_event_id is not None)
        assert (outcome.message["nlu"] is not None) == decided[-1]
    assert decided == [False, False, False, False, True]
    assert sorted(m["client_id"] or "" for m in unrouted) == ["0", "1", "1", "1", "1"]
    assert (
        await pool.fetchval("SELECT count(*) FROM events WHERE name = 'message.interpreted'") == 1
    )


async def test_an_agent_reply_does_not_hide_an_unrouted_customer_message(
    pool: asyncpg.Pool,
) -> None:
    """A customer's message stored unrouted, an agent's reply, then an understood message:
    the last is not routed by its statement ahead of the first (the review's finding 1b)."""
    inbox = await _inbox(pool)
    await _sender(pool, "ann")
    async with pool.acquire() as conn:
        (a,) = await appends.append_many(conn, [_append(inbox, "ann", 1)])  # unrouted
        assert isinstance(a, appends.AppendedMessage)
        assert a.message is not None
        await conn.execute(
            """WITH c AS (UPDATE conversations SET last_seq = last_seq + 1
                           WHERE id = $1 RETURNING last_seq)
               INSERT INTO messages (conversation_id, seq, direction, author_kind, channel, text)
               SELECT $1, c.last_seq, 'out', 'agent', 'webchat', 'looking' FROM c""",
            a.conversation["id"],
        )
        (b,) = await appends.append_many(conn, [_understood(inbox, "ann", 2)])
    assert isinstance(b, appends.AppendedMessage)
    assert b.interpreted_event_id is None, "routed ahead of an unrouted earlier customer message"


async def test_a_message_appended_while_waiting_for_the_lock_is_not_overtaken(
    pool: asyncpg.Pool,
) -> None:
    """An unrouted message committed while an understood one's statement waits for the
    conversation's lock: the waiting one is not routed ahead of it (the review's finding 1a;
    the statement's snapshot does not hold the message its lock waited for)."""
    inbox = await _inbox(pool)
    await _sender(pool, "ann")
    first = await pool.acquire()
    second = await pool.acquire()
    try:
        tx = first.transaction()
        await tx.start()
        (a,) = await appends.append_many(first, [_append(inbox, "ann", 1)])  # unrouted, uncommitted
        assert isinstance(a, appends.AppendedMessage)
        assert a.message is not None
        task = asyncio.create_task(appends.append_many(second, [_understood(inbox, "ann", 2)]))
        pid = second.get_server_pid()
        # Wait on recorded state: the second statement blocked on the first's row lock.
        await until(
            lambda: pool.fetchval(
                "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $1", pid
            )
        )
        await tx.commit()
        (b,) = await task
        assert isinstance(b, appends.AppendedMessage)
        assert b.message is not None
        # Strict order leaves the second unrouted while the first is:
        assert b.interpreted_event_id is None, "routed ahead of an unrouted earlier message"
    finally:
        await pool.release(first)
        await pool.release(second)


async def test_the_guard_reads_a_bounded_window_and_past_it_goes_the_long_way(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The customer's last message is looked for among the conversation's last GUARD_WINDOW
    messages only (a bounded range of its key, whatever the planner thinks of the table):
    found understood, the next message is routed as it is stored; not found in the window,
    it goes the long way (routed after the commit), which is always correct."""
    monkeypatch.setattr(appends, "GUARD_WINDOW", 3)
    inbox = await _inbox(pool)
    await _sender(pool, "ann")

    async def agent_says(conn: store.Conn, conversation_id: str) -> None:
        await conn.execute(
            """WITH c AS (UPDATE conversations SET last_seq = last_seq + 1
                           WHERE id = $1 RETURNING last_seq)
               INSERT INTO messages (conversation_id, seq, direction, author_kind, channel, text)
               SELECT $1, c.last_seq, 'out', 'agent', 'webchat', 'looking' FROM c""",
            conversation_id,
        )

    async with pool.acquire() as conn:
        (a,) = await appends.append_many(conn, [_understood(inbox, "ann", 1)])  # seq 1
        assert isinstance(a, appends.AppendedMessage)
        assert a.interpreted_event_id is not None
        conversation_id = a.conversation["id"]
        await agent_says(conn, conversation_id)  # seq 2
        await agent_says(conn, conversation_id)  # seq 3
        # Seqs 1-3 in the window: the customer's message 1 is understood.
        (b,) = await appends.append_many(conn, [_understood(inbox, "ann", 2)])  # seq 4
        assert isinstance(b, appends.AppendedMessage)
        assert b.interpreted_event_id is not None
        for _ in range(3):
            await agent_says(conn, conversation_id)  # seqs 5-7
        # Seqs 5-7 in the window: no customer message in it, so the long way.
        (c,) = await appends.append_many(conn, [_understood(inbox, "ann", 3)])
        assert isinstance(c, appends.AppendedMessage)
        assert c.message is not None
        assert c.interpreted_event_id is None
        assert c.message["nlu"] is None
