"""A parsed mail into its conversations: a delivery report attached to the outgoing message
it names; otherwise, for each of our inboxes it was sent to, its thread (plus-address token,
then In-Reply-To/References — each only if the sender is that conversation's contact), and
the pipeline stores it once per Message-ID. A mail to one inbox has its receipt settled in
the transaction that stores its message (``Pipeline.write_beside``); a duplicate, or a mail to
several of our inboxes, is settled after, by a batch of its own. Used by the mailroom
(server/services/mailroom.py) once a receipt is parsed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import structlog

from channels.base import InboundMessage, Sender
from channels.email import parsing
from channels.email.parsing import ParsedMail
from server import events
from server.events import Event
from server.live.bus import EventBus
from server.metrics import Metrics
from server.payloads import MessageView
from server.pipeline.flow import Pipeline
from server.pipeline.messages import Stored
from server.store import Conn, Pool, deliveries, event_log, mail
from server.store.group_commit import GroupCommit

log = structlog.get_logger(__name__)

# Inboxes change rarely; recipients are checked on every RCPT.
INBOX_CACHE_SECONDS = 30.0
# Settling receipts (a duplicate, a mail to several inboxes): a batch of whatever came
# together, on a connection of its own while a burst lasts.
SETTLE_WRITERS = 1


class MailInbound:
    """Parsed mails to the pipeline, and their receipts settled."""

    def __init__(self, pool: Pool, pipeline: Pipeline, bus: EventBus, metrics: Metrics) -> None:
        self._pool = pool
        self._pipeline = pipeline
        self._bus = bus
        self._metrics = metrics
        self._inboxes: dict[str, dict[str, Any]] = {}
        self._inboxes_until = 0.0
        self._settlements: GroupCommit[mail.Settlement] = GroupCommit(
            pool, mail.settle_receipts, writers=SETTLE_WRITERS
        )
        # How each receipt being stored is to be settled, by receipt id: settled in the
        # transaction that stores its message (``_settle_stored``), when it reaches one inbox.
        self._settling: dict[int, mail.Settlement] = {}
        pipeline.write_beside("email", self._settle_stored)

    async def close(self) -> None:
        await self._settlements.close()

    async def quarantine(self, receipt_id: int, reason: str) -> None:
        async with self._pool.acquire() as conn:
            await mail.settle_receipt(conn, receipt_id, "quarantined", reason)
        self._metrics.mail_processed.labels("quarantined").inc()
        log.warning("mail quarantined", receipt_id=receipt_id, reason=reason)

    async def attach_report(self, receipt_id: int, parsed: ParsedMail) -> None:
        report = parsed.report
        assert report is not None
        status = {"failed": "bounced", "delayed": "delayed", "delivered": "delivered"}[
            report.action
        ]
        found = None
        async with self._pool.acquire() as conn, conn.transaction():
            if report.original_message_id:
                found = await deliveries.report(
                    conn,
                    "email",
                    report.original_message_id,
                    status,
                    report.summary(),
                    {
                        "kind": report.kind,
                        "action": report.action,
                        "status": report.status,
                        "recipient": report.recipient,
                        "diagnostic": report.diagnostic,
                        "receipt_id": receipt_id,
                    },
                )
            reason = f"{report.kind} report: {report.summary()}"
            if found is None:
                reason += " (names no message of ours)"
            stored: list[Event] = []
            if found is not None:
                conversation_id, delivery = found
                stored = await event_log.store_events(
                    conn, [Event(events.MESSAGE_DELIVERY, conversation_id, {"delivery": delivery})]
                )
            await mail.settle_receipt(
                conn,
                receipt_id,
                "report",
                reason,
                message_id=parsed.message_id,
                subject=parsed.subject,
                conversation_id=found[0] if found else None,
            )
        for event in stored:
            await self._bus.publish(event)
        self._metrics.mail_processed.labels("report").inc()

    async def deliver(
        self,
        receipt_id: int,
        rcpt_tos: list[str],
        parsed: ParsedMail,
        reached: Callable[[], None],
    ) -> None:
        """One conversation message per inbox the mail was sent to (usually one); ``reached``
        is called once they are in the console, before the receipt is settled apart."""
        targets: dict[str, tuple[dict[str, Any], str | None]] = {}
        for rcpt in rcpt_tos:
            found = await self.inbox_for(rcpt)
            if found is not None and found[0]["id"] not in targets:
                targets[found[0]["id"]] = found
        if not targets:
            await self.quarantine(receipt_id, "none of its recipients is an inbox any more")
            return
        conversation_id: str | None = None
        duplicate = True
        message_ids: list[int] = []
        settlement = mail.Settlement(
            receipt_id,
            "stored",
            f"automated: {parsed.automated}" if parsed.automated else None,
            message_id=parsed.message_id,
            subject=parsed.subject,
        )
        if len(targets) == 1:
            # The usual mail: settled with its message, in one commit (the other inboxes'
            # messages of a mail sent to several are settled below, once all are stored).
            self._settling[receipt_id] = settlement
        try:
            for inbox, token in targets.values():
                stored = await self._ingest(receipt_id, inbox, token, parsed)
                conversation_id = conversation_id or stored.message["conversation_id"]
                duplicate = duplicate and stored.duplicate
                message_ids.append(stored.message["id"])
        finally:
            self._settling.pop(receipt_id, None)
        # In the console now: its bytes need not wait for the receipt's settling.
        reached()
        if len(targets) == 1 and not duplicate:
            # Settled with the message (``_settle_stored``).
            self._metrics.mail_processed.labels("stored").inc()
            return
        if duplicate:
            # Stored before from this very receipt (its settling lost in a crash: it is not
            # waited for), or another delivery of the same mail?
            async with self._pool.acquire() as conn:
                duplicate = not await mail.came_from(conn, message_ids, receipt_id)
        state = "duplicate" if duplicate else "stored"
        await self._settlements.add(
            replace(settlement, state=state, conversation_id=conversation_id)
        )
        self._metrics.mail_processed.labels(state).inc()

    async def _settle_stored(
        self, conn: Conn, stored: list[tuple[InboundMessage, MessageView]]
    ) -> None:
        """In the transaction storing these mails' messages: settle the receipts they came
        from (those ``_deliver`` settles this way), so a receipt is 'stored' exactly when
        its message is, with no commit of its own."""
        settled = []
        for inbound, message in stored:
            settlement = self._settling.get(inbound.meta.get("receipt_id", 0))
            if settlement is not None:
                settled.append(replace(settlement, conversation_id=message["conversation_id"]))
        if settled:
            await mail.settle_stored(conn, settled)

    async def _ingest(
        self, receipt_id: int, inbox: dict[str, Any], token: str | None, parsed: ParsedMail
    ) -> Stored:
        """The mail as a message of one of our inboxes, stored once per Message-ID."""
        thread = await self._thread(inbox, token, parsed)
        return await self._pipeline.ingest(
            InboundMessage(
                channel="email",
                inbox_address=inbox["address"],
                external_id=mail.inbound_key(inbox["id"], parsed.message_id),
                sender=Sender(
                    external_id=parsed.from_address,
                    name=parsed.from_name,
                    email=parsed.from_address,
                ),
                text=parsed.text or "(no text)",
                thread=thread,
                subject=parsed.subject or None,
                attachments=parsed.attachments,
                automated=parsed.automated,
                meta={**parsing.as_json(parsed), "receipt_id": receipt_id},
            )
        )

    async def _thread(self, inbox: dict[str, Any], token: str | None, parsed: ParsedMail) -> str:
        """The thread key: the conversation the mail answers, else a new thread of its own."""
        sender = parsed.from_address
        # In-Reply-To names the parent; References the thread, newest first.
        ids = list(dict.fromkeys([*parsed.in_reply_to, *parsed.references]))
        if not token and not ids:
            return parsed.message_id  # a new thread: nothing to look up
        async with self._pool.acquire() as conn:
            found = None
            if token:
                found = await mail.thread_by_token(conn, inbox["id"], token, sender)
            if found is None:
                found = await mail.thread_by_message_ids(conn, inbox["id"], ids, sender)
        return found.thread_key if found is not None else parsed.message_id

    async def inbox_for(self, address: str) -> tuple[dict[str, Any], str | None] | None:
        """The inbox an address reaches and its plus-address token, if any."""
        local, _, domain = address.strip().lower().rpartition("@")
        base, plus, token = local.partition("+")
        now = time.monotonic()
        if now >= self._inboxes_until:
            async with self._pool.acquire() as conn:
                self._inboxes = await mail.email_inbox_addresses(conn)
            self._inboxes_until = now + INBOX_CACHE_SECONDS
        inbox = self._inboxes.get(f"{base}@{domain}")
        if inbox is None:
            return None
        return inbox, (token or None) if plus else None
