"""Telegram updates held while their bot was connecting (migration 0007).

The webhook can receive updates before the bot has connected: without the bot's username an
update cannot be read as a message yet, and answering 503 would make Telegram give up on it
after a few attempts. So it is kept here, as Telegram sent it, and answered 200; once the bot
has connected each is turned into a message and deleted. The bot's id (the token's prefix)
and the update_id key it, so a redelivery is kept once.
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
