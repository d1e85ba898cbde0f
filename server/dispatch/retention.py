"""The retention sweep: each brand's retention settings applied (store/retention.py says what
they mean). It runs from the sweeps (sweeps.py), so only the node holding their lease does
it, about once an hour; each batch is its own transaction, so a large backlog never holds
locks for long, and a node that dies part-way leaves the rest for the next holder.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

import structlog

from server.store import Pool, audit, privacy
from server.store import retention as settings

log = structlog.get_logger(__name__)

# Conversations anonymised per transaction, and events deleted per statement: a few hundred
# milliseconds of work each, so the router and the pipeline never wait long on their locks.
CONVERSATION_BATCH = 200
EVENT_BATCH = 10_000


@dataclass(slots=True)
class Applied:
    """What one round did to one brand."""

    brand: str
    # Anonymised, or deleted when the brand's retention_action says so.
    conversations: int = 0
    deleted: int = 0
    messages: int = 0
    events: int = 0
    attachments: int = 0
    mail_receipts: int = 0

    def __bool__(self) -> bool:
        return any(
            (self.conversations, self.deleted, self.events, self.attachments, self.mail_receipts)
        )


async def apply_retention(pool: Pool, now: datetime) -> list[Applied]:
    """Apply every brand's retention as of ``now``; what was done, per brand that had
    anything to do. Each brand's round is recorded in the audit log ("retention.applied")."""
    async with pool.acquire() as conn:
        brands = await settings.retention(conn)
    done = []
    for brand in brands:
        applied = Applied(brand.slug)
        if brand.retention_days is not None:
            await _anonymise(pool, brand, now - timedelta(days=brand.retention_days), applied)
        if brand.events_retention_days is not None:
            cutoff = now - timedelta(days=brand.events_retention_days)
            while True:
                async with pool.acquire() as conn:
                    deleted = await settings.delete_events_before(
                        conn, brand.brand_id, cutoff, EVENT_BATCH
                    )
                applied.events += deleted
                if deleted < EVENT_BATCH:
                    break
        if brand.files_retention_days is not None:
            cutoff = now - timedelta(days=brand.files_retention_days)
            async with pool.acquire() as conn:
                files = await settings.delete_files_before(conn, brand.brand_id, cutoff)
            applied.attachments += files["attachments"]
            applied.mail_receipts += files["mail_receipts"]
        if applied:
            async with pool.acquire() as conn:
                detail = {k: v for k, v in asdict(applied).items() if k != "brand"}
                await audit.record(
                    conn,
                    action="retention.applied",
                    brand_id=str(brand.brand_id),
                    target_kind="brand",
                    target_id=brand.slug,
                    detail=detail,
                )
            log.info("retention applied", **asdict(applied))
            done.append(applied)
    return done


async def _anonymise(
    pool: Pool, brand: settings.Retention, cutoff: datetime, applied: Applied
) -> None:
    delete = brand.retention_action == "delete"
    while True:
        async with pool.acquire() as conn, conn.transaction():
            ids = await settings.conversations_past(
                conn, brand.brand_id, cutoff, CONVERSATION_BATCH, anonymised=delete
            )
            if delete:
                done = await settings.delete_conversations(conn, ids)
            else:
                done = await privacy.anonymise_conversations(conn, ids)
        if delete:
            applied.deleted += done["conversations"]
        else:
            applied.conversations += done["conversations"]
        applied.messages += done["messages"]
        applied.events += done["events"]
        applied.attachments += done["attachments"]
        applied.mail_receipts += done["mail_receipts"]
        if len(ids) < CONVERSATION_BATCH:
            return
