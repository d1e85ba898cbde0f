"""The Slack channel inside the server: the server's side of ``channels.slack``.

``channels.slack.app`` receives Slack's events (signed, over HTTP) and ``channels.slack.web`` makes
the Web API calls (slack_sdk); this service implements their port: it holds each event that
carries a customer's message (``SlackBackend.hold``: the events that arrive together written
by one statement and one commit) before the event is acknowledged, then a drainer reads the
held events a batch at a time (their threads side by side, each thread's events in order),
stores each message through the pipeline and deletes the batch in the transaction that
locked it, so a node killed part-way leaves it held for the next (what was stored already is
not stored twice); it fills the writer's name and email onto their contact afterwards, and
delivers replies through the outbox. Past MAX_HELD events waiting, the endpoint answers 503
with Retry-After; the drainer waits while the pipeline is saturated.
The rating question goes out with five Block Kit buttons (``channels.slack.blocks``); a press
(``channels.slack.interactivity``) is stored as the number a customer would have typed, and
the question then shows the rating instead of its buttons, and an input for the comment a
button cannot carry; a comment sent from it is kept with the rating (server.pipeline.survey)
and the question then shows it in place of the input. It imports no Slack library.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import structlog
from starlette.routing import Route

from channels.base import Attachment, Busy, DeliveryError, InboundMessage, Sender
from channels.slack.app import EVENTS_PATH, SlackEvents
from channels.slack.blocks import question_blocks, rated_blocks, stars
from channels.slack.interactivity import SlackInteractions
from channels.slack.translate import (
    Comment,
    Incoming,
    Rating,
    comment_external_id,
    external_id,
    rating_external_id,
    to_incoming,
)
from channels.slack.web import SlackWeb
from server import store
from server.delivery.outbox import Sent, Suppressed, send_parts
from server.delivery.reconnect import keep_trying
from server.metrics import Metrics
from server.pipeline.flow import Pipeline
from server.services.held_batches import DrainPace, all_or_first_error, woken
from server.store import Pool, csat, cursors, slack_events
from server.store.group_commit import GroupCommit
from server.store.slack_events import HeldEvent

log = structlog.get_logger(__name__)

# Held events read in one transaction, and threads of a batch stored at once.
DRAIN_BATCH = 200
DRAIN_THREADS = 16
# Events held and not yet read past which the endpoint answers 503 (Retry-After): a few
# minutes of draining on two shared cores, some 100 MB in Postgres. A burst fills it at the
# endpoint's pace; the fuller it is, the larger the share the drainer takes meanwhile (DrainPace).
MAX_HELD = 100_000
RETRY_AFTER = 1.0
# One batch of held events written at a time: the events that arrive while it is written
# wait for it and go together into the next INSERT and WAL flush. With the group commit's
# three writers a flood's requests were split into small batches as they came (wrk, 20
# connections, 5 s: 0.28-0.34 commits an acknowledgement against 0.16-0.22 with one; Slack
# 0.16-0.25x the bare endpoint against 0.28-0.60x, p99 179-229 ms against 16-21 ms, in three
# alternating pairs on 2026-12-07; the mail receipts found the same, server/services/
# mail_backlog.py).
HOLD_WRITERS = 1
# How long the drainer waits before looking again while the pipeline is saturated, or
# while ``settled`` waits for the held events to be read.
PAUSE = 0.05


def _takes_comment(answer: csat.CsatView) -> bool:
    """Whether a comment would still be kept (csat.add_comment's rule: within a day of the
    rating), so the question offers the input."""
    if answer["answered_at"] is None:
        return False
    rated = datetime.fromisoformat(answer["answered_at"])
    return datetime.now(UTC) - rated < timedelta(hours=csat.ANSWER_WITHIN_HOURS)


class SlackService:
    """Slack for the server: events in (stored before the ack), profiles, replies out."""

    def __init__(
        self,
        pool: Pool,
        pipeline: Pipeline,
        metrics: Metrics,
        *,
        token: str,
        signing_secret: str,
        api_url: str,
        workspaces: dict[str, tuple[str, str | None]] | None = None,
    ) -> None:
        self._pool = pool
        self._pipeline = pipeline
        self._metrics = metrics
        # team id -> (its bot token, its brand's slug); other teams use ``token``.
        self._workspaces = workspaces or {}
        self.web = SlackWeb(
            token=token,
            api_url=api_url,
            tokens={team: bot_token for team, (bot_token, _) in self._workspaces.items()},
        )
        self.events = SlackEvents(self, self.web, signing_secret=signing_secret)
        self.interactions = SlackInteractions(self, signing_secret=signing_secret)
        self._inboxes: set[str] = set()
        self._state: dict[str, Any] = {"ok": True, "status": "connecting"}
        self._task: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[None]] = set()
        self._holding: GroupCommit[HeldEvent] = GroupCommit(
            pool, slack_events.hold_many, writers=HOLD_WRITERS
        )
        # Held and not yet read, as this node counts them (start: what Postgres holds).
        self._backlog = 0
        self._pace = DrainPace(DRAIN_BATCH, capacity=MAX_HELD)
        self._held = asyncio.Event()
        self._drainer: asyncio.Task[None] | None = None
        metrics.track_queue("slack-held", lambda: self._backlog)

    def state(self) -> dict[str, Any]:
        return dict(self._state)

    async def start(self) -> None:
        async with self._pool.acquire() as conn:
            self._backlog = await slack_events.held_count(conn)
        self._task = asyncio.create_task(self._connect(), name="slack")
        # Events a node left held are read at once: reading needs no Slack connection.
        self._held.set()
        self._drainer = asyncio.create_task(self._drain_forever(), name="slack-held")

    async def close(self) -> None:
        tasks = [t for t in [self._task, self._drainer, *self._background] if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._holding.close()
        await self.web.close()

    async def settled(self) -> None:
        """Wait until every event held so far has been read as a message (tests)."""
        while True:
            async with self._pool.acquire() as conn:
                if not await slack_events.held_count(conn):
                    return
            await asyncio.sleep(PAUSE)

    async def _connect(self) -> None:
        async def attempt() -> None:
            identity = await self.web.identify()
            await self._ensure_inbox(identity.team)
            self._state = {"ok": True, "status": "connected", "team": identity.team}

        await keep_trying("slack", attempt, self._retrying)

    def _retrying(self, error: str) -> None:
        self._state = {"ok": True, "status": "retrying", "error": error}

    # Where Slack posts events (the server dispatches it ahead of its middleware).
    events_path = EVENTS_PATH

    def routes(self) -> list[Route]:
        return self.events.routes() + self.interactions.routes()

    # -- incoming (the SlackBackend port) -------------------------------------------------------

    async def hold(self, event_id: str, body: bytes) -> None:
        if self._backlog >= MAX_HELD:
            self._metrics.refused.labels("slack").inc()
            raise Busy(RETRY_AFTER)
        await self._holding.add(HeldEvent(event_id, body))
        self._backlog += 1
        self._pace.arrived()
        self._held.set()

    async def _drain_forever(self) -> None:
        """Owned task: each time it is woken (an event held), and every few seconds anyway
        (``woken``), read what is held."""
        while True:
            await woken(self._held)
            await keep_trying("slack", self._drain, lambda error: None)

    async def _drain(self) -> None:
        """Every held event, oldest first, a batch at a time: locked, read, deleted, in one
        transaction (a failure leaves the batch held, and keep_trying reads it again)."""
        while True:
            batch = await self._pace.before_batch(lambda: self._backlog)
            while self._pipeline.saturated:  # noqa: ASYNC110 (a gauge, no event to await)
                await asyncio.sleep(PAUSE)
            started = time.monotonic()
            async with self._pool.acquire() as conn, conn.transaction():
                held = await slack_events.take_oldest_many(conn, batch)
                if not held:
                    return
                await self._read_batch(held)
                await slack_events.forget_many(conn, [h.event_id for h in held])
            self._pace.read(len(held), time.monotonic() - started)
            self._backlog = max(0, self._backlog - len(held))

    async def _read_batch(self, held: list[HeldEvent]) -> None:
        """The batch's messages: its threads side by side (at most DRAIN_THREADS at once),
        each thread's in the order they came."""
        threads: dict[tuple[str, str, str | None], list[dict[str, Any]]] = {}
        for event in held:
            body = orjson.loads(event.body)  # checked to be a customer's message when held
            incoming = to_incoming(body)
            if incoming is not None:
                key = (incoming.team, incoming.channel, incoming.thread)
                threads.setdefault(key, []).append(body)
        slots = asyncio.Semaphore(DRAIN_THREADS)

        async def thread(bodies: list[dict[str, Any]]) -> None:
            async with slots:
                for body in bodies:
                    await self.events.receive(body)

        await all_or_first_error([thread(bodies) for bodies in threads.values()])

    async def store(self, incoming: Incoming, attachments: tuple[Attachment, ...]) -> None:
        await self._ensure_inbox(incoming.team)
        stored = await self._pipeline.ingest(
            InboundMessage(
                channel="slack",
                inbox_address=incoming.team,
                external_id=external_id(incoming),
                sender=Sender(external_id=incoming.user),
                text=incoming.text,
                thread=incoming.thread,
                attachments=attachments,
                meta=incoming.meta,
            )
        )
        if not stored.duplicate:
            self._later(self._profile(incoming.team, incoming.user))

    async def rate(self, rating: Rating) -> None:
        async with self._pool.acquire() as conn:
            asked = await csat.asked_as(conn, "slack", f"{rating.channel}:{rating.message_ts}")
        if asked is not None and not asked["waiting"]:
            # Answered already (by a press, or by a number typed in reply), or no longer open
            # to an answer (a day later, or the customer wrote again): a press is not a
            # message, so nothing is stored. The question shows the answer it has (again:
            # should the first update have failed, this one mends it).
            if asked["rating"] is not None:
                self._later(self._show_answer(rating, asked["conversation_id"]))
            else:
                log.info("slack rating press on a closed survey", team=rating.team)
            return
        await self._ensure_inbox(rating.team)
        stored = await self._pipeline.ingest(
            InboundMessage(
                channel="slack",
                inbox_address=rating.team,
                external_id=rating_external_id(rating),
                sender=Sender(external_id=rating.user),
                text=str(rating.rating),
                thread=rating.thread,
                # Where the thanks goes (cursors.slack_place), as a typed reply's meta says.
                meta={
                    "channel": rating.channel,
                    "thread_ts": rating.thread_ts,
                    "team": rating.team,
                    "rated": rating.message_ts,
                },
            )
        )
        if not stored.duplicate:
            self._later(self._show_answer(rating, stored.message["conversation_id"]))
            self._later(self._profile(rating.team, rating.user))

    async def comment(self, comment: Comment) -> None:
        async with self._pool.acquire() as conn:
            asked = await csat.asked_as(conn, "slack", f"{comment.channel}:{comment.message_ts}")
        if asked is None:
            log.info("slack rating comment under no question we sent", team=comment.team)
            return
        await self._ensure_inbox(comment.team)
        kept = await self._pipeline.comment_rating(
            asked["conversation_id"],
            InboundMessage(
                channel="slack",
                inbox_address=comment.team,
                external_id=comment_external_id(comment),
                sender=Sender(external_id=comment.user),
                text=comment.text,
                thread=comment.thread,
                meta={
                    "channel": comment.channel,
                    "thread_ts": comment.thread_ts,
                    "team": comment.team,
                    "commented": comment.message_ts,
                },
            ),
        )
        if not kept:
            # Not rated, commented already, or too late: the question shows what it holds
            # (without the input once no comment can be taken).
            log.info("slack rating comment not kept", team=comment.team)
        self._later(self._show_answer(comment, asked["conversation_id"]))

    async def _show_answer(self, on: Rating | Comment, conversation_id: str) -> None:
        """The question shows the stored rating in place of its buttons, then the comment, or
        an input for one while the survey takes it (best effort: the answer is stored, and
        a press on buttons left showing changes nothing)."""
        async with self._pool.acquire() as conn:
            answer = await csat.csat_of(conn, conversation_id)
            language = await csat.language_of(conn, conversation_id)
        if answer is None or answer["rating"] is None:
            return
        text = on.text if isinstance(on, Rating) else on.question
        blocks = rated_blocks(
            on.blocks,
            text,
            answer["rating"],
            comment=answer["comment"],
            ask_comment=answer["comment"] is None and _takes_comment(answer),
            language=language,
        )
        try:
            await self.web.update_message(
                on.team, on.channel, on.message_ts, stars(answer["rating"]), blocks
            )
        except DeliveryError as exc:
            log.warning("slack rating not shown on the question", error=str(exc))

    def _later(self, work: Coroutine[Any, Any, None]) -> None:
        """Work after Slack is answered: owned, cancelled on close."""
        task = asyncio.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def admit(self) -> None:
        self._pipeline.admit("slack")

    def retried(self) -> None:
        self._metrics.webhook_retries.labels("slack").inc()

    async def _profile(self, team: str, user: str) -> None:
        """The writer's name and email from users.info, onto their contact (if not set)."""
        profile = await self.web.profile(team, user)
        if profile is None or (profile.name is None and profile.email is None):
            return
        async with self._pool.acquire() as conn:
            await store.fill_missing_profile(conn, "slack", user, profile.name, profile.email)

    async def _ensure_inbox(self, team: str) -> None:
        if team in self._inboxes:
            return
        brand = self._workspaces.get(team, ("", None))[1]
        async with self._pool.acquire() as conn:
            await store.ensure_inbox(conn, "slack", team, f"Slack {team}", brand)
        self._inboxes.add(team)

    # -- outgoing ------------------------------------------------------------------------------

    async def deliver(self, message_id: int) -> Sent | Suppressed:
        files: tuple[Attachment, ...] = ()
        async with self._pool.acquire() as conn:
            place = await cursors.slack_place(conn, message_id)
            if place is not None and place["files"]:
                files = await store.attachments_of(conn, message_id)
        if place is None:
            return Suppressed("the message no longer exists")
        rating = place["question"]
        team, channel, thread_ts = place["team"], place["channel"], place["thread_ts"]
        text = place["text"]
        if channel is None:
            raise DeliveryError("no Slack channel to answer in", permanent=True)
        # Two parts at most, each counted once sent: the text, then the files in one upload.
        parts: list[str] = (["text"] if text.strip() else []) + (["files"] if files else [])
        if not parts:
            return Suppressed("nothing to send: no text and no files")

        async def send(part: str) -> str:
            if part == "text":
                # The rating question carries its five buttons (and still says "reply with
                # a number", which works as well).
                blocks = question_blocks(text) if rating else None
                ts = await self.web.post_message(team, channel, text, thread_ts, blocks)
                return f"{channel}:{ts}"
            file_id = await self.web.upload_files(team, channel, thread_ts, files)
            return f"{channel}:file:{file_id}"

        first = await send_parts(self._pool, message_id, parts, send)
        return Sent(external_id=first, detail="sent" if len(parts) == 1 else "sent with files")
