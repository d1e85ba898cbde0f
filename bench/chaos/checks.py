"""What must keep holding under every fault besides the messages themselves (issue 21's
"Also"): each console receives only what its person may see; no conversation is assigned to
two people at once; connected agents are not marked away; the retention sweep runs on one
node at a time; every reply reaches the channel's far side (duplicates counted, not hidden).
Each reads Postgres, the ledger, the nodes' logs or the stand-ins' record.
"""

from __future__ import annotations

import uuid
from collections import Counter
from pathlib import Path

import asyncpg
import orjson

from bench.chaos.ledger import Ledger
from bench.chaos.outbound import Delivered, Received, until_settled

# The brand whose resolved conversations are aged past its retention, one a scenario.
RETAINED_BRAND = "outdoor"
RETENTION_DAYS = 365
OUTBOUND_CHANNELS = ("email", "telegram", "slack")
# A claimed delivery is out of other senders' reach for 120 s (server/store/deliveries.py's
# SENDING_LEASE_SECONDS), then due again: the outbox has settled within that and a margin.
OUTBOX_SETTLES = 150.0


async def _connect(dsn: str) -> asyncpg.Connection:
    return await asyncpg.connect(dsn)


async def out_of_scope(ledger: Ledger, dsn: str) -> tuple[int, list[str]]:
    """Conversations of a brand a console's person has no part in that still reached it."""
    ids = {c for seen in ledger.console_conversations.values() for c in seen if _is_uuid(c)}
    if not ids:
        return 0, []
    conn = await _connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT c.id::text AS id, b.slug FROM conversations c"
            " JOIN brands b ON b.id = c.brand_id WHERE c.id = ANY($1::uuid[])",
            sorted(ids),
        )
    finally:
        await conn.close()
    brand = {r["id"]: r["slug"] for r in rows}
    wrong = 0
    notes = []
    for n, seen in sorted(ledger.console_conversations.items()):
        email, brands = ledger.console_agent[n]
        if brands is None:
            continue
        outside = sorted(c for c in seen if c in brand and brand[c] not in brands)
        wrong += len(outside)
        if outside:
            notes.append(f"console {n} ({email}) got events of {len(outside)} conversations"
                         f" outside {sorted(brands)}: {outside[:3]}")  # fmt: skip
    return wrong, notes


async def assigned_twice(run: str, dsn: str) -> tuple[int, list[str]]:
    """Conversations of this run given to someone while another still held them, read from
    their history (the activities, written in the claim's own statement): an ``assigned``
    while assigned, with no requeue, return to the bot, resolution or transfer between."""
    conn = await _connect(dsn)
    try:
        rows = await conn.fetch(
            """SELECT a.conversation_id::text AS conversation, a.kind, a.agent_id::text AS agent
                 FROM activities a
                WHERE a.conversation_id IN (
                      SELECT DISTINCT conversation_id FROM messages
                       WHERE author_kind = 'customer' AND text LIKE $1)
                ORDER BY a.conversation_id, a.id""",
            f"%cx-{run}-%",
        )
    finally:
        await conn.close()
    holder: dict[str, str | None] = {}
    twice: list[str] = []
    assigned = 0
    for row in rows:
        conversation, kind = row["conversation"], row["kind"]
        if kind == "assigned":
            assigned += 1
            if holder.get(conversation) not in (None, row["agent"]):
                twice.append(conversation)
            holder[conversation] = row["agent"]
        elif kind == "transferred":
            holder[conversation] = row["agent"]
        elif kind in ("requeued", "returned_to_bot", "resolved", "reopened", "handed_off"):
            holder[conversation] = None
    notes = [f"{assigned} assignments"]
    if twice:
        notes.append(f"assigned twice at once: {sorted(set(twice))[:3]}")
    return len(twice), notes


async def not_online(emails: list[str], dsn: str) -> list[str]:
    """Of the people whose consoles are connected, those no longer online (the presence sweep
    took them for gone)."""
    conn = await _connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT email, status FROM agents WHERE email = ANY($1::text[])", emails
        )
    finally:
        await conn.close()
    return sorted(r["email"] for r in rows if r["status"] != "online")


