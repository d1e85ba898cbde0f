"""CSAT: when an agent resolves a conversation the customer is told so, in the brand's closing
words (server/store/brand_texts.py) and their language, and asked, on their own channel,
to rate it from 1 to 5 (a number is what every channel can carry); a number sent back soon
after answers the survey, with whatever they add as the comment, instead of opening a new
conversation. The answer is thanked and kept with the conversation (store/csat.py).

Where the rating is a button (Slack's Block Kit), the press carries only the number; the
channel then offers an input for the comment under the rated question, and a comment sent
from it within a day of the rating is kept with it (``comment``) and stored in the
transcript as the customer's message, as a typed "4 - quick and kind" is."""

from __future__ import annotations

from channels.base import InboundMessage
from server import store
from server.events import Event
from server.live.bus import EventBus
from server.metrics import Metrics
from server.payloads import MessageView
from server.pipeline.messages import AlreadyStored, message_created, meta_of, publish
from server.store import ConversationRow, Pool, brand_texts, csat

# The thanks and the conversation's end are the closing message's (the brand's words); the
# question only asks.
QUESTION = {
    "en": "How did we do? Reply with a number from 1 (poor) to 5 (great), and a comment if "
    "you like.",
    "fr": "Comment avons-nous fait ? Répondez par un chiffre de 1 (mauvais) à 5 (excellent), "
    "suivi d'un commentaire si vous le souhaitez.",
}
# Channels where the closing words and the question go as one message: two mails at once
# would be one too many in the customer's inbox.
ONE_MAIL = frozenset({"email"})
THANKS = {
    "en": "Thank you for your feedback!",
    "fr": "Merci pour votre avis !",
}


def _in(texts: dict[str, str], language: str | None) -> str:
    return texts.get(language or "en", texts["en"])


class Survey:
    def __init__(self, pool: Pool, bus: EventBus, metrics: Metrics) -> None:
        self._pool = pool
        self._bus = bus
        self._metrics = metrics

    async def ask(self, conversation_id: str, agent_id: str | None) -> None:
        """Tell the customer of a just-resolved conversation it is closed, in the brand's
        words, then ask them to rate it (once, whoever resolves again)."""
        async with self._pool.acquire() as conn, conn.transaction():
            conv = await store.conversation_row(conn, conversation_id, lock=True)
            if conv["status"] != "resolved" or not await csat.ask(conn, conversation_id, agent_id):
                return
            language = await csat.language_of(conn, conversation_id)
            brand_id = await csat.brand_of(conn, conversation_id)
            closing = await brand_texts.text_for(conn, brand_id, "closing", language)
            parts: list[tuple[str, dict[str, object]]] = [
                (closing, {"closing": True}),
                (_in(QUESTION, language), {"csat": "asked"}),
            ]
            if conv["channel"] in ONE_MAIL:
                parts = [(f"{closing}\n\n{parts[1][0]}", {"closing": True, "csat": "asked"})]
            pending = []
            for text, meta in parts:
                message = await store.insert_message(
                    conn,
                    conversation_id,
                    direction="out",
                    author_kind="system",
                    channel=conv["channel"],
                    text=text,
                    meta=meta,
                )
                assert message is not None  # no external id, so no conflict is possible
                pending.append(message_created(conv, message))
            stored = await store.store_events(conn, pending)
        self._metrics.messages_out.labels(conv["channel"], "system").inc(len(pending))
        await publish(self._bus, stored)

    async def answer(
        self,
        conn: store.Conn,
        conv: ConversationRow,
        inbound: InboundMessage,
        rating: int,
        comment: str | None,
    ) -> tuple[MessageView, list[Event]]:
        """Inside the caller's transaction: store the customer's answer in the resolved
        conversation, the rating, and the thanks; the events to publish after the commit."""
        message = await store.insert_message(
            conn,
            conv["id"],
            direction="in",
            author_kind="customer",
            channel=inbound.channel,
            external_id=inbound.external_id,
            text=inbound.text,
            meta={**meta_of(inbound), "csat": rating},
        )
        if message is None:
            raise AlreadyStored  # a redelivery: rolls the answer back
        await csat.answer(conn, conv["id"], rating, comment)
        thanks = await store.insert_message(
            conn,
            conv["id"],
            direction="out",
            author_kind="system",
            channel=conv["channel"],
            text=_in(THANKS, await csat.language_of(conn, conv["id"])),
            meta={"csat": "thanked"},
        )
        assert thanks is not None
        self._metrics.messages_out.labels(conv["channel"], "system").inc()
        pending = [message_created(conv, message), message_created(conv, thanks)]
        return message, await store.store_events(conn, pending)

    async def comment(self, conversation_id: str, inbound: InboundMessage) -> bool:
        """Keep a comment sent apart from its rating with it, and store it in the resolved
        conversation as the customer's message (not thanked again: the rating was). False,
        storing nothing, when the survey takes no comment now (not rated, one kept already,
        or rated more than a day ago) or this comment was stored before."""
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                conv = await store.conversation_row(conn, conversation_id, lock=True)
                if not await csat.add_comment(conn, conversation_id, inbound.text):
                    return False
                message = await store.insert_message(
                    conn,
                    conversation_id,
                    direction="in",
                    author_kind="customer",
                    channel=inbound.channel,
                    external_id=inbound.external_id,
                    text=inbound.text,
                    meta={**meta_of(inbound), "csat_comment": True},
                )
                if message is None:
                    # Stored before (its comment since erased): rolls the comment back.
                    raise AlreadyStored
                stored = await store.store_events(conn, [message_created(conv, message)])
        except AlreadyStored:
            return False
        self._metrics.messages_in.labels(inbound.channel).inc()
        await publish(self._bus, stored)
        return True
