"""The pipeline over a real Postgres: store once, route, then publish."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from uuid import UUID

import asyncpg
import pytest

from channels.base import Capabilities, InboundMessage, Sender
from nlu.base import BotMessage, BotTurn, Button, Dialogue, Interpretation, PastTurn
from nlu.understanding import Understanding
from routing.decision import BotPolicy, Texts
from server import events, store
from server.errors import Conflict, NotFound
from server.events import Event
from server.live.bus import InProcessBus
from server.metrics import Metrics
from server.payloads import MessageView
from server.pipeline.decide import Decider
from server.pipeline.flow import Pipeline, _Open
from server.pipeline.messages import AlreadyStored
from server.services import demo
from server.services.agents import create_agent
from server.store import contacts

ACK = "We got your message."


def inbound(external_id: str, text: str = "hello", visitor: str = "visitor-1") -> InboundMessage:
    return InboundMessage(
        channel="webchat",
        inbox_address=demo.WEBCHAT_INBOX,
        external_id=f"{visitor}:{external_id}",
        sender=Sender(external_id=visitor),
        text=text,
    )


@pytest.fixture
def published() -> list[Event]:
    return []


@pytest.fixture
def pipeline(pool: asyncpg.Pool, published: list[Event]) -> Pipeline:
    bus = InProcessBus(Metrics())

    def listener(event: Event) -> None:
        # Write-then-publish: by the time an event is seen, its rows are committed.
        published.append(event)

    bus.subscribe(listener)
    return bot_off_pipeline(pool, bus)


def bot_off_pipeline(pool: asyncpg.Pool, bus: InProcessBus) -> Pipeline:
    # The bot is off: every conversation goes to a human (the NLU tests cover the bot).
    return Pipeline(
        pool,
        bus,
        Metrics(),
        Understanding(None),
        BotPolicy(enabled=False),
        Texts(handoff={"en": ACK}, off_hours={"en": ACK}),
    )


async def test_first_message_opens_a_conversation_acknowledges_it_and_queues_it(
    pipeline: Pipeline, pool: asyncpg.Pool, published: list[Event]
) -> None:
    stored = await pipeline.ingest(inbound("m1", "where is my parcel?"))
    await pipeline.settled()
    assert not stored.duplicate
    assert stored.message["seq"] == 1
    assert stored.message["author_kind"] == "customer"
    rows = await pool.fetch("SELECT seq, author_kind, text FROM messages ORDER BY seq")
    assert [(r["seq"], r["author_kind"], r["text"]) for r in rows] == [
        (1, "customer", "where is my parcel?"),
        (2, "system", ACK),
    ]
    status = await pool.fetchval("SELECT status FROM conversations")
    assert status == "queued"
    assert [e.name for e in published] == [
        events.MESSAGE_CREATED,
        events.CONVERSATION_CREATED,
        events.MESSAGE_INTERPRETED,
        events.MESSAGE_CREATED,
        events.CONVERSATION_UPDATED,
    ]
    assert all(e.id is not None for e in published)
    nlu = published[2].data["message"]["nlu"]
    assert nlu is not None
    assert nlu["engine"] == "none"
    assert published[4].data["conversation"]["status"] == "queued"
    assert published[4].data["conversation"]["handoff_reason"] == "no_bot"
    # the interpretation is stored with the message even with the bot off
    row = await pool.fetchrow("SELECT language, sentiment, nlu FROM messages WHERE seq = 1")
    assert row is not None
    assert row["nlu"]["engine"] == "none"


async def test_later_messages_get_the_next_seq_and_no_second_acknowledgement(
    pipeline: Pipeline, pool: asyncpg.Pool
) -> None:
    await pipeline.ingest(inbound("m1"))
    await pipeline.settled()
    second = await pipeline.ingest(inbound("m2", "anyone there?"))
    await pipeline.settled()
    assert second.message["seq"] == 3
    assert await pool.fetchval("SELECT count(*) FROM messages WHERE author_kind = 'system'") == 1


async def test_messages_to_a_conversation_waiting_for_a_person_are_routed_as_they_are_stored(
    pipeline: Pipeline, pool: asyncpg.Pool, published: list[Event]
) -> None:
    """No engine is asked and a person is awaited: the decision is "wait" whatever the
    message says, so once the pipeline has seen the conversation queued, a message's language
    and sentiment are read before it is stored and written with it by the one statement
    (server/store/appends.py), its message.interpreted event right after message.created,
    and nothing is left to route after the commit."""
    await pipeline.ingest(inbound("m1"))  # opens the conversation: handed over, queued
    await pipeline.settled()
    second = await pipeline.ingest(inbound("m2", "anyone there?"))  # routed after the commit
    assert not second.routed
    await pipeline.settled()
    # The first message in a language: it gives the conversation its language (a change the
    # storing statement leaves to the routing after the commit).
    assert not (await pipeline.ingest(inbound("m3", "I have been waiting for an hour"))).routed
    await pipeline.settled()
    assert await pool.fetchval("SELECT language FROM conversations") == "en"
    published.clear()
    third = await pipeline.ingest(inbound("m4", "this is terrible, I am very angry"))
    assert third.routed
    assert third.message["nlu"] is not None
    assert third.message["nlu"]["sentiment"] is not None
    assert third.message["nlu"]["sentiment"] < 0
    assert [(e.name, e.data["message"]["id"]) for e in published] == [
        (events.MESSAGE_CREATED, third.message["id"]),
        (events.MESSAGE_INTERPRETED, third.message["id"]),
    ]
    assert all(e.id is not None for e in published)
    await pipeline.settled()
    rows = await pool.fetch(
        "SELECT m.seq, m.nlu IS NOT NULL AS understood,"
        " (SELECT count(*) FROM events e WHERE e.name = 'message.interpreted'"
        "   AND (e.data->>'message_id')::bigint = m.id) AS interpreted"
        " FROM messages m WHERE m.author_kind = 'customer' ORDER BY m.seq"
    )
    assert [(r["understood"], r["interpreted"]) for r in rows] == [(True, 1)] * 4
    assert await pool.fetchval("SELECT status FROM conversations") == "queued"


async def _interpreted_in_order(pool: asyncpg.Pool, ids: list[int]) -> list[int]:
    """These messages, in the order their message.interpreted events were stored."""
    rows = await pool.fetch(
        "SELECT (data->>'message_id')::bigint AS message_id FROM events"
        " WHERE name = 'message.interpreted' AND (data->>'message_id')::bigint = ANY($1)"
        " ORDER BY id",
        ids,
    )
    return [r["message_id"] for r in rows]


async def test_a_message_behind_one_still_to_route_is_routed_after_it(
    pipeline: Pipeline, pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Routing stays in order per conversation: while a message of it waits for its routing
    on this node, the next one is not routed as it is stored (it would be understood first),
    even when an agent's reply came between them."""
    for n, text in enumerate(("hello", "anyone there?", "I have been waiting for an hour"), 1):
        await pipeline.ingest(inbound(f"m{n}", text))
        await pipeline.settled()
    conv = (await pipeline.ingest(inbound("m4", "still nothing from you"))).message
    assert await pool.fetchval("SELECT nlu IS NOT NULL FROM messages WHERE id = $1", conv["id"])
    gate = asyncio.Event()
    real = Decider._understand_and_decide

    async def held(self: Decider, message: MessageView) -> None:
        if message["text"] == "2":  # the fifth: its routing takes a while
            await gate.wait()
        await real(self, message)

    monkeypatch.setattr(Decider, "_understand_and_decide", held)
    fifth = await pipeline.ingest(inbound("m5", "2"))  # a number: routed the long way
    assert not fifth.routed
    agent = await create_agent(pool, email="a@x.test", name="A", password="a-long-test-password")
    await pipeline.reply(agent.id, conv["conversation_id"], "Looking into it", "r1")
    sixth = await pipeline.ingest(inbound("m6", "I really need an answer today"))
    assert not sixth.routed
    gate.set()
    await pipeline.settled()
    ids = [fifth.message["id"], sixth.message["id"]]
    assert await _interpreted_in_order(pool, ids) == ids


