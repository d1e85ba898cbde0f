"""The trainer review inbox (issue 19): the customer messages the bot may have got wrong, and
what agents and trainers said about them (migration 0031).

An item is found on read, never copied: a customer message whose stored interpretation
(``messages.nlu``) has a confidence under the bot's threshold, a fallback or unknown intent or
an out-of-scope verdict; the last customer message before a handoff; or a message an agent
flagged. Reads are scoped to brands (the caller decides which: docs/access.md, "The trainer
review inbox") and to a range of days, which the BRIN index on ``messages.created_at`` finds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from uuid import UUID

from server.store.views import Conn, iso

Band = Literal["low", "medium", "high"]
Status = Literal["open", "reviewed", "ignored", "all"]
Reason = Literal["low_confidence", "fallback", "handoff", "flagged"]
BANDS: tuple[Band, ...] = ("low", "medium", "high")
STATUSES: tuple[Status, ...] = ("open", "reviewed", "ignored", "all")
REASONS: tuple[Reason, ...] = ("low_confidence", "fallback", "handoff", "flagged")
# At or above this the bot was sure of itself ("high"); between the bot's threshold and this,
# "medium". 0.8 is where the embedded classifier's calibrated confidence is right on about
# nine examples in ten of the project's own cross-validation (nlu evaluate).
HIGH = 0.8
# Intents that say "not understood": Rasa's fallback, the engine's failure, the usual names
# of a project's out-of-scope intent (nlu/base.py's OUT_OF_SCOPE_INTENTS).
FALLBACK_INTENTS = ("nlu_fallback", "unknown", "out_of_scope", "out_of_domain", "oos")
# Around an item, this many messages before and after it are "the conversation around it";
# the whole conversation is read up to CONVERSATION_LIMIT messages.
AROUND = 3
CONVERSATION_LIMIT = 500


@dataclass(frozen=True, slots=True)
class ReviewQuery:
    """What the inbox lists. ``brands``: the brand ids the caller may review (None: every
    brand, an admin). Every other field narrows it; None is "any"."""

    brands: tuple[str, ...] | None
    start: datetime
    end: datetime
    threshold: float
    brand_id: str | None = None
    intent: str | None = None
    band: Band | None = None
    language: str | None = None
    channel: str | None = None
    status: Status = "open"
    reason: Reason | None = None
    before: int | None = None  # a message id: the next page starts under it
    limit: int = 50


@dataclass(frozen=True, slots=True)
class Ranked:
    intent: str
    confidence: float


@dataclass(frozen=True, slots=True)
class Span:
    """An entity over the message's text (``start``/``end`` index it)."""

    start: int
    end: int
    entity: str
    value: str


@dataclass(frozen=True, slots=True)
class Flag:
    agent: str
    intent: str | None
    note: str
    at: str


@dataclass(frozen=True, slots=True)
class Verdict:
    """A trainer's verdict: ``status`` confirmed, relabelled or ignored; ``intent`` theirs."""

    status: str
    intent: str | None
    entities: tuple[Span, ...]
    reviewer: str
    at: str


@dataclass(frozen=True, slots=True)
class Next:
    """What happened after the message: the next reply (the bot's or a person's), the
    handoff it led to, and where the conversation is now."""

    reply_author: str | None
    reply: str | None
    handoff_reason: str | None
    status: str


@dataclass(frozen=True, slots=True)
class ReviewItem:
    message_id: int
    conversation_id: str
    brand_id: str
    channel: str
    language: str | None
    text: str
    at: str
    intent: str
    confidence: float
    ranking: tuple[Ranked, ...]
    entities: tuple[Span, ...]
    scope_reasons: tuple[str, ...]
    reasons: tuple[str, ...]
    band: Band
    flags: tuple[Flag, ...]
    verdict: Verdict | None
    next: Next


@dataclass(frozen=True, slots=True)
class ReviewPage:
    items: tuple[ReviewItem, ...]
    # The message id to pass as ``before`` for the next page; None at the end.
    more: int | None


