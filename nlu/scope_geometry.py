"""The training examples in an embedding space, grouped by intent: how close a message lies to
each intent's nearest examples, and how spread out each intent's own examples are (the
out-of-scope detector's closeness evidence, ``nlu.scope``).

A parse compares its message with the examples kept here, so what it costs grows with their
number: at most ``ROW_BUDGET`` of them are kept per space. A project under the budget keeps
every example (the same numbers as before there was one); a larger one keeps every example of
its small intents and, of each large intent, as many as the budget leaves, chosen to cover
it (the medoids of a spherical k-means over the intent's examples). Its spreads are measured
against what is kept, like a new message's closeness, and the detector is fitted on folds
capped the same way, so its weights read the same evidence they are fitted on."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

# Closeness to an intent is the mean similarity to its nearest few examples, not the nearest
# one alone: one stray example should not make its neighbourhood in scope.
NEIGHBOURS = 3
# An intent whose examples are near copies of each other has almost no spread; this floor keeps
# one unusual paraphrase of it from looking out of scope.
SPREAD_FLOOR = 0.05
ROWS_PER_BLOCK = 512
# The examples a parse compares its message with, per embedding space. Without a budget a
# parse of 2,410 examples (150 intents) spent 0.18 ms in the static space and 0.24 ms in the
# encoder's, and one of 15,665 3.1 and 4.3 ms (CPU); with it, 0.06 and 0.09-0.13 ms. Every
# project shipped or tested (the shipped one: 1,014 examples) and RasaHQ's public NLU data as
# one project (1,205) are under it, unchanged. Where it bites, the detector holds: that public
# project at a budget of 768 (66 intents cut to six examples) kept its in-scope accuracy
# (0.7544 -> 0.7552) and out-of-scope recall (0.420 -> 0.429), the shipped one at 768 (23 an
# intent) 0.7124 -> 0.7124 and 0.479 -> 0.476 (nlu evaluate --folds 3, 2026-12-07). An intent
# keeps at least NEIGHBOURS + 1 (its spread needs NEIGHBOURS others).
ROW_BUDGET = 1536
KMEANS_ROUNDS = 8


@dataclass(frozen=True, slots=True)
class _Geometry:
    """The kept training examples' embeddings (``ROW_BUDGET``) grouped by class, with each
    class's own spread: the median and deviation of its examples' closeness to their nearest
    kept neighbours.

    The embeddings are kept in float32: a parse compares its message with every kept
    example, once in the static vectors' space and once in the encoder's (1,014 x 256 and
    x 512 on the shipped project), in the middle of a parse whose caches hold the encoder's
    weights, so most of the product's time is reading the matrix from memory (about 0.19 ms
    of an out-of-scope parse in float64, profiled 2026-12-06); float32 halves what is read.
    Similarities move by about 1e-7."""

    embeddings: NDArray[np.float32]
    # Per class, its kept example rows, padded with the row past the last example (a similarity
    # of -inf: ``closeness`` appends it), so one gather gives every class's similarities.
    slots: NDArray[np.intp]
    counts: NDArray[np.float64]  # per class, how many of its nearest examples make closeness
    centre: NDArray[np.float64]
    spread: NDArray[np.float64]
    # Every class has NEIGHBOURS examples or more: a class's nearest are never the padding,
    # and ``closeness_one`` skips the steps that stand in for it (the same numbers).
    full: bool = False

    @classmethod
    def of(
        cls, embeddings: NDArray[np.float64], labels: NDArray[np.intp], classes: int
    ) -> _Geometry:
        every = np.ascontiguousarray(embeddings, dtype=np.float32)
        members = [np.flatnonzero(labels == c) for c in range(classes)]
        cap = _cap([len(rows) for rows in members])
        kept = [rows[_representatives(every[rows], cap)] for rows in members]
        # The kept rows in their original order (all of them under the budget: the same
        # matrix as before there was one), and where each landed.
        order = np.sort(np.concatenate([np.zeros(0, dtype=np.intp), *kept]))
        stored = np.ascontiguousarray(every[order])
        width = max(NEIGHBOURS, *(len(rows) for rows in kept))
        slots = np.full((classes, width), len(stored), dtype=np.intp)
        counts = np.array([min(NEIGHBOURS, len(rows)) for rows in kept], dtype=np.float64)
        centre, spread = np.zeros(classes), np.full(classes, SPREAD_FLOOR)
        for c, (rows, chosen) in enumerate(zip(members, kept, strict=True)):
            slots[c, : len(chosen)] = np.searchsorted(order, chosen)
            if len(rows) < 2:
                continue
            # Each example's closeness to the kept ones but itself (all of them when the
            # intent is whole: each example's to the others).
            similar = every[rows] @ every[chosen].T
            similar[rows[:, np.newaxis] == chosen[np.newaxis, :]] = -np.inf
            k = min(NEIGHBOURS, len(rows) - 1, len(chosen) - 1)
            own = np.partition(similar, len(chosen) - k, axis=1)[:, -k:].mean(axis=1)
            centre[c] = float(np.median(own))
            spread[c] = max(float(np.std(own)), SPREAD_FLOOR)
        return cls(stored, slots, counts, centre, spread, bool((counts == NEIGHBOURS).all()))

    def closeness(
        self, vectors: NDArray[np.float64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Per message (rows) and class (columns): the mean similarity to the class's
        nearest examples, and to its single nearest; -1 for a class without examples."""
        close = np.empty((len(vectors), len(self.slots)))
        near = np.empty_like(close)
        width, examples = self.slots.shape[1], len(self.embeddings)
        empty = self.counts == 0
        for start in range(0, len(vectors), ROWS_PER_BLOCK):
            block = vectors[start : start + ROWS_PER_BLOCK].astype(np.float32)
            similar = np.full((len(block), examples + 1), -np.inf, dtype=np.float32)
            similar[:, :examples] = block @ self.embeddings.T
            # A class's few nearest, the padding (-inf) among them when it has fewer.
            top = np.partition(similar[:, self.slots], width - NEIGHBOURS, axis=2)
            top = top[:, :, -NEIGHBOURS:]
            rows = slice(start, start + len(block))
            # Similarities are at least -1: a class without examples comes out -1.
            near[rows] = np.maximum(top.max(axis=2), -1.0)
            total = np.where(top > -np.inf, top, 0.0).sum(axis=2)
            close[rows] = np.where(empty, -1.0, total / np.maximum(self.counts, 1.0))
        return close, near

    def closeness_one(
        self, vector: NDArray[np.float64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """``closeness`` of one message, as 1-D arrays: the same numbers, with a parse's
        dozen fewer array operations (a matrix-vector product into a buffer that already
        holds the padding, no blocks)."""
        similar = np.empty(len(self.embeddings) + 1, dtype=np.float32)
        np.matmul(self.embeddings, vector.astype(np.float32), out=similar[:-1])
        similar[-1] = -np.inf
        # Partitioned in place (np.partition's own work, without its copy and wrapper).
        gathered = similar[self.slots]
        gathered.partition(self.slots.shape[1] - NEIGHBOURS, axis=1)
        top = gathered[:, -NEIGHBOURS:]
        near: NDArray[np.float64] = np.maximum(top.max(axis=1), -1.0).astype(np.float64)
        if self.full:
            # No padding among any class's nearest, no class without examples: the sum of
            # the float32 similarities and the division below, as ``closeness`` does them.
            full: NDArray[np.float64] = top.sum(axis=1) / self.counts
            return full, near
        total = np.where(top > -np.inf, top, 0.0).sum(axis=1)
        close: NDArray[np.float64] = np.where(
            self.counts == 0, -1.0, total / np.maximum(self.counts, 1.0)
        )
        return close, near


def _cap(sizes: list[int]) -> int:
    """The most examples an intent keeps: the largest cap whose kept total fits ROW_BUDGET
    (every intent's size when they all fit), and never under NEIGHBOURS + 1."""
    largest = max(sizes, default=0)
    if sum(sizes) <= ROW_BUDGET:
        return largest
    low, high = NEIGHBOURS + 1, largest  # sum(min(n, low)) may exceed the budget: the floor
    while low < high:
        middle = (low + high + 1) // 2
        if sum(min(n, middle) for n in sizes) <= ROW_BUDGET:
            low = middle
        else:
            high = middle - 1
    return low


def _representatives(vectors: NDArray[np.float32], count: int) -> NDArray[np.intp]:
    """Which of an intent's examples (rows, unit length) to keep, ``count`` at most: all when
    they fit; else the medoids of a spherical k-means, seeded by farthest-point sampling from
    the example nearest the mean (deterministic), so dense regions keep examples in
    proportion and outlying ones keep one each."""
    size = len(vectors)
    if size <= count:
        return np.arange(size)
    first = int(np.argmax(vectors @ vectors.mean(axis=0)))
    seeds, nearest = [first], vectors @ vectors[first]
    for _ in range(count - 1):
        far = int(np.argmin(nearest))
        seeds.append(far)
        nearest = np.maximum(nearest, vectors @ vectors[far])
    centres = vectors[seeds].astype(np.float64)
    for _ in range(KMEANS_ROUNDS):
        nearest_centre = np.argmax(vectors @ centres.T, axis=1)
        summed = np.zeros_like(centres)
        np.add.at(summed, nearest_centre, vectors)
        norms = np.linalg.norm(summed, axis=1, keepdims=True)
        centres = np.where(norms > 0, summed / np.maximum(norms, 1e-12), centres)
    similar = vectors @ centres.T
    assigned = np.argmax(similar, axis=1)
    free = np.ones(size, dtype=bool)
    for centre in range(count):
        candidates = np.flatnonzero((assigned == centre) & free)
        if len(candidates) == 0:  # an empty cluster: the free example nearest its centre
            candidates = np.flatnonzero(free)
        chosen = candidates[int(np.argmax(similar[candidates, centre]))]
        free[chosen] = False
    return np.flatnonzero(~free)