async def test_a_message_behind_one_the_full_routing_queue_refused_is_routed_after_it(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A message the full routing queue refused waits in Postgres, and the next message of its
    conversation must not be routed as it is stored (it would be understood first)."""
    monkeypatch.setattr("server.pipeline.flow.ROUTING_WORKERS", 1)
    monkeypatch.setattr("server.pipeline.flow.ROUTING_QUEUE", 1)
    pipeline = bot_off_pipeline(pool, InProcessBus(Metrics()))
    for n, text in enumerate(("hello", "anyone there?", "I have been waiting for an hour"), 1):
        await pipeline.ingest(inbound(f"m{n}", text))
        await pipeline.settled()
    gate = asyncio.Event()
    route = Decider.route

    async def held(self: Decider, message: MessageView, *, swept: bool = False) -> None:
        await gate.wait()
        await route(self, message, swept=swept)

    monkeypatch.setattr(Decider, "route", held)
    # Others fill the one worker and the queue of one; "2" (routed the long way) is refused.
    for n in range(2):
        await pipeline.ingest(inbound("o1", "hello", visitor=f"other-{n}"))
    refused = await pipeline.ingest(inbound("m4", "2"))
    assert pipeline._routing.refused > 0
    later = await pipeline.ingest(inbound("m5", "I really need an answer today"))
    assert not later.routed
    gate.set()
    await pipeline.settled()
    ids = [refused.message["id"], later.message["id"]]
    assert await _interpreted_in_order(pool, ids) == ids
    await pipeline.close()


async def test_a_retried_delivery_is_stored_once(pipeline: Pipeline, pool: asyncpg.Pool) -> None:
    first = await pipeline.ingest(inbound("m1"))
    again = await pipeline.ingest(inbound("m1"))
    assert again.duplicate
    # The message as stored (routing, in the background, may have understood it since).
    assert {k: v for k, v in again.message.items() if k != "nlu"} == {
        k: v for k, v in first.message.items() if k != "nlu"
    }
    assert await pool.fetchval("SELECT count(*) FROM messages WHERE author_kind='customer'") == 1


async def test_fifty_concurrent_deliveries_of_one_message_store_one_row(
    pipeline: Pipeline, pool: asyncpg.Pool
) -> None:
    results = await asyncio.gather(*(pipeline.ingest(inbound("same")) for _ in range(50)))
    assert sum(not r.duplicate for r in results) == 1
    assert len({r.message["id"] for r in results}) == 1
    assert await pool.fetchval("SELECT count(*) FROM messages WHERE author_kind='customer'") == 1
    assert await pool.fetchval("SELECT count(*) FROM conversations") == 1
    assert await pool.fetchval("SELECT count(*) FROM contacts") == 1
    await pipeline.settled()
    # seqs stay gap-free: the customer message and one acknowledgement
    assert await pool.fetchval("SELECT max(seq) FROM messages") == 2


async def test_fifty_concurrent_redeliveries_into_an_open_conversation_leave_no_seq_gap(
    pipeline: Pipeline, pool: asyncpg.Pool
) -> None:
    await pipeline.ingest(inbound("first"))  # seq 1, and the acknowledgement seq 2
    await pipeline.settled()
    results = await asyncio.gather(*(pipeline.ingest(inbound("again")) for _ in range(50)))
    assert sum(not r.duplicate for r in results) == 1
    assert {r.message["seq"] for r in results} == {3}
    after = await pipeline.ingest(inbound("next"))
    assert after.message["seq"] == 4
    seqs = [r["seq"] for r in await pool.fetch("SELECT seq FROM messages ORDER BY seq")]
    assert seqs == [1, 2, 3, 4]


async def test_fifty_concurrent_messages_into_one_conversation_get_consecutive_seqs(
    pipeline: Pipeline, pool: asyncpg.Pool, published: list[Event]
) -> None:
    await pipeline.ingest(inbound("first"))
    await pipeline.settled()
    results = await asyncio.gather(*(pipeline.ingest(inbound(f"m{i}")) for i in range(50)))
    await pipeline.settled()
    assert sorted(r.message["seq"] for r in results) == list(range(3, 53))
    assert await pool.fetchval("SELECT last_seq FROM conversations") == 52
    # each stored once, each published once with its stored event id
    created = [e for e in published if e.name == events.MESSAGE_CREATED]
    assert len({e.id for e in created}) == len(created) == 52


async def test_messages_of_many_senders_at_once_each_take_their_conversation_s_next_seq(
    pipeline: Pipeline, pool: asyncpg.Pool, published: list[Event]
) -> None:
    """Stored together (one statement for those that arrive together), each still in its
    own conversation, gap-free, acknowledged with its row and published once."""
    visitors = [f"visitor-{n}" for n in range(20)]
    for visitor in visitors:
        await pipeline.ingest(inbound("first", visitor=visitor))
    await pipeline.settled()
    results = await asyncio.gather(
        *(pipeline.ingest(inbound(f"m{i}", visitor=v)) for v in visitors for i in range(3))
    )
    await pipeline.settled()
    assert not any(r.duplicate for r in results)
    by_conversation: dict[str, list[int]] = {}
    for result in results:
        by_conversation.setdefault(result.message["conversation_id"], []).append(
            result.message["seq"]
        )
    assert len(by_conversation) == len(visitors)
    assert all(sorted(seqs) == [3, 4, 5] for seqs in by_conversation.values())
    rows = await pool.fetch(
        "SELECT m.id, m.seq, m.external_id, ct.external_id AS sender FROM messages m"
        " JOIN conversations c ON c.id = m.conversation_id"
        " JOIN contact_identities ct ON ct.contact_id = c.contact_id"
        " WHERE m.author_kind = 'customer' AND m.seq > 2"
    )
    assert len(rows) == 60
    assert all(r["external_id"].startswith(r["sender"] + ":") for r in rows)
    created = [e for e in published if e.name == events.MESSAGE_CREATED]
    assert {e.data["message"]["id"] for e in created} >= {r["id"] for r in rows}
    assert len({e.id for e in created}) == len(created)


def mail(message_id: str, sender: str, thread: str | None = None) -> InboundMessage:
    return InboundMessage(
        channel="email",
        inbox_address=demo.EMAIL_INBOX,
        external_id=f"inbox:{message_id}",
        sender=Sender(external_id=sender, email=sender),
        text=f"mail {message_id}",
        thread=thread or message_id,
        subject=f"about {message_id}",
    )


async def test_mails_arriving_together_each_open_their_thread_once(
    pipeline: Pipeline, pool: asyncpg.Pool, published: list[Event]
) -> None:
    """Mails that come together share a transaction (the longer way, grouped): each still
    opens its own thread's conversation, a twin among them is stored once and told so, and
    a reply in a thread opened in the same burst joins that conversation."""
    senders = [f"customer{n % 7}@example.com" for n in range(30)]
    mails = [mail(f"<m{n}@x>", sender) for n, sender in enumerate(senders)]
    twins = [mail("<m3@x>", senders[3]) for _ in range(5)]
    reply = mail("<r0@x>", senders[0], thread="<m0@x>")
    results = await asyncio.gather(*(pipeline.ingest(m) for m in [*mails, *twins, reply]))
    await pipeline.settled()
    assert sum(not r.duplicate for r in results) == 31
    assert len({r.message["id"] for r in results}) == 31
    assert await pool.fetchval("SELECT count(*) FROM conversations") == 30
    assert await pool.fetchval("SELECT count(*) FROM contacts") == 7
    twin_ids = {r.message["id"] for r in results[30:35]}
    assert twin_ids == {results[3].message["id"]}
    assert results[35].message["conversation_id"] == results[0].message["conversation_id"]
    created = [e for e in published if e.name == events.MESSAGE_CREATED]
    customers = [e for e in created if e.data["message"]["author_kind"] == "customer"]
    assert len({e.data["message"]["id"] for e in customers}) == len(customers) == 31
    opened = [e for e in published if e.name == events.CONVERSATION_CREATED]
    assert len({e.conversation_id for e in opened}) == len(opened) == 30
    # Handed over together (grouped handoffs): each conversation queued, acknowledged once.
    statuses = await pool.fetch("SELECT status, count(*) FROM conversations GROUP BY status")
    assert [(r["status"], r["count"]) for r in statuses] == [("queued", 30)]
    acks = await pool.fetch(
        "SELECT conversation_id, count(*) FROM messages WHERE author_kind = 'system'"
        " GROUP BY conversation_id"
    )
    assert len(acks) == 30
    assert all(r["count"] == 1 for r in acks)
    interpreted = [e for e in published if e.name == events.MESSAGE_INTERPRETED]
    assert len({e.data["message"]["id"] for e in interpreted}) == len(interpreted) == 31


def slack_message(ts: str, user: str, thread: str | None = None) -> InboundMessage:
    """A Slack message as the drainer hands it over: a top-level one is a thread of its own."""
    return InboundMessage(
        channel="slack",
        inbox_address="T0TEAM",
        external_id=f"T0TEAM:C0SUPPORT:{ts}",
        sender=Sender(external_id=user),
        text=f"where is my order {ts}?",
        thread=f"C0SUPPORT:{thread or ts}",
        meta={"channel": "C0SUPPORT", "thread_ts": thread or ts, "team": "T0TEAM"},
    )


async def test_slack_threads_opened_together_are_stored_and_handed_over_in_their_transaction(
    pool: asyncpg.Pool, published: list[Event]
) -> None:
    """A drained batch of Slack messages, each a new thread (so a new conversation), is
    stored together and, with no engine asked, routed in the transaction that stores it:
    each conversation queued and acknowledged once, a twin stored once, a reply in a
    thread opened in the same burst joins its conversation."""
    metrics = Metrics()
    bus = InProcessBus(metrics)
    bus.subscribe(published.append)
    pipeline = Pipeline(
        pool,
        bus,
        metrics,
        Understanding(None),
        BotPolicy(enabled=False),
        Texts(handoff={"en": ACK}, off_hours={"en": ACK}),
    )
    async with pool.acquire() as conn:
        await store.ensure_inbox(conn, "slack", "T0TEAM", "Slack T0TEAM", None)
    firsts = [slack_message(f"17000000{n:02d}.000100", f"U{n % 6:04d}") for n in range(24)]
    twins = [slack_message("1700000003.000100", "U0003") for _ in range(4)]
    reply = slack_message("1700000099.000100", "U0000", thread="1700000000.000100")
    try:
        results = await asyncio.gather(*(pipeline.ingest(m) for m in [*firsts, *twins, reply]))
        await pipeline.settled()
    finally:
        await pipeline.close()
    assert sum(not r.duplicate for r in results) == 25
    assert {r.message["id"] for r in results[24:28]} == {results[3].message["id"]}
    assert results[28].message["conversation_id"] == results[0].message["conversation_id"]
    # Routed as they were stored, not after: the message that opened each conversation (a
    # twin or the reply may have come first) had its handoff committed with it.
    assert sum(r.routed for r in results if not r.duplicate) == 24
    statuses = await pool.fetch("SELECT status, count(*) FROM conversations GROUP BY status")
    assert [(r["status"], r["count"]) for r in statuses] == [("queued", 24)]
    acks = await pool.fetch(
        "SELECT conversation_id, count(*) FROM messages WHERE author_kind = 'system'"
        " GROUP BY conversation_id"
    )
    assert len(acks) == 24
    assert all(r["count"] == 1 for r in acks)
    interpreted = [e for e in published if e.name == events.MESSAGE_INTERPRETED]
    assert len({e.data["message"]["id"] for e in interpreted}) == len(interpreted) == 25
    # Stored in fewer transactions than messages: those that came together shared one.
    batches = metrics.registry.get_sample_value(
        "switchboard_stage_seconds_count", {"channel": "slack", "stage": "batch"}
    )
    assert batches is not None
    assert 1 <= batches < 25


async def test_replayed_events_have_the_same_shape_as_live_ones(
    pipeline: Pipeline, pool: asyncpg.Pool, published: list[Event]
) -> None:
    from server import store

    await pipeline.ingest(inbound("first"))
    await pipeline.settled()
    await pipeline.ingest(inbound("second"))  # the one-statement path
    await pipeline.settled()
    async with pool.acquire() as conn:
        replayed = await store.events_after(conn, 0, 100)

    def shape(event: Event) -> tuple[object, ...]:
        # A replay reads the message as it is now: with its interpretation, stored after the
        # live event went out. Everything else is identical.
        data: dict[str, object] = dict(event.data)
        if "message" in event.data:
            data["message"] = {k: v for k, v in event.data["message"].items() if k != "nlu"}
        return (event.name, event.id, event.conversation_id, data)

    assert [shape(e) for e in replayed] == [shape(e) for e in published]


async def test_same_client_id_from_two_visitors_are_two_messages(
    pipeline: Pipeline, pool: asyncpg.Pool
) -> None:
    a = await pipeline.ingest(inbound("c1", visitor="alice"))
    b = await pipeline.ingest(inbound("c1", visitor="bob"))
    assert not a.duplicate
    assert not b.duplicate
    assert a.message["conversation_id"] != b.message["conversation_id"]


async def test_an_unknown_inbox_is_refused_and_nothing_is_stored(
    pipeline: Pipeline, pool: asyncpg.Pool
) -> None:
    message = InboundMessage(
        channel="webchat", inbox_address="nope", external_id="x", sender=Sender("v"), text="hi"
    )
    with pytest.raises(NotFound):
        await pipeline.ingest(message)
    assert await pool.fetchval("SELECT count(*) FROM messages") == 0


async def test_agent_reply_claims_the_conversation_and_is_stored_once_per_client_id(
    pipeline: Pipeline, pool: asyncpg.Pool, published: list[Event]
) -> None:
    conv = (await pipeline.ingest(inbound("m1"))).message["conversation_id"]
    await pipeline.settled()
    agent = await create_agent(pool, email="a@x.test", name="A", password="a-long-test-password")
    reply = await pipeline.reply(agent.id, conv, "On its way!", "r1")
    again = await pipeline.reply(agent.id, conv, "On its way!", "r1")
    assert reply.message["seq"] == 3
    assert reply.message["author_kind"] == "agent"
    assert again.duplicate
    assert again.message["id"] == reply.message["id"]
    row = await pool.fetchrow("SELECT status, assignee_id FROM conversations")
    assert row is not None
    assert row["status"] == "assigned"
    assert str(row["assignee_id"]) == agent.id
    # The update, then the queue.changed that takes it out of the queue.
    assert [e.name for e in published[-2:]] == ["conversation.updated", "queue.changed"]
    assert published[-1].data["queue"] is None
    assignee = published[-2].data["conversation"]["assignee"]
    assert assignee is not None
    assert assignee["name"] == "A"


async def test_a_second_agent_cannot_answer_a_claimed_conversation(
    pipeline: Pipeline, pool: asyncpg.Pool
) -> None:
    conv = (await pipeline.ingest(inbound("m1"))).message["conversation_id"]
    first = await create_agent(pool, email="a@x.test", name="A", password="a-long-test-password")
    second = await create_agent(pool, email="b@x.test", name="B", password="a-long-test-password")
    await pipeline.reply(first.id, conv, "mine", "r1")
    with pytest.raises(Conflict):
        await pipeline.reply(second.id, conv, "also mine", "r2")
    assert await pool.fetchval("SELECT count(*) FROM messages WHERE author_kind='agent'") == 1


async def test_replying_to_an_unknown_conversation_is_not_found(pipeline: Pipeline) -> None:
    with pytest.raises(NotFound):
        await pipeline.reply(
            "00000000-0000-0000-0000-000000000000",
            "00000000-0000-0000-0000-000000000001",
            "hi",
            "r1",
        )
    with pytest.raises(NotFound):
        await pipeline.reply("00000000-0000-0000-0000-000000000000", "not-a-uuid", "hi", "r1")


async def test_same_email_on_two_identities_is_one_contact(
    pipeline: Pipeline, pool: asyncpg.Pool
) -> None:
    """On a channel that authenticates its users (here Slack's profile email)."""
    async with pool.acquire() as conn:
        await store.ensure_inbox(conn, "slack", "T1", "Slack", None)
    for user in ("U1", "U2"):
        await pipeline.ingest(
            InboundMessage(
                channel="slack",
                inbox_address="T1",
                external_id=f"T1:{user}:1",
                sender=Sender(user, email="Kim@Example.test"),
                text="hi",
            )
        )
    assert await pool.fetchval("SELECT count(*) FROM contacts") == 1
    assert await pool.fetchval("SELECT count(*) FROM contact_identities") == 2


async def test_an_email_typed_by_two_visitors_is_two_unverified_contacts(
    pipeline: Pipeline, pool: asyncpg.Pool
) -> None:
    """Anyone can type any address into the widget: it never joins visitors (issue 15)."""
    for visitor in ("v1", "v2"):
        await pipeline.ingest(
            InboundMessage(
                channel="webchat",
                inbox_address=demo.WEBCHAT_INBOX,
                external_id=f"{visitor}:1",
                sender=Sender(visitor, email="Kim@Example.test"),
                text="hi",
            )
        )
    rows = await pool.fetch("SELECT verified FROM contacts")
    assert [r["verified"] for r in rows] == [False, False]


async def test_off_hours_the_handoff_says_when_the_team_is_back(pool: asyncpg.Pool) -> None:
    from datetime import UTC, datetime

    from routing.hours import parse_hours

    sunday = datetime(2026, 11, 22, 15, 0, tzinfo=UTC)
    pipeline = Pipeline(
        pool,
        InProcessBus(Metrics()),
        Metrics(),
        Understanding(None),
        BotPolicy(enabled=False),
        Texts(),
        parse_hours("mon-fri 09:00-18:00 Europe/Paris"),
        clock=lambda: sunday,
    )
    await pipeline.ingest(inbound("m1", "hello, my parcel never came"))
    await pipeline.settled()
    notice = await pool.fetchval("SELECT text FROM messages WHERE author_kind = 'system'")
    assert "away right now (Mon-Fri 09:00-18:00 (Europe/Paris))" in notice
    assert await pool.fetchval("SELECT status FROM conversations") == "queued"


async def left_unrouted(
    pool: asyncpg.Pool, visitor: str, text: str = "hello? anyone?", resolved: bool = False
) -> int:
    """A customer's message stored and acknowledged but never routed (as a node leaves one
    when its answer is lost, or holds one in its routing backlog), in its own conversation."""
    async with pool.acquire() as conn, conn.transaction():
        inbox = await store.inbox_by_address(conn, "webchat", demo.WEBCHAT_INBOX)
        contact = await store.resolve_contact(conn, inbox["brand_id"], "webchat", Sender(visitor))
        conv, _ = await store.lock_open_conversation(conn, inbox, contact)
        message = await store.insert_message(
            conn,
            conv["id"],
            direction="in",
            author_kind="customer",
            channel="webchat",
            external_id=f"{visitor}:x",
            text=text,
        )
        if resolved:
            await conn.execute(
                "UPDATE conversations SET status = 'resolved' WHERE id = $1", conv["id"]
            )
    assert message is not None
    return message["id"]


async def test_messages_left_unrouted_are_routed_once_at_start_up(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A node stored and acknowledged this message, then died before routing it.
    await left_unrouted(pool, "v9")
    # Two nodes start at once; each finds it, one routes it. Their routings wait until both
    # have read: under load, one node's routing could otherwise end before the other's read.
    both_read = asyncio.Event()
    route = Decider.route

    async def after_both_read(self: Decider, message: MessageView, *, swept: bool = False) -> None:
        await both_read.wait()
        await route(self, message, swept=swept)

    monkeypatch.setattr(Decider, "route", after_both_read)
    first = bot_off_pipeline(pool, InProcessBus(Metrics()))
    second = bot_off_pipeline(pool, InProcessBus(Metrics()))
    found = await asyncio.gather(first.route_unrouted(), second.route_unrouted())
    assert list(found) == [1, 1]
    both_read.set()
    await first.settled()
    await second.settled()
    assert await pool.fetchval("SELECT count(*) FROM messages WHERE author_kind='system'") == 1
    assert await pool.fetchval("SELECT status FROM conversations") == "queued"
    assert await first.route_unrouted() == 0


async def test_a_message_whose_routing_failed_is_routed_again_without_a_restart(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.harness import until

    real = Decider._understand_and_decide
    failed: list[int] = []

    async def once_unwell(self: Decider, message: MessageView) -> None:
        if not failed:  # the database goes away half-way through the first routing
            failed.append(message["id"])
            raise ConnectionError("connection was closed in the middle of operation")
        await real(self, message)

    monkeypatch.setattr(Decider, "_understand_and_decide", once_unwell)
    pipeline = bot_off_pipeline(pool, InProcessBus(Metrics()))
    await pipeline.ingest(inbound("m1", "hello? anyone?"))

    async def queued() -> bool:
        status: str = await pool.fetchval("SELECT status FROM conversations")
        return status == "queued"

    await until(queued, within=30)
    assert failed
    assert await pool.fetchval("SELECT count(*) FROM messages WHERE author_kind='system'") == 1
    await pipeline.close()


async def test_a_redelivered_message_its_first_try_stored_but_never_routed_is_routed(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first try's commit reached Postgres, its answer did not (the database restarted
    then): the sender was told to try again, and nothing queued the message for routing. Its
    redelivery routes it; and only it: the other unrouted messages (another node's backlog,
    still in its queue) and a survey answer's redelivery (a resolved conversation) are left."""
    from tests.harness import until

    lost = await left_unrouted(pool, "v9")
    others = [await left_unrouted(pool, f"busy-{n}") for n in range(3)]
    answer = await left_unrouted(pool, "rated", resolved=True)
    pipeline = bot_off_pipeline(pool, InProcessBus(Metrics()))
    held = asyncio.Event()
    route = Decider.route

    async def after_a_look(self: Decider, message: MessageView, *, swept: bool = False) -> None:
        await held.wait()
        await route(self, message, swept=swept)

    monkeypatch.setattr(Decider, "route", after_a_look)
    assert (await pipeline.ingest(inbound("x", "hello? anyone?", visitor="rated"))).duplicate
    again = await pipeline.ingest(inbound("x", "hello? anyone?", visitor="v9"))
    assert again.duplicate
    assert set(pipeline._queued) == {lost}
    held.set()

    async def routed() -> bool:
        return bool(await pool.fetchval("SELECT nlu IS NOT NULL FROM messages WHERE id = $1", lost))

    await until(routed, within=30)
    await pipeline.settled()
    assert await pool.fetchval(
        "SELECT status FROM conversations c JOIN messages m ON m.conversation_id = c.id"
        " WHERE m.id = $1",
        lost,
    ) == ("queued")
    left = await pool.fetch(
        "SELECT id FROM messages WHERE nlu IS NULL AND author_kind = 'customer'"
    )
    assert sorted(r["id"] for r in left) == sorted([*others, answer])
    assert pipeline._retry is None
    await pipeline.close()


async def test_past_the_routing_queue_messages_wait_in_postgres_and_are_all_routed(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A burst beyond the bounded routing queue costs no task per message: what the queue
    refuses stays unrouted in Postgres and is routed from there once the queue drains."""
    monkeypatch.setattr("server.pipeline.flow.ROUTING_WORKERS", 1)
    monkeypatch.setattr("server.pipeline.flow.ROUTING_QUEUE", 2)
    # Routing waits until the burst is in: otherwise a fast router drains the queue between
    # two messages and nothing is ever refused (seen on a loaded machine).
    burst_in = asyncio.Event()
    route = Decider.route

    async def held(self: Decider, message: MessageView, *, swept: bool = False) -> None:
        await burst_in.wait()
        await route(self, message, swept=swept)

    monkeypatch.setattr(Decider, "route", held)
    pipeline = bot_off_pipeline(pool, InProcessBus(Metrics()))
    for n in range(12):
        await pipeline.ingest(inbound(f"burst-{n}", visitor=f"visitor-{n}"))
    assert pipeline._routing.refused > 0
    burst_in.set()
    await pipeline.settled()
    async with pool.acquire() as conn:
        assert await store.unrouted_messages(conn, 3600) == []
    await pipeline.close()


class _ButtonsBot:
    """An engine that offers two choices to a greeting and remembers what it was asked."""

    kind = "test"
    languages = frozenset({"en"})
    wants_history = False

    def __init__(self) -> None:
        self.parsed: list[str] = []

    async def parse(self, text: str) -> Interpretation:
        self.parsed.append(text)
        intent = "order_status" if text == "/order_status" else "greet"
        return Interpretation(text=text, intent=intent, confidence=0.99, engine=self.kind)

    async def respond(self, dialogue: Dialogue) -> BotTurn:
        if dialogue.interpretation.intent == "greet":
            choices = (
                Button("Track my order", "/order_status"),
                Button("Talk to a person", "/human"),
            )
            return BotTurn(
                (
                    BotMessage("How can I help?", "utter_greet", buttons=choices),
                    BotMessage(None, "utter_logo", image="https://shop.test/logo.png"),
                )
            )
        return BotTurn((BotMessage("What is your order number?", "utter_ask_order_number"),))

    async def close(self) -> None:
        return None


async def test_bot_buttons_become_numbered_options_and_a_number_in_reply_picks_one(
    pool: asyncpg.Pool,
) -> None:
    """On a channel without buttons or images (the widget), the bot's choices are numbered in
    its text and its image is a link, never dropped; "1" in reply is the first choice's
    payload to NLU."""
    bot = _ButtonsBot()
    pipeline = Pipeline(
        pool,
        InProcessBus(Metrics()),
        Metrics(),
        Understanding(bot),  # type: ignore[arg-type]
        BotPolicy(),
        Texts(),
        capabilities={"webchat": Capabilities(attachments=True, typing=True)},
    )
    await pipeline.ingest(inbound("m1", "hello there, I have a question about my purchase"))
    await pipeline.settled()
    said = await pool.fetch(
        "SELECT text, meta FROM messages WHERE author_kind = 'bot' ORDER BY seq"
    )
    assert said[0]["text"] == (
        "How can I help?\n\n1. Track my order\n2. Talk to a person\n"
        "Reply with the number of your choice."
    )
    assert said[0]["meta"]["buttons"][0] == {"title": "Track my order", "payload": "/order_status"}
    assert said[1]["text"] == "https://shop.test/logo.png"
    # The image followed the options in the same turn: "1" still picks the first option.
    await pipeline.ingest(inbound("m2", "1"))
    await pipeline.settled()
    assert bot.parsed[-1] == "/order_status"
    asked = "SELECT text FROM messages WHERE author_kind = 'bot' ORDER BY seq DESC LIMIT 1"
    assert await pool.fetchval(asked) == "What is your order number?"
    # A number with no options on offer is just text.
    await pipeline.ingest(inbound("m3", "2"))
    await pipeline.settled()
    assert bot.parsed[-1] == "2"
    await pipeline.close()


class _SlotsBot:
    """An engine whose first answer ends with a slot its custom action set, and which
    remembers the history it is given."""

    kind = "test"
    languages = frozenset({"en"})
    wants_history = True

    def __init__(self) -> None:
        self.histories: list[tuple[PastTurn, ...]] = []
        self.channels: list[str | None] = []

    async def parse(self, text: str) -> Interpretation:
        return Interpretation(text=text, intent="check_balance", confidence=0.99, engine="test")

    async def respond(self, dialogue: Dialogue) -> BotTurn:
        self.histories.append(dialogue.history)
        self.channels.append(dialogue.channel)
        said = (BotMessage("Your balance is 1250 EUR.", "action_check_balance"),)
        return BotTurn(said, slots=(("balance", 1250), ("account", None)), events=TURN_RECORD)

    async def close(self) -> None:
        return None


# What a turn did to the tracker (nlu.journal's record): a custom action's slot, then a rewind.
TURN_RECORD = (
    {"event": "action", "name": "action_check_balance", "hidden": False},
    {"event": "slot", "name": "balance", "value": 1250},
    {"event": "rewind"},
)


async def test_the_slots_a_turn_ended_with_come_back_with_the_history(pool: asyncpg.Pool) -> None:
    """What a custom action set, and what the turn did to the tracker (a rewind included), is
    kept with the customer's message, so that a tracker rebuilt after a restart or on another
    node (nlu.conversation.rebuild) has it."""
    bot = _SlotsBot()
    pipeline = Pipeline(
        pool,
        InProcessBus(Metrics()),
        Metrics(),
        Understanding(bot),  # type: ignore[arg-type]
        BotPolicy(),
        Texts(),
    )
    await pipeline.ingest(inbound("s1", "what is my balance"))
    await pipeline.settled()
    await pipeline.ingest(inbound("s2", "and my balance again"))
    await pipeline.settled()
    first, action = bot.histories[-1]
    assert first.intent == "check_balance"
    assert dict(first.slots) == {"balance": 1250, "account": None}
    assert first.events == TURN_RECORD
    assert first.at is not None  # when it was written: a session expires from it
    assert action.action == "action_check_balance"
    # The channel the customer writes on: the engine says a response's variations for it.
    assert bot.channels == ["webchat", "webchat"]
    await pipeline.close()


async def test_mails_that_open_conversations_are_handed_over_in_the_storing_transaction(
    pipeline: Pipeline, pool: asyncpg.Pool, published: list[Event], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no engine to ask, a mail that opens a conversation is decided and handed over in
    the transaction that stores it (issue 14): when its ingest returns, it is interpreted,
    acknowledged and queued, its events published in order, and the routing queue never
    sees it. A reply in a conversation already open is routed after, as before."""
    routed_later: list[int] = []
    route = pipeline._decider.route

    async def counted(message: MessageView, *, swept: bool = False) -> None:
        routed_later.append(message["id"])
        await route(message, swept=swept)

    monkeypatch.setattr(pipeline._decider, "route", counted)
    mails = [mail(f"<o{n}@x>", f"opener{n % 3}@example.com") for n in range(6)]
    results = await asyncio.gather(*(pipeline.ingest(m) for m in mails))
    assert all(r.routed and not r.duplicate for r in results)
    ids = [r.message["id"] for r in results]
    rows = await pool.fetch(
        "SELECT m.nlu IS NOT NULL AS interpreted, c.status FROM messages m"
        " JOIN conversations c ON c.id = m.conversation_id WHERE m.id = ANY($1)",
        ids,
    )
    assert [(r["interpreted"], r["status"]) for r in rows] == [(True, "queued")] * 6
    for result in results:
        conversation_id = result.message["conversation_id"]
        names = [
            (e.name, e.data["message"]["author_kind"] if "message" in e.data else None)
            for e in published
            if e.conversation_id == conversation_id
        ]
        assert names == [
            (events.MESSAGE_CREATED, "customer"),
            (events.CONVERSATION_CREATED, None),
            (events.MESSAGE_INTERPRETED, "customer"),
            (events.MESSAGE_CREATED, "system"),
            (events.CONVERSATION_UPDATED, None),
        ]
        assert all(e.id is not None for e in published if e.conversation_id == conversation_id)
    reply = await pipeline.ingest(mail("<o6@x>", "opener0@example.com", thread="<o0@x>"))
    await pipeline.settled()
    assert not reply.routed
    assert routed_later == [reply.message["id"]]
    # Nothing was routed twice: one interpretation event and one acknowledgement each.
    interpreted = [
        e.data["message"]["id"] for e in published if e.name == events.MESSAGE_INTERPRETED
    ]
    assert sorted(interpreted) == sorted([*ids, reply.message["id"]])
    acks = await pool.fetchval("SELECT count(*) FROM messages WHERE author_kind = 'system'")
    assert acks == 6


async def test_a_mail_routed_as_it_is_stored_is_searchable_in_its_language(
    pipeline: Pipeline, pool: asyncpg.Pool
) -> None:
    """Its language, detected before the transaction, is written with the message (its
    search words stemmed in it from the insert) and stays as the interpretation writes it."""
    text = "Where is my order? It was due yesterday and nobody answers my emails."
    stored = await pipeline.ingest(replace(mail("<en@x>", "en@example.com"), text=text))
    assert stored.routed
    row = await pool.fetchrow(
        "SELECT language, words @@ to_tsquery('english', 'answering') AS stemmed"
        " FROM messages WHERE id = $1",
        stored.message["id"],
    )
    assert row is not None
    assert (row["language"], row["stemmed"]) == ("en", True)


@pytest.mark.parametrize("mails", [1, 3], ids=["alone", "together"])
async def test_a_mail_understood_before_it_is_stored_is_inserted_in_its_language(
    pipeline: Pipeline, pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch, mails: int
) -> None:
    """The language detected before the transaction is written by the insert itself, for a
    mail stored alone as in a batch: with nothing routed in the transaction or after it,
    the message has it, and its search words are stemmed in it (an interpretation writing
    the same language later leaves them alone)."""

    async def nothing_routed(conn: object, opened: object) -> dict[int, object]:
        return {}

    monkeypatch.setattr(pipeline._decider, "hand_over_opened", nothing_routed)
    monkeypatch.setattr(pipeline, "_schedule_routing", lambda message, swept=False: None)
    text = "Where is my order? It was due yesterday and nobody answers my emails."
    stored = await asyncio.gather(
        *(
            pipeline.ingest(replace(mail(f"<lang-{n}@x>", f"lang{n}@example.com"), text=text))
            for n in range(mails)
        )
    )
    assert not any(s.routed for s in stored)
    rows = await pool.fetch(
        "SELECT language, words @@ to_tsquery('english', 'answering') AS stemmed"
        " FROM messages WHERE id = ANY($1::bigint[])",
        [s.message["id"] for s in stored],
    )
    assert [(r["language"], r["stemmed"]) for r in rows] == [("en", True)] * mails


async def test_mails_stored_together_continue_open_reopen_and_start_threads(
    pipeline: Pipeline, pool: asyncpg.Pool
) -> None:
    """Mails of threads apart stored together (one statement for the threads, one for the
    messages): a new thread opens its conversation, an open one takes the next seq, a
    resolved one is reopened (with its activity); with a twin among them, the batch is
    stored mail by mail and only the twin is told it was stored before."""
    await pipeline.ingest(mail("<open@x>", "open@example.com"))
    await pipeline.ingest(mail("<done@x>", "done@example.com"))
    await pipeline.settled()
    await pool.execute("UPDATE conversations SET status = 'resolved' WHERE thread_key = '<done@x>'")
    inbox = await pipeline._inbox("email", demo.EMAIL_INBOX)
    burst = [
        mail("<n1@x>", "new1@example.com"),
        mail("<o2@x>", "open@example.com", thread="<open@x>"),
        mail("<d2@x>", "done@example.com", thread="<done@x>"),
        mail("<n2@x>", "new2@example.com"),
    ]
    items = [_Open(inbox, m) for m in burst]
    async with pool.acquire() as conn:
        await pipeline._open_together(conn, items)
    assert all(i.error is None and i.result is not None for i in items)
    results = [i.result for i in items if i.result is not None]
    threads = await pool.fetch(
        "SELECT c.thread_key, c.status, m.seq FROM messages m"
        " JOIN conversations c ON c.id = m.conversation_id WHERE m.external_id = ANY($1)",
        [m.external_id for m in burst],
    )
    seen = {r["thread_key"]: (r["status"], r["seq"]) for r in threads}
    assert seen == {
        "<n1@x>": ("bot", 1),
        "<open@x>": ("queued", 3),
        "<done@x>": ("bot", 3),
        "<n2@x>": ("bot", 1),
    }
    names = [[e.name for e in r.stored] for r in results]
    assert names == [
        [events.MESSAGE_CREATED, events.CONVERSATION_CREATED],
        [events.MESSAGE_CREATED],
        [events.MESSAGE_CREATED, events.CONVERSATION_UPDATED],
        [events.MESSAGE_CREATED, events.CONVERSATION_CREATED],
    ]
    assert results[2].stored[1].data["activity"]["kind"] == "reopened"
    assert all(e.id is not None for r in results for e in r.stored)
    # A twin in the batch: stored one by one, the twin refused.
    again = [_Open(inbox, mail("<n3@x>", "new3@example.com")), _Open(inbox, burst[0])]
    async with pool.acquire() as conn:
        await pipeline._open_together(conn, again)
    assert again[0].result is not None
    assert isinstance(again[1].error, AlreadyStored)
    assert (
        await pool.fetchval("SELECT count(*) FROM messages WHERE external_id = $1", "inbox:<n1@x>")
        == 1
    )


async def test_mails_from_first_met_senders_stored_together_create_their_contacts_at_once(
    pipeline: Pipeline, pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Senders met for the first time in a batch get their contacts in the batch's one
    statement, never one by one (resolve_contact): a sender of two mails gets one contact,
    an address already a verified contact's joins it, whatever its case, and two identities
    with one address share a contact, as they would one after the other."""
    inbox = await pipeline._inbox("email", demo.EMAIL_INBOX)
    kim = await pool.fetchval(
        "INSERT INTO contacts (brand_id, name, email, verified)"
        " VALUES ($1, 'Kim', 'Kim@Example.com', true) RETURNING id",
        UUID(inbox["brand_id"]),
    )

    async def one_by_one(*args: object) -> str:
        raise AssertionError("a first-met sender of the batch was resolved alone")

    monkeypatch.setattr(store, "resolve_contact", one_by_one)
    burst = [
        mail("<a1@x>", "new1@example.com"),
        mail("<a2@x>", "new1@example.com"),
        mail("<k1@x>", "kim@example.com"),
        mail("<b1@x>", "NEW3@example.com"),
        mail("<b2@x>", "new3@example.com"),
    ]
    items = [_Open(inbox, m) for m in burst]
    async with pool.acquire() as conn:
        await pipeline._open_together(conn, items)
    assert all(i.error is None and i.result is not None for i in items)
    owners = {
        r["external_id"]: r["contact_id"]
        for r in await pool.fetch("SELECT external_id, contact_id FROM contact_identities")
    }
    assert set(owners) == {
        "new1@example.com",
        "kim@example.com",
        "NEW3@example.com",
        "new3@example.com",
    }
    assert owners["kim@example.com"] == kim
    assert owners["NEW3@example.com"] == owners["new3@example.com"]
    assert await pool.fetchval("SELECT count(*) FROM contacts") == 3
    by_thread = {
        r["thread_key"]: r["contact_id"]
        for r in await pool.fetch("SELECT thread_key, contact_id FROM conversations")
    }
    assert by_thread["<a1@x>"] == by_thread["<a2@x>"] == owners["new1@example.com"]
    assert by_thread["<k1@x>"] == kim
    profile = await pool.fetchval(
        "SELECT profile FROM contact_identities WHERE external_id = 'new1@example.com'"
    )
    assert profile == {"name": None, "email": "new1@example.com"}


async def test_a_sender_identified_meanwhile_sends_the_batch_one_by_one(
    pipeline: Pipeline, pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another transaction gave a first-met sender a contact between the batch's read and
    its insert: the batch is rolled back and each mail stored alone, with that contact."""
    await pipeline.ingest(mail("<early@x>", "raced@example.com"))
    await pipeline.settled()
    raced = await pool.fetchval(
        "SELECT contact_id FROM contact_identities WHERE external_id = 'raced@example.com'"
    )

    async def not_yet(conn: object, identities: list[tuple[str, str]]) -> dict[str, str]:
        return {}  # as read just before the other transaction committed

    monkeypatch.setattr(contacts, "identified_contacts", not_yet)
    inbox = await pipeline._inbox("email", demo.EMAIL_INBOX)
    items = [
        _Open(inbox, mail("<late@x>", "raced@example.com")),
        _Open(inbox, mail("<other@x>", "other@example.com")),
    ]
    async with pool.acquire() as conn:
        await pipeline._open_together(conn, items)
    assert all(i.error is None and i.result is not None for i in items)
    owner = await pool.fetchval(
        "SELECT c.contact_id FROM conversations c WHERE c.thread_key = '<late@x>'"
    )
    assert owner == raced
    assert await pool.fetchval("SELECT count(*) FROM contacts") == 2
