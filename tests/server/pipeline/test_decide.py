"""Routing a message to a conversation that waits for (or has) a person: understood in the
conversation's language as it is when the message is recorded, and the long way round when
the conversation moved on meanwhile (server/pipeline/decide.py's waiting conversations)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest

from nlu.base import BotMessage, BotTurn, Dialogue, Interpretation
from nlu.understanding import Understanding
from routing.decision import BotPolicy, Texts
from routing.priority import Weights
from server import events, store
from server.dispatch.router import Router
from server.events import Event
from server.live.bus import InProcessBus
from server.live.presence import LocalPresence
from server.metrics import Metrics
from server.payloads import MessageView
from server.pipeline.decide import Recorded, _Handoff, _record_waiting_writes, _WaitingWrite
from server.pipeline.flow import Pipeline
from server.store import understood
from server.store.nlu import routing_facts_of
from tests.server.pipeline.test_flow import ACK, bot_off_pipeline, inbound, mail
from tests.server.store.test_understood import _waiting_message


async def _interpreted(pool: asyncpg.Pool, seq: int) -> asyncpg.Record:
    row = await pool.fetchrow("SELECT language, nlu FROM messages WHERE seq = $1", seq)
    assert row is not None
    return row


async def test_a_waiting_conversations_messages_take_its_language_even_when_it_changes(
    pool: asyncpg.Pool,
) -> None:
    published: list[Event] = []
    bus = InProcessBus(Metrics())
    bus.subscribe(published.append)
    pipeline = bot_off_pipeline(pool, bus)
    # Long enough to tell: the conversation is French from now on; it waits for a person.
    await pipeline.ingest(inbound("m1", "Bonjour, je n'ai toujours pas reçu ma commande"))
    await pipeline.settled()
    assert await pool.fetchval("SELECT status FROM conversations") == "queued"
    assert await pool.fetchval("SELECT language FROM conversations") == "fr"
    # Too short to tell: the conversation's language.
    await pipeline.ingest(inbound("m2", "merci"))
    await pipeline.settled()
    second = await _interpreted(pool, 3)
    assert second["language"] == "fr"
    assert second["nlu"]["engine"] == "none"
    # Another writer changes the conversation's language: the next short message takes it.
    await pool.execute("UPDATE conversations SET language = 'de'")
    await pipeline.ingest(inbound("m3", "ok"))
    await pipeline.settled()
    assert (await _interpreted(pool, 4))["language"] == "de"
    interpreted = [e for e in published if e.name == events.MESSAGE_INTERPRETED]
    assert [e.data["message"]["seq"] for e in interpreted] == [1, 3, 4]
    assert all(e.id is not None for e in interpreted)
    async with pool.acquire() as conn:
        assert await store.unrouted_messages(conn, 3600) == []
    await pipeline.close()


class _GreeterBot:
    """Hands over when asked for a person; greets otherwise."""

    kind = "test"
    languages = frozenset({"en"})
    wants_history = False

    async def parse(self, text: str) -> Interpretation:
        intent = "human_handoff" if "person" in text else "greet"
        return Interpretation(text=text, intent=intent, confidence=0.99, engine=self.kind)

    async def respond(self, dialogue: Dialogue) -> BotTurn:
        return BotTurn((BotMessage("Hi! How can I help?", "utter_greet"),))

    async def close(self) -> None:
        return None


def _bot_pipeline(pool: asyncpg.Pool, bot: _GreeterBot) -> Pipeline:
    """A pipeline whose bot is ``bot``, handing over on ``human_handoff``."""
    return Pipeline(
        pool,
        InProcessBus(Metrics()),
        Metrics(),
        Understanding(bot),  # type: ignore[arg-type]
        BotPolicy(human_intents=frozenset({"human_handoff"})),
        Texts(),
    )


async def test_a_conversation_given_back_to_the_bot_meanwhile_gets_the_bots_answer(
    pool: asyncpg.Pool,
) -> None:
    pipeline = _bot_pipeline(pool, _GreeterBot())
    await pipeline.ingest(inbound("m1", "I would like to talk to a person please"))
    await pipeline.settled()
    assert await pool.fetchval("SELECT status FROM conversations") == "queued"
    await pipeline.ingest(inbound("m2", "still waiting here"))
    await pipeline.settled()
    bot_said = "SELECT count(*) FROM messages WHERE author_kind = 'bot'"
    assert await pool.fetchval(bot_said) == 0
    conversation_id = str(await pool.fetchval("SELECT id FROM conversations"))
    async with pool.acquire() as conn:
        await store.return_to_bot(conn, conversation_id)
    await pipeline.ingest(inbound("m3", "hello again"))
    await pipeline.settled()
    assert await pool.fetchval(bot_said) == 1
    await pipeline.close()


async def test_a_message_the_database_refuses_fails_alone_in_its_batch(
    pool: asyncpg.Pool,
) -> None:
    """Messages written together: one the database refuses (a NUL in its interpretation,
    which jsonb cannot hold) fails, and the others that came with it are recorded."""
    good = await _waiting_message(pool, "good", None)
    bad = await _waiting_message(pool, "bad", None)
    said = Interpretation(text="ok", intent="unknown", confidence=0.0, engine="none")
    refused = Interpretation(text="ok\x00", intent="unknown", confidence=0.0, engine="none")
    writes = [
        _WaitingWrite(understood.Waiting(good[1], good[0], "queued", None, said)),
        _WaitingWrite(understood.Waiting(bad[1], bad[0], "queued", None, refused)),
    ]
    async with pool.acquire() as conn:
        await _record_waiting_writes(conn, writes)
    assert writes[0].error is None
    assert isinstance(writes[0].outcome, tuple)
    assert writes[1].error is not None
    assert await pool.fetchval("SELECT count(*) FROM messages WHERE nlu IS NULL") == 1


async def test_handoffs_decided_together_are_written_as_one_alone_is(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Mails handed over together (the set-based batch: one statement per kind of row for
    them all) leave each conversation, its rows and its events as a handoff decided alone
    does; decided again (another node's sweep), they write nothing more."""
    published: list[Event] = []
    bus = InProcessBus(Metrics())
    bus.subscribe(published.append)
    clock = lambda: datetime.now(UTC)  # noqa: E731
    router = Router(pool, bus, Metrics(), LocalPresence(), Weights(), clock=clock)
    pipeline = Pipeline(
        pool,
        bus,
        Metrics(),
        Understanding(None),
        BotPolicy(enabled=False),
        Texts(handoff={"en": ACK}, off_hours={"en": ACK}),
        clock=clock,
        router=router,
    )
    held: list[MessageView] = []
    # Stored, not routed: the test hands them to the batch writer itself, alone and together.
    monkeypatch.setattr(pipeline, "_schedule_routing", lambda m, swept=False: held.append(m))
    # Nor routed in the transaction that stores them (Decider.hand_over_opened).
    monkeypatch.setattr(pipeline._decider, "decides_at_once", lambda channel: False)
    for n in range(4):
        await pipeline.ingest(mail(f"<h{n}@x>", f"h{n}@example.com"))
    decider = pipeline._decider

    async def handoff(message: MessageView) -> _Handoff:
        async with pool.acquire() as conn:
            facts = await store.routing_facts(conn, message["conversation_id"], message["seq"], 5)
        said = await Understanding(None).understand(message["text"], None)
        return _Handoff(message, said, facts, None, None)

    alone = await handoff(held[0])
    together = [await handoff(m) for m in held[1:]]
    async with pool.acquire() as conn:
        await decider._record_locked_together(conn, [alone])
        # The batch must be written set-based: a failed batch falls back to recording each
        # alone, which would pass every check below and hide the failure.
        fell_back: list[object] = []
        one_by_one = decider._record_locked

        async def recorded_alone(*args: Any) -> Recorded | None:
            fell_back.append(args)
            return await one_by_one(*args)

        monkeypatch.setattr(decider, "_record_locked", recorded_alone)
        await decider._record_locked_together(conn, together)
        assert fell_back == []
    outcomes = [alone.outcome, *(h.outcome for h in together)]

    def shape(recorded: Recorded | None) -> list[tuple[str, object]]:
        assert recorded is not None
        stored, conv, _, decision = recorded
        assert decision.action == "handoff"
        assert all(e.id is not None and e.conversation_id == conv["id"] for e in stored)
        return [
            (
                e.name,
                e.data.get("activity", {}).get("kind")
                if e.name == events.CONVERSATION_UPDATED
                else sorted(e.data),
            )
            for e in stored
        ]

    assert all(shape(o) == shape(outcomes[0]) for o in outcomes)
    assert [e.name for e in outcomes[0][0]] == [  # type: ignore[index]
        events.MESSAGE_INTERPRETED,
        events.MESSAGE_CREATED,
        events.CONVERSATION_UPDATED,
        events.QUEUE_CHANGED,
    ]
    for recorded in outcomes:
        assert recorded is not None
        updated = next(e for e in recorded[0] if e.name == events.CONVERSATION_UPDATED)
        assert updated.data["conversation"]["status"] == "queued"
        ranked = next(e for e in recorded[0] if e.name == events.QUEUE_CHANGED)
        assert ranked.data["queue"] is not None
    rows = await pool.fetch(
        "SELECT c.status, c.team_id, c.band, c.priority, c.handoff_reason, c.last_seq,"
        " c.first_response_due - c.queued_at AS due_in, c.language, c.bot_fallbacks,"
        " (SELECT count(*) FROM activities a WHERE a.conversation_id = c.id"
        "   AND a.kind = 'handed_off') AS handed_off,"
        " (SELECT array_agg(m.text || ':' || coalesce(d.status, '-') ORDER BY m.seq)"
        "    FROM messages m LEFT JOIN deliveries d ON d.message_id = m.id"
        "   WHERE m.conversation_id = c.id AND m.author_kind = 'system') AS acks,"
        " (SELECT count(*) FROM messages m WHERE m.conversation_id = c.id"
        "   AND m.nlu IS NULL) AS uninterpreted"
        " FROM conversations c ORDER BY c.created_at"
    )
    assert len(rows) == 4
    assert rows[0]["status"] == "queued"
    assert rows[0]["handed_off"] == 1
    assert rows[0]["acks"] == [f"{ACK}:pending"]  # in the outbox
    assert all(dict(r) == dict(rows[0]) for r in rows)
    # The events as stored read back as they were published.
    async with pool.acquire() as conn:
        stored = await store.events_after(conn, 0, 1000)
    written = {e.id for o in outcomes if o is not None for e in o[0]}
    assert written <= {e.id for e in stored}
    # Decided again: interpreted already, nothing more is written.
    again = [await handoff(m) for m in held[1:]]
    async with pool.acquire() as conn:
        await decider._record_locked_together(conn, again)
    assert [h.outcome for h in again] == [None, None, None]
    assert await pool.fetchval("SELECT count(*) FROM activities") == 4
    assert await pool.fetchval("SELECT count(*) FROM messages") == 8
    await pipeline.close()


