"""What the handoff summary reads: a conversation's messages with their stored
interpretations, and why and when the bot handed it over (``nlu.summary.Transcript``)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from nlu.base import Entity
from nlu.summary import Transcript, Turn
from server.errors import NotFound
from server.store.views import Conn

# A summary reads the start of a conversation (where the request is) and its latest messages
# (where it stands): at most HEAD + TAIL messages, however long the thread.
HEAD = 150
TAIL = 100


async def transcript(conn: Conn, conversation_id: UUID) -> Transcript:
    """The conversation as the summary reads it; NotFound when there is none."""
    conversation = await conn.fetchrow(
        "SELECT handoff_reason, handoff_at, language, last_seq FROM conversations WHERE id = $1",
        conversation_id,
    )
    if conversation is None:
        raise NotFound(f"no conversation {conversation_id}")
    rows = await conn.fetch(
        """SELECT id, seq, author_kind, text, created_at, nlu, sentiment, meta->>'action' AS action
             FROM messages
            WHERE conversation_id = $1 AND (seq <= $2 OR seq > $3)
            ORDER BY seq""",
        conversation_id,
        HEAD,
        conversation["last_seq"] - TAIL,
    )
    return Transcript(
        turns=tuple(
            Turn(
                message_id=r["id"],
                seq=r["seq"],
                author=r["author_kind"],
                text=r["text"],
                at=r["created_at"],
                intent=(r["nlu"] or {}).get("intent"),
                confidence=_number((r["nlu"] or {}).get("confidence")),
                entities=_entities(r["nlu"]),
                sentiment=r["sentiment"],
                action=r["action"],
            )
            for r in rows
        ),
        language=conversation["language"],
        handoff_reason=conversation["handoff_reason"],
        handoff_at=conversation["handoff_at"],
    )


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def _entities(nlu: dict[str, Any] | None) -> tuple[Entity, ...]:
    """The stored interpretation's entities (nlu.base.Interpretation.to_json's shape); an
    entry missing a field (written by an older version) is skipped, not fatal."""
    found: list[Entity] = []
    for e in (nlu or {}).get("entities") or ():
        try:
            found.append(
                Entity(
                    str(e["entity"]),
                    str(e["value"]),
                    int(e["start"]),
                    int(e["end"]),
                    str(e.get("text") or e["value"]),
                    str(e.get("extractor") or ""),
                )
            )
        except (KeyError, TypeError, ValueError):
            continue
    return tuple(found)