async def age_for_retention(run: str, dsn: str) -> int:
    """Give the second brand a retention and make one of its conversations from an earlier
    run resolved long ago, so the next retention round has one to anonymise (none in the
    first scenario); how many wait for a round."""
    conn = await _connect(dsn)
    try:
        await conn.execute(
            "UPDATE brands SET retention_days = $2 WHERE slug = $1", RETAINED_BRAND,
            RETENTION_DAYS,
        )  # fmt: skip
        await conn.fetch(
            """UPDATE conversations SET status = 'resolved',
                      resolved_at = now() - make_interval(days => $3)
                WHERE id = (
                      SELECT c.id FROM conversations c JOIN brands b ON b.id = c.brand_id
                       WHERE b.slug = $1 AND c.anonymised_at IS NULL
                         AND c.status <> 'resolved'
                         AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id
                                            AND m.text LIKE $2)
                       LIMIT 1)
            RETURNING id""",
            RETAINED_BRAND,
            f"%cx-{run}-%",
            RETENTION_DAYS + 30,
        )
        waiting = await conn.fetchval(
            """SELECT count(*) FROM conversations c JOIN brands b ON b.id = c.brand_id
                WHERE b.slug = $1 AND c.status = 'resolved' AND c.anonymised_at IS NULL
                  AND c.resolved_at < now() - make_interval(days => $2)""",
            RETAINED_BRAND,
            RETENTION_DAYS,
        )
    finally:
        await conn.close()
    return int(waiting)


def retention_rounds(logs: dict[str, tuple[Path, int]]) -> Counter[str]:
    """Per node, the retention rounds that did something ("retention applied") its log has
    since the offset given."""
    rounds: Counter[str] = Counter()
    for name, (path, offset) in logs.items():
        with path.open("rb") as log:
            log.seek(offset)
            for line in log:
                if b"retention applied" not in line:
                    continue
                try:
                    entry = orjson.loads(line)
                except orjson.JSONDecodeError:
                    continue
                if entry.get("event") == "retention applied":
                    rounds[name] += 1
    return rounds


async def anonymised_by_retention(dsn: str, since_id: int) -> int:
    """Conversations the retention rounds recorded in the audit log after ``since_id``."""
    conn = await _connect(dsn)
    try:
        total = await conn.fetchval(
            "SELECT coalesce(sum((detail->>'conversations')::int), 0) FROM audit_log"
            " WHERE action = 'retention.applied' AND id > $1",
            since_id,
        )
    finally:
        await conn.close()
    return int(total)


async def audit_position(dsn: str) -> int:
    conn = await _connect(dsn)
    try:
        return int(await conn.fetchval("SELECT coalesce(max(id), 0) FROM audit_log"))
    finally:
        await conn.close()


async def outbound(
    run: str, dsn: str, received: Received, within: float = OUTBOX_SETTLES
) -> list[Delivered]:
    """Per channel, the bot's replies to this run's messages (each carries the customer's
    mark) against what the far side received. Waits up to ``within`` seconds for the outbox
    to settle: a delivery whose node died, or whose outcome could not be written (Postgres
    away), is tried again once its claim lapses, and a repeat then is counted."""
    query = """SELECT d.channel, d.status, d.external_id, substring(m.text from $1) AS mark
                 FROM messages m JOIN deliveries d ON d.message_id = m.id
                WHERE m.author_kind = 'bot' AND m.text LIKE $2"""
    args = (f"cx-{run}-[a-z]+-[0-9]+", f"%cx-{run}-%")
    rows: list[asyncpg.Record] = []

    async def settled() -> bool:
        nonlocal rows
        conn = await _connect(dsn)
        try:
            rows = await conn.fetch(query, *args)
        finally:
            await conn.close()
        # Sent means the far side answered; its record is written before that answer.
        return not any(r["status"] == "pending" for r in rows)

    await until_settled(settled, within)
    figures = []
    for channel in OUTBOUND_CHANNELS:
        mine = [r for r in rows if r["channel"] == channel]
        got = received.of(channel, run)
        f = Delivered(channel, replies=len(mine))
        for r in mine:
            if r["status"] == "pending":
                f.pending += 1
                f.pending_received += r["mark"] in got
            elif r["status"] == "failed":
                f.failed += 1
            elif r["mark"] in got:
                f.received += 1
            else:
                f.lost += 1
        if channel == "email":
            ids = {str(r["external_id"]) for r in mine if r["external_id"]}
            f.duplicated = sum(c - 1 for i, c in received.message_ids.items() if i in ids)
        else:
            f.duplicated = sum(c - 1 for c in got.values())
        figures.append(f)
    return figures


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