async def test_routing_facts_read_together_are_each_as_read_alone(pool: asyncpg.Pool) -> None:
    """The facts of mails routed together are read by one statement
    (store.nlu.routing_facts_of): the same as each read alone, earlier messages included."""
    pipeline = bot_off_pipeline(pool, InProcessBus(Metrics()))
    for name in ("a1", "a2", "a3"):
        await pipeline.ingest(inbound(name, f"still nothing, message {name}", visitor="ann"))
        await pipeline.settled()
    await pipeline.ingest(inbound("b1", "hello", visitor="bob"))
    await pipeline.settled()
    rows = await pool.fetch("SELECT conversation_id, seq FROM messages WHERE direction = 'in'")
    wanted = [(str(r["conversation_id"]), r["seq"]) for r in rows]
    assert len(wanted) == 4
    async with pool.acquire() as conn:
        together = await routing_facts_of(conn, wanted, 5)
        alone = {w: await store.routing_facts(conn, *w, 5) for w in wanted}
    assert together == alone
    assert any(f.earlier_texts for f in alone.values())
    await pipeline.close()


# lingua names a language for nonsense ("flibber wabble dronk" Dutch at 0.69): the routing
# rule that stops it going to a person as unsupported_language (routing.decision) also keeps
# that guess out of what is recorded and shown.
NONSENSE = "flibber wabble dronk"


