"""The trainer review inbox, the agents' "bot got this wrong" flag and the bot's health over
time (issue 19): the console's ``BotReviewPort`` over the store and the embedded engine.

Who sees what (docs/access.md, "The trainer review inbox"): the bot is one for every brand,
but its mistakes are customers' messages, and those belong to a brand. A designer reviews the
messages of the brands where they hold the designer role, an admin every brand's; the labels
they give change the one bot all brands share. Agents flag messages of conversations they may
see (the backend checks the placement before calling ``flag``).

A confirmed or relabelled message becomes a training example in the project's files at once;
"retrain" then trains on the files as they are and measures the reviewed set with the model
that served before and the one after (the effect of the training).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, cast
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

from nlu import project_writer as writer
from nlu.base import Interpreter
from nlu.embedded import EmbeddedInterpreter, Model
from nlu.markup import Example
from nlu.markup import Span as Marked
from nlu.project import ProjectError, load_project
from server.services.bot_studio import check
from server.services.embedder import TextEmbedder, WordLlamaEmbedder
from server.services.project_lock import project_lock
from server.store import Pool, analytics, audit
from server.store import bot_review as store
from server.store import bot_versions as versions
from server.store.bot_review import Span
from server.store.conversations import placement_of_message
from web_console import access
from web_console.bot_review_port import Annotation, InboxFilter
from web_console.bot_studio_port import EditRefused
from web_console.port import ActionRefused, Agent, BadValue, Forbidden, Unknown

# Near-duplicates: two messages whose WordLlama vectors are at least this close (cosine) are
# one group. 0.9 joined rephrasings of one question ("where is my order" / "where's my
# order??") and kept apart different asks sharing words on the demo's messages.
SIMILAR = 0.9
# The inbox's default range: the last 30 days.
DEFAULT_DAYS = 30
MAX_DAYS = 400
# A retrain measures at most this many reviewed messages (the latest): about 1 ms each.
MEASURED = 5000
# An intent name as Rasa takes it (a retrieval intent's sub-intent after "/").
INTENT_NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}(/[A-Za-z0-9_-]{1,80})?$")
# A longer message (a mail) is no training example.
LONGEST_EXAMPLE = 500
# One bulk action labels at most this many messages.
BULK = 500


@dataclass(frozen=True, slots=True)
class BrandRef:
    id: str
    slug: str
    name: str


@dataclass(frozen=True, slots=True)
class InboxItem:
    """An inbox item and its near-duplicate group (items of one page with one ``group``)."""

    item: store.ReviewItem
    group: int


@dataclass(frozen=True, slots=True)
class InboxPage:
    items: tuple[InboxItem, ...]
    more: int | None
    threshold: float
    intents: tuple[str, ...]  # the project's intents, to pick from


@dataclass(frozen=True, slots=True)
class ItemDetail:
    item: store.ReviewItem
    brand: str
    conversation: tuple[store.Line, ...]


@dataclass(frozen=True, slots=True)
class LabelOutcome:
    labelled: int
    intent: str | None
    written_to: str | None
    added: int
    new_intent: bool
    # The project version this made (the studio's versions), None when nothing changed.
    version: int | None


@dataclass(frozen=True, slots=True)
class Training:
    at: str
    agent: str
    fingerprint_before: str
    fingerprint_after: str
    version: str | None
    reviewed: int
    right_before: int
    right_after: int
    accuracy_before: float | None
    accuracy_after: float | None
    error: str | None


@dataclass(frozen=True, slots=True)
class FlagOutcome:
    message_id: int
    created: bool


@dataclass(frozen=True, slots=True)
class WeekHealth:
    week: str
    conversations: int
    containment_rate: float | None
    fallback_rate: float | None
    handoff_rate: float | None
    reviewed: int
    confirmed: int
    accuracy: float | None


@dataclass(frozen=True, slots=True)
class IntentHealth:
    intent: str
    conversations: int
    containment_rate: float | None
    fallback_rate: float | None
    reviewed: int
    confirmed: int
    accuracy: float | None


@dataclass(frozen=True, slots=True)
class ReasonCount:
    reason: str
    conversations: int


@dataclass(frozen=True, slots=True)
class Health:
    brand: BrandRef
    start: str
    end: str
    weeks: tuple[WeekHealth, ...]
    intents: tuple[IntentHealth, ...]
    handoff_reasons: tuple[ReasonCount, ...]
    trainings: tuple[Training, ...]


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


class BotReview:
    """The review inbox over the store; examples go into the engine's project files."""

    def __init__(
        self,
        pool: Pool,
        interpreter: Interpreter | None,
        threshold: float = 0.45,
        embedder: TextEmbedder | None = None,
        project: Path | None = None,
    ) -> None:
        self._pool = pool
        self._interpreter = interpreter
        # The project's folder when no embedded engine serves here (the CLI): examples are
        # written there, and a running server's engine notices the files and retrains.
        self._project = project
        # The bot's confidence threshold (SWITCHBOARD_BOT_CONFIDENCE_THRESHOLD): under it a
        # message is "low confidence", as routing/decision.py judges it.
        self.threshold = threshold
        self._embedder = embedder or WordLlamaEmbedder()
        # The model that served when the first example since the last retrain was written:
        # "before" for the next retrain (the engine's watcher may swap the model in first).
        self._baseline: Model | None = None

    # -- who may review what ----------------------------------------------------------

    @staticmethod
    def _brands_of(agent: Agent) -> tuple[str, ...] | None:
        if not access.may_design(agent):
            raise Forbidden("bot designers and admins only")
        return None if agent.admin else tuple(sorted(access.brands_where(agent, {access.DESIGNER})))

    async def brands(self, agent: Agent) -> dict[str, list[BrandRef]]:
        mine = self._brands_of(agent)
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT id::text, slug, name FROM brands"
                " WHERE $1::uuid[] IS NULL OR id = ANY($1::uuid[]) ORDER BY name",
                None if mine is None else [UUID(b) for b in mine],
            )
        return {"brands": [BrandRef(r["id"], r["slug"], r["name"]) for r in rows]}

    async def _brand(self, agent: Agent, slug: str) -> BrandRef:
        mine = self._brands_of(agent)
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(
                "SELECT id::text, slug, name FROM brands WHERE slug = $1", slug
            )
        if row is None or (mine is not None and row["id"] not in mine):
            raise Unknown(f"no brand {slug!r}")
        return BrandRef(row["id"], row["slug"], row["name"])

    # -- the inbox ------------------------------------------------------------------------

    def _project_intents(self) -> tuple[str, ...]:
        model = self._model()
        if model is None:
            return ()
        project = model.project
        full = {e.intent for e in project.examples} | set(project.intents)
        return tuple(sorted(full))

    def _model(self) -> Model | None:
        engine = self._interpreter
        return engine.model if isinstance(engine, EmbeddedInterpreter) else None

    async def items(self, agent: Agent, wanted: InboxFilter) -> InboxPage:
        brands = self._brands_of(agent)
        brand_id = (await self._brand(agent, wanted.brand)).id if wanted.brand else None
        start, end = _range(wanted.start, wanted.end)
        query = store.ReviewQuery(
            brands=brands,
            start=start,
            end=end,
            threshold=self.threshold,
            brand_id=brand_id,
            intent=wanted.intent,
            band=cast(store.Band | None, wanted.band),
            language=wanted.language,
            channel=wanted.channel,
            status=cast(store.Status, wanted.status),
            reason=cast(store.Reason | None, wanted.reason),
            before=wanted.before,
            limit=wanted.limit,
        )
        async with self._pool.acquire() as conn:
            page = await store.items(conn, query)
        groups = await asyncio.to_thread(self._groups, [i.text for i in page.items])
        return InboxPage(
            tuple(InboxItem(i, g) for i, g in zip(page.items, groups, strict=True)),
            page.more,
            self.threshold,
            self._project_intents(),
        )

    def _groups(self, texts: list[str]) -> list[int]:
        """Each text's group: the index of the first earlier text at least SIMILAR to it
        (greedy, in page order), else its own index."""
        if not texts:
            return []
        vectors = np.asarray(self._embedder.embed(texts), dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        unit = vectors / np.where(norms == 0, 1, norms)
        close = unit @ unit.T
        groups = list(range(len(texts)))
        for n in range(len(texts)):
            for k in range(n):
                if groups[k] == k and close[n, k] >= SIMILAR:
                    groups[n] = k
                    break
        return groups

    async def item(self, agent: Agent, message_id: int) -> ItemDetail:
        brands = self._brands_of(agent)
        async with self._pool.acquire() as conn:
            found = await store.item(conn, message_id, brands, self.threshold)
            if found is None:
                raise Unknown(f"no message {message_id}")
            lines = await store.conversation(conn, found.conversation_id)
            slug = await conn.fetchval(
                "SELECT slug FROM brands WHERE id = $1", UUID(found.brand_id)
            )
        return ItemDetail(found, str(slug), lines)

    # -- the trainer's verdicts --------------------------------------------------------------

    async def label(
        self,
        agent: Agent,
        message_ids: Sequence[int],
        intent: str | None,
        entities: Sequence[Annotation],
    ) -> LabelOutcome:
        brands = self._brands_of(agent)
        if not message_ids or len(message_ids) > BULK:
            raise BadValue(f"messages: give 1 to {BULK} message ids")
        if intent is not None and not INTENT_NAME.match(intent):
            raise BadValue(f"intent: {intent!r} is not an intent name (letters, digits, _ and -)")
        if entities and (intent is None or len(message_ids) != 1):
            raise BadValue("entities: annotate one message at a time, with its intent")
        ids = list(dict.fromkeys(message_ids))
        async with self._pool.acquire() as conn:
            found = await store.targets(conn, ids, brands)
        missing = [i for i in ids if i not in {t.message_id for t in found}]
        if missing:
            raise Unknown(f"no message {missing[0]}")
        spans = tuple(Span(a.start, a.end, a.entity, a.value) for a in entities)
        for s in spans:
            if not (0 <= s.start < s.end <= len(found[0].text)):
                raise BadValue(f"entities: {s.start}-{s.end} is outside the message's text")
        examples = [_example(t.text, intent, spans) for t in found] if intent else []
        async with project_lock(self._root()):
            change = await self._change(intent, examples) if intent is not None else None
            if change is not None and change.files:
                # The studio's check: the project must still load with the examples added.
                try:
                    await asyncio.to_thread(check, self._root(), change)
                except EditRefused as refused:
                    where = f"{refused.path}:{refused.line}: " if refused.path else ""
                    raise ActionRefused(f"{where}{refused.reason}") from None
            written = _written(change)
            version_id = None
            async with self._pool.acquire() as conn, conn.transaction():
                if change is not None and change.files:
                    # A version of the project like a studio save, with the trainer as its
                    # author (the Bot area's versions list, diff and roll back show it).
                    version_id = await versions.insert(
                        conn,
                        project=str(self._root()),
                        author_id=UUID(agent.id),
                        author_name=agent.name or agent.email,
                        message=f"Review inbox: {len(found)} message(s) as {intent}",
                        summary=change.summary,
                        files=[
                            versions.VersionFile(f.path, f.before, f.after) for f in change.files
                        ],
                    )
                await store.record_verdicts(
                    conn,
                    found,
                    intent,
                    spans,
                    agent.id,
                    agent.email,
                    written[0] if written else None,
                )
                await audit.record(
                    conn,
                    action="bot.review_labelled" if intent is not None else "bot.review_ignored",
                    actor_id=agent.id,
                    actor_label=agent.email,
                    target_kind="message",
                    target_id=",".join(str(t.message_id) for t in found)[:500],
                    detail={
                        "intent": intent,
                        "messages": len(found),
                        "brands": sorted({t.brand_id for t in found}),
                        "written_to": written[0] if written else None,
                        "version": version_id,
                    },
                )
                # Written inside the transaction: a failed write leaves no verdict or version.
                if change is not None and change.files:
                    await asyncio.to_thread(_write_files, self._root(), change)
        return LabelOutcome(
            len(found),
            intent,
            written[0] if written else None,
            written[1] if written else 0,
            written[2] if written else False,
            version_id,
        )

    def _root(self) -> Path:
        engine = self._interpreter
        if isinstance(engine, EmbeddedInterpreter):
            # The folder the engine watches, not its model's: a model from the cache keeps
            # the path of the copy it was first trained from.
            return engine.root.resolve()
        if self._project is not None:
            return self._project.resolve()
        raise ActionRefused(
            "the review writes examples into the embedded engine's project; this server's"
            " engine is another (train Rasa from the files)"
        )

    async def _change(self, intent: str, examples: list[Example]) -> writer.Change:
        """The examples the project lacks, added through the studio's project writer (one
        added line each; a new intent is named in the domain too), not yet written; a text
        already an example of another intent is refused (the classifier cannot learn one
        text as two intents)."""
        root = self._root()
        model = self._model()
        try:
            project = model.project if model else await asyncio.to_thread(load_project, root)
        except ProjectError as error:
            raise ActionRefused(f"the project cannot be read: {error}") from None
        known = {" ".join(e.text.lower().split()): e.intent for e in project.examples}
        for example in examples:
            other = known.get(" ".join(example.text.lower().split()))
            if other is not None and other != intent:
                raise ActionRefused(f"{example.text!r} is already an example of {other!r}")
        if self._baseline is None and model is not None:
            self._baseline = model
        try:
            return await asyncio.to_thread(writer.add_examples, root, intent, examples, create=True)
        except writer.BadEdit as error:
            raise BadValue(f"intent: {error.reason}") from None
        except writer.EditError as error:
            where = f" ({error.path}:{error.line})" if error.path else ""
            raise ActionRefused(f"{error.reason}{where}") from None

    async def retrain(self, agent: Agent) -> Training:
        self._brands_of(agent)
        engine = self._interpreter
        if not isinstance(engine, EmbeddedInterpreter):
            raise ActionRefused("retraining from the console needs the embedded engine")
        before = self._baseline or engine.model
        started = time.perf_counter()
        # One reload at a time (the engine's lock): when its watcher noticed the new
        # examples first, this waits for that training and finds nothing left to do.
        await engine.reload()
        after = engine.model
        error = engine.state().get("error")
        async with self._pool.acquire() as conn:
            reviewed = await store.reviewed_set(conn)
        reviewed = reviewed[-MEASURED:]
        right_before, right_after = await asyncio.to_thread(
            _measure, before, after, [(r.text, r.intent) for r in reviewed]
        )
        self._baseline = None
        async with self._pool.acquire() as conn, conn.transaction():
            # The project's version that trained (the studio's last save), if any.
            version = await conn.fetchval(
                "SELECT max(id)::text FROM bot_versions WHERE project = $1",
                str(engine.root.resolve()),
            )
            row = await conn.fetchrow(
                """INSERT INTO bot_review_trainings (agent_id, agent, fingerprint_before,
                       fingerprint_after, reviewed, right_before, right_after, error, version)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING at""",
                UUID(agent.id),
                agent.email,
                before.project.fingerprint[:12],
                after.project.fingerprint[:12],
                len(reviewed),
                right_before,
                right_after,
                error,
                version,
            )
            await audit.record(
                conn,
                action="bot.retrained",
                actor_id=agent.id,
                actor_label=agent.email,
                target_kind="bot",
                target_id=after.project.fingerprint[:12],
                detail={
                    "before": before.project.fingerprint[:12],
                    "reviewed": len(reviewed),
                    "right_before": right_before,
                    "right_after": right_after,
                    "seconds": round(time.perf_counter() - started, 1),
                    "error": error,
                },
            )
        assert row is not None
        return _training(
            {
                "at": row["at"],
                "agent": agent.email,
                "fingerprint_before": before.project.fingerprint[:12],
                "fingerprint_after": after.project.fingerprint[:12],
                "version": version,
                "reviewed": len(reviewed),
                "right_before": right_before,
                "right_after": right_after,
                "error": error,
            }
        )

    # -- agents' flags ----------------------------------------------------------------------

    async def flag(
        self, agent: Agent, message_id: int, intent: str | None, note: str
    ) -> FlagOutcome:
        async with self._pool.acquire() as conn:
            placed = await placement_of_message(conn, message_id)
        # A message of a conversation the agent may not see does not exist for them.
        if placed is None or not access.may_see(agent, placed[1]):
            raise Unknown(f"no message {message_id}")
        if intent is not None and not INTENT_NAME.match(intent):
            raise BadValue(f"intent: {intent!r} is not an intent name (letters, digits, _ and -)")
        async with self._pool.acquire() as conn, conn.transaction():
            created, conversation_id = await store.flag(conn, message_id, agent.id, intent, note)
            if conversation_id is None:
                raise ActionRefused(
                    f"message {message_id} is not a customer's message the bot interpreted"
                )
            brand = await conn.fetchval(
                "SELECT brand_id::text FROM conversations WHERE id = $1", UUID(conversation_id)
            )
            await audit.record(
                conn,
                action="bot.flagged",
                actor_id=agent.id,
                actor_label=agent.email,
                brand_id=brand,
                target_kind="conversation",
                target_id=conversation_id,
                detail={"message_id": message_id, "intent": intent},
            )
        return FlagOutcome(message_id, created)

    # -- health over time -------------------------------------------------------------------

    async def health(
        self, agent: Agent, brand: str, start: date | None, end: date | None, tz: str
    ) -> Health:
        found = await self._brand(agent, brand)
        _sane(start, end)
        try:
            zone = ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise BadValue(f"tz: {tz!r} is not a time zone") from None
        async with self._pool.acquire() as conn:
            # The reports read the weeks in the zone: one Python knows but Postgres does not
            # would fail the query.
            known = await conn.fetchval(
                "SELECT $1 = 'UTC' OR EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = $1)",
                tz,
            )
        if not known:
            raise BadValue(f"tz: {tz!r} is not a time zone this server's database knows")
        last = end or datetime.now(zone).date()
        first = start or last - timedelta(weeks=12)
        if first > last or (last - first).days > MAX_DAYS:
            raise BadValue(f"from, to: a range of 0 to {MAX_DAYS} days, from before to")
        begin = datetime.combine(first, datetime.min.time(), zone)
        stop = datetime.combine(last + timedelta(days=1), datetime.min.time(), zone)
        scope = analytics.Scope(UUID(found.id), begin, stop, tz, datetime.now(UTC))
        async with self._pool.acquire() as conn:
            points = await analytics.series(conn, scope, "week")
            by_intent = await analytics.breakdown(conn, scope, "intent")
            reasons = await analytics.handoff_reasons(conn, scope)
            accuracy = await conn.fetch(
                """SELECT date_trunc('week', m.created_at AT TIME ZONE $4) AS week,
                          r.predicted, count(*) AS reviewed,
                          count(*) FILTER (WHERE r.status = 'confirmed') AS confirmed
                     FROM bot_reviews r JOIN messages m ON m.id = r.message_id
                     JOIN conversations c ON c.id = m.conversation_id
                    WHERE c.brand_id = $1 AND m.created_at >= $2 AND m.created_at < $3
                      AND r.status <> 'ignored'
                    GROUP BY 1, 2""",
                UUID(found.id),
                begin,
                stop,
                tz,
            )
            trainings = await conn.fetch(
                "SELECT * FROM bot_review_trainings WHERE at >= $1 AND at < $2 ORDER BY at",
                begin,
                stop,
            )
        weeks: dict[datetime, list[int]] = {}
        intents: dict[str, list[int]] = {}
        for r in accuracy:
            for key, into in ((r["week"], weeks), (r["predicted"], intents)):
                counts = into.setdefault(key, [0, 0])
                counts[0] += int(r["reviewed"])
                counts[1] += int(r["confirmed"])
        figures = {p.at: p.figures for p in points}
        week_rows = []
        for at in sorted(set(figures) | set(weeks)):
            f = figures.get(at)
            reviewed, confirmed = weeks.get(at, [0, 0])
            week_rows.append(
                WeekHealth(
                    at.date().isoformat(),
                    f.conversations if f else 0,
                    f.containment_rate if f else None,
                    f.fallback_rate if f else None,
                    f.handoff_rate if f else None,
                    reviewed,
                    confirmed,
                    _ratio(confirmed, reviewed),
                )
            )
        by_key = {g.key: g.figures for g in by_intent}
        intent_rows = []
        for key in sorted(
            set(by_key) | set(intents), key=lambda k: (-_volume(by_key, intents, k), k)
        ):
            f = by_key.get(key)
            reviewed, confirmed = intents.get(key, [0, 0])
            intent_rows.append(
                IntentHealth(
                    key,
                    f.conversations if f else 0,
                    f.containment_rate if f else None,
                    f.fallback_rate if f else None,
                    reviewed,
                    confirmed,
                    _ratio(confirmed, reviewed),
                )
            )
        return Health(
            found,
            first.isoformat(),
            last.isoformat(),
            tuple(week_rows),
            tuple(intent_rows),
            tuple(ReasonCount(c.value, c.count) for c in reasons),
            tuple(_training(dict(t)) for t in trainings),
        )


def _volume(by_key: dict[str, analytics.Figures], intents: dict[str, list[int]], key: str) -> int:
    f = by_key.get(key)
    return (f.conversations if f else 0) + intents.get(key, [0, 0])[0]


def _training(row: dict[str, Any]) -> Training:
    at = row["at"]
    return Training(
        at.isoformat() if isinstance(at, datetime) else str(at),
        row["agent"],
        row["fingerprint_before"],
        row["fingerprint_after"],
        row.get("version"),
        row["reviewed"],
        row["right_before"],
        row["right_after"],
        _ratio(row["right_before"], row["reviewed"]),
        _ratio(row["right_after"], row["reviewed"]),
        row.get("error"),
    )


def _written(change: writer.Change | None) -> tuple[str, int, bool] | None:
    """Where the examples went (the data file), how many lines, whether the domain changed
    (a new intent)."""
    if change is None:
        return None
    if not change.files:
        return ("", 0, False)
    data = [f for f in change.files if f.path.startswith("data/")] or list(change.files)
    new_intent = any(not f.path.startswith("data/") for f in change.files)
    return data[0].path, change.lines_changed[0], new_intent


def _write_files(root: Path, change: writer.Change) -> None:
    """Write the change; on a failure put back what was written."""
    try:
        writer.write_change(root, change)
    except OSError:
        undo = writer.Change(
            "undo", tuple(writer.FileChange(f.path, f.after, f.before) for f in change.files)
        )
        writer.write_change(root, undo)
        raise ActionRefused(f"the project's files cannot be written in {root}") from None


def _example(text: str, intent: str, spans: Sequence[Span]) -> Example:
    """The message as a training example: one line (its spaces and line breaks as one space
    when no entity is marked in it; with entities, the text as it is)."""
    line = text if spans else " ".join(text.split())
    if len(line) > LONGEST_EXAMPLE or "\n" in line or "\r" in line or not line.strip():
        raise BadValue(
            f"messages: {text[:40]!r}… is not one line of at most {LONGEST_EXAMPLE} characters"
        )
    return Example(
        line,
        intent,
        tuple(
            Marked(
                s.entity, line[s.start : s.end], s.value or line[s.start : s.end], s.start, s.end
            )
            for s in spans
        ),
    )


def _measure(before: Model, after: Model, labelled: list[tuple[str, str]]) -> tuple[int, int]:
    """How many of the reviewed messages each model gives the trainer's intent."""
    right = [0, 0]
    for text, intent in labelled:
        for n, model in enumerate((before, after)):
            if model.interpret(text).full_intent == intent:
                right[n] += 1
    return right[0], right[1]


def _sane(*days: date | None) -> None:
    for d in days:
        if d is not None and not 1970 <= d.year <= 9000:
            raise BadValue("from, to: dates from 1970 to 9000")


def _range(start: date | None, end: date | None) -> tuple[datetime, datetime]:
    """The inbox's days, UTC: the last DEFAULT_DAYS by default, at most MAX_DAYS."""
    _sane(start, end)
    last = end or datetime.now(UTC).date()
    first = start or last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last or (last - first).days > MAX_DAYS:
        raise BadValue(f"from, to: a range of 0 to {MAX_DAYS} days, from before to")
    return (
        datetime.combine(first, datetime.min.time(), UTC),
        datetime.combine(last + timedelta(days=1), datetime.min.time(), UTC),
    )
