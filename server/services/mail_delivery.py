"""The email channel's deliverer: builds the reply from the stored conversation and sends it
through the relay. RFC 3834's rules are applied here, at the last moment: an automatic
message (a bot's answer, an acknowledgement) never goes to a machine, and an acknowledgement
goes at most once per conversation in the configured window."""

from __future__ import annotations

from datetime import UTC, datetime

from channels.base import DeliveryError
from channels.email.composer import OutgoingMail, compose, plus_address, reply_subject
from channels.email.relay import Relay
from server import store
from server.delivery.outbox import Sent, Suppressed
from server.store import Pool, deliveries, mail


class MailDelivery:
    def __init__(self, pool: Pool, relay: Relay, ack_window_seconds: float) -> None:
        self._pool = pool
        self._relay = relay
        self._ack_window = ack_window_seconds

    async def deliver(self, message_id: int) -> Sent | Suppressed:
        async with self._pool.acquire() as conn:
            context = await mail.outgoing_context(conn, message_id)
            if context is None:
                return Suppressed("the message no longer exists")
            automatic = context.author_kind in ("bot", "system")
            if automatic and context.last_automated:
                return Suppressed(
                    f"no automatic reply to an automated mail ({context.last_automated})"
                )
            # The window is for acknowledgements; the rating question answers a person's
            # resolve and goes out (to a person: the rule above still holds).
            acknowledgement = context.author_kind == "system" and not context.survey
            if acknowledgement and await deliveries.acknowledged_recently(
                conn, context.conversation_id, self._ack_window
            ):
                return Suppressed("this conversation was acknowledged by mail recently")
            if not context.to_address:
                raise DeliveryError("the contact has no email address", permanent=True)
            domain = context.inbox_address.rpartition("@")[2]
            token = context.reply_token or "x"
            message_ref = f"sb-{context.message_id}.{token}@{domain}"
            # Stored before the send: a bounce that comes back faster than our bookkeeping
            # still finds its message.
            await deliveries.set_external_id(conn, message_id, message_ref)
            files = await store.attachments_of(conn, message_id)
        outgoing = OutgoingMail(
            from_address=context.inbox_address,
            from_name=context.sender_name,
            reply_to=(
                plus_address(context.inbox_address, context.reply_token)
                if context.reply_token
                else context.inbox_address
            ),
            to_address=context.to_address,
            to_name=context.to_name,
            subject=reply_subject(context.subject),
            text=context.text,
            message_id=message_ref,
            thread=context.thread,
            in_reply_to=context.in_reply_to,
            date=datetime.now(UTC),
            automatic=automatic,
            attachments=files,
        )
        answer = await self._relay.send(
            compose(outgoing), context.inbox_address, context.to_address
        )
        return Sent(external_id=message_ref, detail=answer)