# $1 start, $2 end, $3 threshold, $4 fallback intents, $5 brands (NULL: every brand).
ITEMS = """
WITH handed AS (
  SELECT DISTINCT ON (a.conversation_id, last.id) last.id AS message_id, a.detail AS reason
    FROM activities a
    JOIN conversations c ON c.id = a.conversation_id
    JOIN LATERAL (SELECT m.id FROM messages m
                   WHERE m.conversation_id = a.conversation_id AND m.author_kind = 'customer'
                     AND m.created_at <= a.created_at
                   ORDER BY m.seq DESC LIMIT 1) last ON true
   WHERE a.kind = 'handed_off' AND a.created_at >= $1
     AND ($5::uuid[] IS NULL OR c.brand_id = ANY($5::uuid[])) {handed}
   ORDER BY a.conversation_id, last.id, a.id
), found AS (
  SELECT m.id, m.conversation_id, c.brand_id, m.channel, m.language, m.text, m.created_at,
         m.nlu, m.seq, c.status AS conversation_status, h.reason AS handoff_reason,
         coalesce(m.nlu->>'retrieval_intent', m.nlu->>'intent') AS intent,
         coalesce((m.nlu->>'confidence')::float8, 0) AS confidence,
         (m.nlu->>'intent' = ANY($4::text[])
          OR coalesce((m.nlu->'scope'->>'out_of_scope')::boolean, false)) AS fell_back,
         EXISTS (SELECT 1 FROM bot_flags f WHERE f.message_id = m.id) AS flagged
    FROM messages m
    JOIN conversations c ON c.id = m.conversation_id
    LEFT JOIN handed h ON h.message_id = m.id
   WHERE m.author_kind = 'customer' AND m.nlu IS NOT NULL
     AND m.created_at >= $1 AND m.created_at < $2
     AND ($5::uuid[] IS NULL OR c.brand_id = ANY($5::uuid[])) {only}
)
SELECT f.*, r.status AS r_status, r.intent AS r_intent, r.entities AS r_entities,
       r.reviewer AS r_reviewer, r.reviewed_at AS r_at,
       coalesce((SELECT json_agg(json_build_object(
                   'agent', coalesce(a.name, 'a former agent'), 'intent', g.intent,
                   'note', g.note, 'at', g.created_at) ORDER BY g.id)
                   FROM bot_flags g LEFT JOIN agents a ON a.id = g.agent_id
                  WHERE g.message_id = f.id), '[]') AS flags,
       nx.author_kind AS next_author, nx.text AS next_text
  FROM found f
  LEFT JOIN bot_reviews r ON r.message_id = f.id
  LEFT JOIN LATERAL (SELECT n.author_kind, left(n.text, 500) AS text FROM messages n
                      WHERE n.conversation_id = f.conversation_id AND n.seq > f.seq
                        AND n.author_kind <> 'customer'
                      ORDER BY n.seq LIMIT 1) nx ON true
 WHERE {keep}
"""
# What makes a message an item.
KEEP = "(f.confidence < $3 OR f.fell_back OR f.handoff_reason IS NOT NULL OR f.flagged)"
# A range wide enough for any message (one message is looked up by its id).
EVER = (datetime(1970, 1, 1, tzinfo=UTC), datetime(9999, 1, 1, tzinfo=UTC))


def _band(confidence: float, threshold: float) -> Band:
    return "low" if confidence < threshold else "high" if confidence >= HIGH else "medium"