async def _languages(pool: asyncpg.Pool) -> tuple[str | None, list[str | None]]:
    conversation = await pool.fetchval("SELECT language FROM conversations")
    messages = await pool.fetch("SELECT language FROM messages WHERE direction = 'in' ORDER BY seq")
    return conversation, [m["language"] for m in messages]


async def test_nonsense_keeps_the_bots_conversation_in_its_language(pool: asyncpg.Pool) -> None:
    """The bot has the conversation (the one-statement write): nonsense after an English
    message leaves the conversation English, and the message is recorded as English."""
    pipeline = _bot_pipeline(pool, _GreeterBot())
    await pipeline.ingest(inbound("m1", "Hello, I need some help with my order please"))
    await pipeline.settled()
    await pipeline.ingest(inbound("m2", NONSENSE))
    await pipeline.settled()
    assert await pool.fetchval("SELECT status FROM conversations") == "bot"
    assert await _languages(pool) == ("en", ["en", "en"])
    nlu = await pool.fetchval("SELECT nlu FROM messages WHERE text = $1", NONSENSE)
    assert nlu["language"] == "en"
    await pipeline.close()


async def test_nonsense_names_no_language_for_a_conversation_or_a_waiting_one(
    pool: asyncpg.Pool,
) -> None:
    """A first message of nonsense (handed over under the lock) gives the conversation no
    language; nonsense to a French conversation waiting for a person leaves it French."""
    pipeline = bot_off_pipeline(pool, InProcessBus(Metrics()))
    await pipeline.ingest(inbound("m1", NONSENSE))
    await pipeline.settled()
    assert await pool.fetchval("SELECT status FROM conversations") == "queued"
    assert await _languages(pool) == (None, [None])
    await pipeline.ingest(inbound("m2", "Bonjour, je n'ai toujours pas reçu ma commande"))
    await pipeline.settled()
    await pipeline.ingest(inbound("m3", NONSENSE))
    await pipeline.settled()
    assert await _languages(pool) == ("fr", [None, "fr", "fr"])
    await pipeline.close()


