"""What web chat sockets' hellos read in one statement (visitors.at_hellos), and a session
key's age (visitors.made_before), over a real Postgres."""

from __future__ import annotations

import asyncpg

from channels.base import Sender
from server import store
from server.services import demo
from server.store import visitors


async def _visitor(pool: asyncpg.Pool, visitor_id: str) -> tuple[str, str]:
    """A web chat visitor of the demo inbox: (inbox id, contact id)."""
    async with pool.acquire() as conn:
        inbox = await store.inbox_by_address(conn, "webchat", demo.WEBCHAT_INBOX)
        contact = await store.resolve_contact(
            conn, inbox["brand_id"], "webchat", Sender(visitor_id)
        )
    return inbox["id"], contact


async def _hello(pool: asyncpg.Pool, inbox: str, visitor_id: str) -> object:
    async with pool.acquire() as conn:
        found = await visitors.at_hellos(conn, [(inbox, visitor_id)])
    return None if not found else tuple(found[inbox, visitor_id])


async def _made_before(pool: asyncpg.Pool, visitor_id: str, seconds: float) -> bool:
    async with pool.acquire() as conn:
        return await visitors.made_before(conn, visitor_id, seconds)


async def test_a_hello_reads_the_inbox_the_visitor_and_its_open_conversation(
    pool: asyncpg.Pool,
) -> None:
    inbox_id, contact = await _visitor(pool, "v-hello")
    assert await _hello(pool, demo.WEBCHAT_INBOX, "v-hello") == (
        inbox_id,
        contact,
        None,
    )
    async with pool.acquire() as conn, conn.transaction():
        inbox = await store.inbox_by_address(conn, "webchat", demo.WEBCHAT_INBOX)
        first, _ = await store.lock_open_conversation(conn, inbox, contact)
    await pool.execute("UPDATE conversations SET status = 'resolved' WHERE id = $1", first["id"])
    async with pool.acquire() as conn, conn.transaction():
        second, _ = await store.lock_open_conversation(conn, inbox, contact)
    # The open one, not the resolved one, whichever is newer.
    await pool.execute(
        "UPDATE conversations SET created_at = now() + interval '1 hour' WHERE id = $1",
        first["id"],
    )
    found = await _hello(pool, demo.WEBCHAT_INBOX, "v-hello")
    assert found == (inbox_id, contact, str(second["id"]))


async def test_a_hello_for_no_such_visitor_or_inbox(pool: asyncpg.Pool) -> None:
    inbox_id, _ = await _visitor(pool, "v-known")
    assert await _hello(pool, demo.WEBCHAT_INBOX, "v-stranger") == (
        inbox_id,
        None,
        None,
    )
    assert await _hello(pool, "no-such-inbox", "v-known") is None


async def test_a_visitor_is_made_before_only_once_that_long_has_passed(
    pool: asyncpg.Pool,
) -> None:
    await _visitor(pool, "v-age")
    assert not await _made_before(pool, "v-age", 60)
    assert not await _made_before(pool, "v-nobody", 60)
    await pool.execute(
        "UPDATE contact_identities SET created_at = now() - interval '2 minutes'"
        " WHERE external_id = 'v-age'"
    )
    assert await _made_before(pool, "v-age", 60)


async def test_many_hellos_read_together_each_get_their_own(pool: asyncpg.Pool) -> None:
    inbox_id, first = await _visitor(pool, "v-one")
    _, second = await _visitor(pool, "v-two")
    async with pool.acquire() as conn:
        found = await visitors.at_hellos(
            conn,
            [
                (demo.WEBCHAT_INBOX, "v-one"),
                (demo.WEBCHAT_INBOX, "v-stranger"),
                ("no-such-inbox", "v-one"),
                (demo.WEBCHAT_INBOX, "v-two"),
            ],
        )
    assert found == {
        (demo.WEBCHAT_INBOX, "v-one"): visitors.Hello(inbox_id, first, None),
        (demo.WEBCHAT_INBOX, "v-stranger"): visitors.Hello(inbox_id, None, None),
        (demo.WEBCHAT_INBOX, "v-two"): visitors.Hello(inbox_id, second, None),
    }


async def test_a_pair_read_alone_is_read_as_in_a_batch(pool: asyncpg.Pool) -> None:
    """A lone hello has a statement of its own (two text parameters, not two arrays): each
    pair reads the same alone as among others."""
    inbox_id, contact = await _visitor(pool, "v-lone")
    async with pool.acquire() as conn, conn.transaction():
        inbox = await store.inbox_by_address(conn, "webchat", demo.WEBCHAT_INBOX)
        conversation, _ = await store.lock_open_conversation(conn, inbox, contact)
    pairs = [
        (demo.WEBCHAT_INBOX, "v-lone"),
        (demo.WEBCHAT_INBOX, "v-stranger"),
        ("no-such-inbox", "v-lone"),
    ]
    async with pool.acquire() as conn:
        together = await visitors.at_hellos(conn, pairs)
        alone = [await visitors.at_hellos(conn, [pair]) for pair in pairs]
    assert together[pairs[0]] == visitors.Hello(inbox_id, contact, str(conversation["id"]))
    assert alone == [{pair: together[pair]} if pair in together else {} for pair in pairs]
    assert len(together) == 2