def _where(query: ReviewQuery, args: list[Any]) -> str:
    """The query's narrowing clauses over ITEMS's columns, appending their arguments."""

    def arg(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    clauses: list[str] = []
    if query.brand_id is not None:
        clauses.append(f"f.brand_id = {arg(UUID(query.brand_id))}")
    if query.intent is not None:
        clauses.append(f"(f.intent = {arg(query.intent)} OR r.intent = ${len(args)})")
    if query.band == "low":
        clauses.append("f.confidence < $3")
    elif query.band == "medium":
        clauses.append(f"f.confidence >= $3 AND f.confidence < {arg(HIGH)}")
    elif query.band == "high":
        clauses.append(f"f.confidence >= {arg(HIGH)}")
    if query.language is not None:
        clauses.append(f"f.language = {arg(query.language)}")
    if query.channel is not None:
        clauses.append(f"f.channel = {arg(query.channel)}")
    if query.status == "open":
        clauses.append("r.status IS NULL")
    elif query.status == "reviewed":
        clauses.append("r.status IN ('confirmed', 'relabelled')")
    elif query.status == "ignored":
        clauses.append("r.status = 'ignored'")
    if query.reason == "low_confidence":
        clauses.append("f.confidence < $3 AND NOT f.fell_back")
    elif query.reason == "fallback":
        clauses.append("f.fell_back")
    elif query.reason == "handoff":
        clauses.append("f.handoff_reason IS NOT NULL")
    elif query.reason == "flagged":
        clauses.append("f.flagged")
    if query.before is not None:
        clauses.append(f"f.id < {arg(query.before)}")
    return "".join(f" AND {c}" for c in clauses)


def _brands(brands: Sequence[str] | None) -> list[UUID] | None:
    return None if brands is None else [UUID(b) for b in brands]


async def items(conn: Conn, query: ReviewQuery) -> ReviewPage:
    """One page of the inbox, newest first."""
    args: list[Any] = [
        query.start,
        query.end,
        query.threshold,
        list(FALLBACK_INTENTS),
        _brands(query.brands),
    ]
    where = _where(query, args)
    args.append(query.limit + 1)
    sql = ITEMS.format(handed="", only="", keep=KEEP)
    rows = await conn.fetch(f"{sql}{where} ORDER BY f.id DESC LIMIT ${len(args)}", *args)
    found = tuple(_item(r, query.threshold) for r in rows[: query.limit])
    more = found[-1].message_id if len(rows) > query.limit else None
    return ReviewPage(found, more)


async def item(
    conn: Conn, message_id: int, brands: Sequence[str] | None, threshold: float
) -> ReviewItem | None:
    """One customer message as an inbox item, whether or not it is one now (a trainer may
    look again at a message they reviewed); None unless it is an interpreted customer message
    of one of ``brands``."""
    row = await conn.fetchrow(
        ITEMS.format(
            # One message: only its conversation's handoffs are read.
            handed="AND a.conversation_id = (SELECT conversation_id FROM messages WHERE id = $6)",
            only="AND m.id = $6",
            keep="$3::float8 IS NOT NULL",
        ),
        *EVER,
        threshold,
        list(FALLBACK_INTENTS),
        _brands(brands),
        message_id,
    )
    return None if row is None else _item(row, threshold)


def _spans(raw: Any) -> tuple[Span, ...]:
    return tuple(
        Span(int(e["start"]), int(e["end"]), str(e["entity"]), str(e.get("value", "")))
        for e in raw or ()
    )


def _item(row: Any, threshold: float) -> ReviewItem:
    nlu: dict[str, Any] = row["nlu"] or {}
    confidence = float(row["confidence"])
    reasons: list[str] = []
    if row["fell_back"]:
        reasons.append("fallback")
    elif confidence < threshold:
        reasons.append("low_confidence")
    if row["handoff_reason"] is not None:
        reasons.append("handoff")
    if row["flagged"]:
        reasons.append("flagged")
    flags = row["flags"]
    scope = nlu.get("scope") or {}
    verdict = None
    if row["r_status"] is not None:
        verdict = Verdict(
            row["r_status"],
            row["r_intent"],
            _spans(row["r_entities"]),
            row["r_reviewer"],
            iso(row["r_at"]) or "",
        )
    return ReviewItem(
        message_id=int(row["id"]),
        conversation_id=str(row["conversation_id"]),
        brand_id=str(row["brand_id"]),
        channel=row["channel"],
        language=row["language"],
        text=row["text"],
        at=iso(row["created_at"]) or "",
        intent=str(row["intent"] or "unknown"),
        confidence=round(confidence, 4),
        ranking=tuple(
            Ranked(str(r["name"]), round(float(r["confidence"]), 4))
            for r in nlu.get("ranking") or ()
        ),
        entities=_spans(nlu.get("entities")),
        scope_reasons=tuple(str(r) for r in scope.get("reasons") or ()),
        reasons=tuple(reasons),
        band=_band(confidence, threshold),
        flags=tuple(
            Flag(str(f["agent"]), f["intent"], str(f["note"]), str(f["at"]))
            for f in (flags if isinstance(flags, list) else _json(flags))
        ),
        verdict=verdict,
        next=Next(
            row["next_author"],
            row["next_text"],
            row["handoff_reason"],
            row["conversation_status"],
        ),
    )


def _json(raw: str) -> list[dict[str, Any]]:
    import orjson

    found: list[dict[str, Any]] = orjson.loads(raw)
    return found


@dataclass(frozen=True, slots=True)
class Line:
    """A message of the conversation around an item, as the inbox shows it."""

    id: int
    seq: int
    author: str
    text: str
    at: str
    intent: str | None
    confidence: float | None


async def conversation(conn: Conn, conversation_id: str) -> tuple[Line, ...]:
    """The conversation's messages in order (its first CONVERSATION_LIMIT)."""
    rows = await conn.fetch(
        "SELECT id, seq, author_kind, text, created_at,"
        " coalesce(nlu->>'retrieval_intent', nlu->>'intent') AS intent,"
        " (nlu->>'confidence')::float8 AS confidence"
        " FROM messages WHERE conversation_id = $1 ORDER BY seq LIMIT $2",
        UUID(conversation_id),
        CONVERSATION_LIMIT,
    )
    return tuple(
        Line(
            int(r["id"]),
            int(r["seq"]),
            r["author_kind"],
            r["text"],
            iso(r["created_at"]) or "",
            r["intent"] if r["author_kind"] == "customer" else None,
            r["confidence"] if r["author_kind"] == "customer" else None,
        )
        for r in rows
    )


async def flag(
    conn: Conn, message_id: int, agent_id: str, intent: str | None, note: str
) -> tuple[bool, str | None]:
    """An agent's flag on a customer message the bot interpreted; one per agent (a second
    replaces the first's intent and note). (created, its conversation id); (False, None) when
    the message is not an interpreted customer message."""
    row = await conn.fetchrow(
        """WITH target AS (
               SELECT id, conversation_id FROM messages
                WHERE id = $1 AND author_kind = 'customer' AND nlu IS NOT NULL),
           saved AS (
               INSERT INTO bot_flags (message_id, agent_id, intent, note)
               SELECT id, $2, $3, $4 FROM target
               ON CONFLICT (message_id, agent_id)
               DO UPDATE SET intent = excluded.intent, note = excluded.note
               RETURNING (xmax = 0) AS created)
           SELECT (SELECT created FROM saved) AS created, conversation_id FROM target""",
        message_id,
        UUID(agent_id),
        intent,
        note,
    )
    if row is None:
        return False, None
    return bool(row["created"]), str(row["conversation_id"])


@dataclass(frozen=True, slots=True)
class Target:
    """A message a trainer labels: its text, the intent it was given, its brand."""

    message_id: int
    text: str
    predicted: str
    brand_id: str


async def targets(
    conn: Conn, message_ids: Sequence[int], brands: Sequence[str] | None
) -> list[Target]:
    """The interpreted customer messages among ``message_ids`` in ``brands``, in the order
    asked (the others are left out: the caller says which were not found)."""
    rows = await conn.fetch(
        """SELECT m.id, m.text, coalesce(m.nlu->>'retrieval_intent', m.nlu->>'intent') AS intent,
                  c.brand_id
             FROM messages m JOIN conversations c ON c.id = m.conversation_id
            WHERE m.id = ANY($1::bigint[]) AND m.author_kind = 'customer'
              AND m.nlu IS NOT NULL AND ($2::uuid[] IS NULL OR c.brand_id = ANY($2::uuid[]))""",
        list(message_ids),
        _brands(brands),
    )
    by_id = {
        int(r["id"]): Target(int(r["id"]), r["text"], str(r["intent"]), str(r["brand_id"]))
        for r in rows
    }
    return [by_id[i] for i in message_ids if i in by_id]


async def record_verdicts(
    conn: Conn,
    found: Sequence[Target],
    intent: str | None,
    entities: Sequence[Span],
    reviewer_id: str | None,
    reviewer: str,
    written_to: str | None,
) -> None:
    """The trainer's verdict on each message (a later verdict replaces an earlier one):
    ``intent`` None is "not for the bot"; the same intent as predicted, confirmed; another,
    relabelled."""
    await conn.executemany(
        """INSERT INTO bot_reviews (message_id, status, predicted, intent, entities,
                                    reviewer_id, reviewer, written_to)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (message_id) DO UPDATE
              SET status = excluded.status, intent = excluded.intent,
                  entities = excluded.entities, reviewer_id = excluded.reviewer_id,
                  reviewer = excluded.reviewer, reviewed_at = now(),
                  written_to = excluded.written_to""",
        [
            (
                t.message_id,
                "ignored"
                if intent is None
                else "confirmed"
                if intent == t.predicted
                else "relabelled",
                t.predicted,
                intent,
                [
                    {"start": s.start, "end": s.end, "entity": s.entity, "value": s.value}
                    for s in entities
                ],
                UUID(reviewer_id) if reviewer_id else None,
                reviewer,
                written_to if intent is not None else None,
            )
            for t in found
        ],
    )


@dataclass(frozen=True, slots=True)
class Labelled:
    """A reviewed message and the intent the trainer gave it (the reviewed set)."""

    message_id: int
    text: str
    intent: str


async def reviewed_set(conn: Conn) -> list[Labelled]:
    """Every message a trainer gave an intent, for measuring a model on them."""
    rows = await conn.fetch(
        "SELECT r.message_id, m.text, r.intent FROM bot_reviews r"
        " JOIN messages m ON m.id = r.message_id WHERE r.intent IS NOT NULL ORDER BY 1"
    )
    return [Labelled(int(r["message_id"]), r["text"], r["intent"]) for r in rows]