class _PuzzledBot(_GreeterBot):
    """Speaks English and French, understands nothing."""

    languages = frozenset({"en", "fr"})

    async def parse(self, text: str) -> Interpretation:
        return Interpretation(text=text, intent="nlu_fallback", confidence=0.3, engine=self.kind)


async def test_nonsense_after_a_french_fallback_hands_over_with_a_french_notice(
    pool: asyncpg.Pool,
) -> None:
    """A French customer the bot did not understand once, then nonsense lingua calls Dutch:
    the second not-understood message goes to a person, told so in French (the notice was
    chosen from lingua's guess, so it fell back to English)."""
    pipeline = _bot_pipeline(pool, _PuzzledBot())
    await pipeline.ingest(inbound("m1", "Bonjour, une question sur ma livraison"))
    await pipeline.settled()
    assert await pool.fetchval("SELECT status FROM conversations") == "bot"
    await pipeline.ingest(inbound("m2", NONSENSE))
    await pipeline.settled()
    assert await pool.fetchval("SELECT status FROM conversations") == "queued"
    notice = await pool.fetchval(
        "SELECT text FROM messages WHERE author_kind <> 'customer' ORDER BY seq DESC LIMIT 1"
    )
    assert notice == Texts().notice("fr", within_hours=True, hours="")
    assert await _languages(pool) == ("fr", ["fr", "fr"])
    await pipeline.close()
