"""Telegram updates as the webhook received them, before they are read (migration 0007).

The webhook keeps each update here, as Telegram sent it, and answers 200 once it is on disk;
reading it as a message (which needs the bot's username, unknown until the bot has
connected), storing that message and routing it follow, and the update is then deleted. The
bot's id (the token's prefix) and the update_id key it, so a redelivery is kept once; a
redelivery after the update was read is a message already, and the messages' own unique
channel id keeps it from being stored twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from server.store.views import Conn


@dataclass(frozen=True, slots=True)
class HeldUpdate:
    update_id: int
    body: bytes


async def hold(conn: Conn, bot_id: int, update_id: int, body: bytes) -> None:
    """Keep the update (once: a redelivery changes nothing)."""
    await conn.execute(
        "INSERT INTO telegram_held_updates (bot_id, update_id, body) VALUES ($1, $2, $3)"
        " ON CONFLICT (bot_id, update_id) DO NOTHING",
        bot_id,
        update_id,
        body,
    )


async def hold_many(conn: Conn, bot_id: int, updates: list[HeldUpdate]) -> None:
    """Keep the updates in one statement (each once: redeliveries, even within the list,
    change nothing)."""
    await conn.execute(
        "INSERT INTO telegram_held_updates (bot_id, update_id, body)"
        " SELECT $1, u, b FROM unnest($2::bigint[], $3::bytea[]) AS t (u, b)"
        " ON CONFLICT (bot_id, update_id) DO NOTHING",
        bot_id,
        [u.update_id for u in updates],
        [u.body for u in updates],
    )


async def take_oldest_many(conn: Conn, bot_id: int, limit: int) -> list[HeldUpdate]:
    """The bot's ``limit`` oldest held updates not locked by another node, locked until the
    caller's transaction ends (``take_oldest``, a batch at a time)."""
    rows = await conn.fetch(
        "SELECT update_id, body FROM telegram_held_updates WHERE bot_id = $1"
        " ORDER BY update_id LIMIT $2 FOR UPDATE SKIP LOCKED",
        bot_id,
        limit,
    )
    return [HeldUpdate(int(r["update_id"]), bytes(r["body"])) for r in rows]


async def forget_many(conn: Conn, bot_id: int, update_ids: list[int]) -> None:
    await conn.execute(
        "DELETE FROM telegram_held_updates WHERE bot_id = $1 AND update_id = ANY($2::bigint[])",
        bot_id,
        update_ids,
    )


async def held_count(conn: Conn, bot_id: int) -> int:
    return int(
        await conn.fetchval("SELECT count(*) FROM telegram_held_updates WHERE bot_id = $1", bot_id)
    )


async def take_oldest(conn: Conn, bot_id: int) -> HeldUpdate | None:
    """The bot's oldest held update, locked until the caller's transaction ends, or None.
    Call inside a transaction and ``forget`` the update in it once it is stored: a node that
    dies before that leaves it for the next, and a second node skips it meanwhile."""
    row = await conn.fetchrow(
        "SELECT update_id, body FROM telegram_held_updates WHERE bot_id = $1"
        " ORDER BY update_id LIMIT 1 FOR UPDATE SKIP LOCKED",
        bot_id,
    )
    return HeldUpdate(int(row["update_id"]), bytes(row["body"])) if row is not None else None


async def forget(conn: Conn, bot_id: int, update_id: int) -> None:
    await conn.execute(
        "DELETE FROM telegram_held_updates WHERE bot_id = $1 AND update_id = $2",
        bot_id,
        update_id,
    )
