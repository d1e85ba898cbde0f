"""Content gaps: the questions customers ask that no article answers well, grouped by
meaning, so an editor knows what to write next (the Knowledge area's "Content gaps").

The questions are the customers' messages the bot handed over for (an article did not help,
none came close, no intent covered it) or where an article was judged not helpful; a
question stays only while no published article comes close to it (the same per-language
threshold the bot answers at, routing/knowledge.py). They are grouped by the cosine
similarity of their message embeddings (server/store/kb_stats.py reads them): a greedy,
single pass that puts each question in the first group whose centre is close enough, or
starts a group.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

import numpy as np
from numpy.typing import NDArray

from routing.knowledge import KbPolicy
from server.store import Pool, kb_stats
from server.store.kb_stats import Question

# A question joins a group when its cosine similarity to the group's centre is at least
# this. WordLlama (the message embeddings' model) on paraphrases of one question ("Do you
# sell gift cards?" / "Can I buy a gift card for my sister?" / "gift vouchers available?")
# scored 0.43 to 0.84 pairwise, and unrelated shop questions under 0.25; a centre sits
# closer to its members than they do to each other, so 0.45 joins paraphrases and keeps
# other topics apart.
JOIN = 0.45
# The latest questions read: a bound on the work per request (clustering is quadratic in the
# number of groups at worst), and old gaps are likely written up or forgotten.
QUESTIONS = 500
EXAMPLES = 3


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    conversation_id: UUID
    at: datetime


@dataclass(frozen=True, slots=True)
class Gap:
    """A group of unanswered questions: how many, in which language, a few examples (the
    most central first: the question an article should answer), and why they were asked."""

    count: int
    language: str | None
    question: str
    examples: list[Example]
    reasons: dict[str, int]
    latest: datetime


@dataclass(slots=True)
class _Group:
    members: list[Question] = field(default_factory=list)
    total: NDArray[np.float32] | None = None
    # The normalised mean, kept as members join: every question is compared with every centre.
    unit: NDArray[np.float32] | None = None

    def centre(self) -> NDArray[np.float32]:
        assert self.unit is not None
        return self.unit

    def add(self, question: Question) -> None:
        self.members.append(question)
        self.total = question.vector.copy() if self.total is None else self.total + question.vector
        self.unit = _unit(self.total)


def unanswered(
    questions: Sequence[Question], floors: Mapping[str, float], default: float
) -> list[Question]:
    """The questions whose nearest published article is under their language's threshold."""
    return [
        q for q in questions if q.best is None or q.best < floors.get(q.language or "", default)
    ]


def cluster(questions: Sequence[Question], join: float = JOIN) -> list[Gap]:
    """Groups of questions in the same language and close in meaning, largest first (then
    the most recent)."""
    groups: dict[str | None, list[_Group]] = {}
    for q in questions:
        vector = _unit(q.vector)
        q = _with_vector(q, vector)
        candidates = groups.setdefault(q.language, [])
        best, best_sim = None, join
        for group in candidates:
            sim = float(group.centre() @ vector)
            if sim >= best_sim:
                best, best_sim = group, sim
        if best is None:
            best = _Group()
            candidates.append(best)
        best.add(q)
    gaps = [_gap(g) for lang_groups in groups.values() for g in lang_groups]
    return sorted(gaps, key=lambda g: (-g.count, -g.latest.timestamp()))


def _unit(vector: NDArray[np.float32]) -> NDArray[np.float32]:
    norm = float(np.linalg.norm(vector))
    return (vector / norm).astype(np.float32) if norm else vector


def _with_vector(q: Question, vector: NDArray[np.float32]) -> Question:
    return Question(
        q.message_id, q.conversation_id, q.text, q.language, q.reason, q.at, vector, q.best
    )


def _gap(group: _Group) -> Gap:
    centre = group.centre()
    by_closeness = sorted(group.members, key=lambda q: -float(centre @ q.vector))
    examples: list[Example] = []
    seen: set[str] = set()
    # The most central question first, then the latest others, each text once.
    for q in [by_closeness[0], *sorted(group.members, key=lambda q: q.at, reverse=True)]:
        key = " ".join(q.text.split()).casefold()
        if key in seen:
            continue
        seen.add(key)
        examples.append(Example(q.text, q.conversation_id, q.at))
        if len(examples) == EXAMPLES:
            break
    reasons: dict[str, int] = {}
    for q in group.members:
        reasons[q.reason] = reasons.get(q.reason, 0) + 1
    return Gap(
        count=len(group.members),
        language=group.members[0].language,
        question=by_closeness[0].text,
        examples=examples,
        reasons=reasons,
        latest=max(q.at for q in group.members),
    )


class ContentGaps:
    """The content gaps of a brand, read on demand (nothing is stored: a gap closes as soon
    as an article that answers it is published)."""

    def __init__(self, pool: Pool, model: str, policy: KbPolicy | None = None) -> None:
        self._pool = pool
        self._model = model
        self._policy = policy or KbPolicy()

    async def of_brand(self, brand_id: UUID, language: str | None) -> list[Gap]:
        async with self._pool.acquire() as conn:
            found = await kb_stats.unanswered(conn, brand_id, language, self._model, QUESTIONS)
        open_questions = unanswered(
            found, self._policy.min_similarity, self._policy.default_similarity
        )
        # CPU work, off the loop.
        return await asyncio.to_thread(cluster, open_questions)
