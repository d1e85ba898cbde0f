"""The training examples a parse compares its message with: every one under ROW_BUDGET, a
covering subset of each large intent over it, so a parse's cost stops growing with them."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from nlu import scope_geometry
from nlu.scope_geometry import NEIGHBOURS, _cap, _Geometry, _representatives


def _unit(rng: np.random.Generator, rows: int, columns: int = 16) -> NDArray[np.float64]:
    found = rng.standard_normal((rows, columns))
    found /= np.linalg.norm(found, axis=1, keepdims=True)
    return found


def _brute(
    message: NDArray[np.float64], examples: NDArray[np.float64], labels: NDArray[np.intp], c: int
) -> float:
    own = np.sort(examples[labels == c] @ message)
    return float(own[-NEIGHBOURS:].mean())


def test_the_cap_fills_the_budget_small_intents_whole() -> None:
    assert _cap([10, 20, 30]) == 30  # under the budget: nothing capped
    budget = scope_geometry.ROW_BUDGET
    sizes = [2, 50, budget, budget]
    cap = _cap(sizes)
    assert sum(min(n, cap) for n in sizes) <= budget < sum(min(n, cap + 1) for n in sizes)
    assert _cap([budget] * (budget // 2)) == NEIGHBOURS + 1  # the floor, past the budget


def test_under_the_budget_every_example_is_kept_in_order() -> None:
    rng = np.random.default_rng(0)
    examples = _unit(rng, 60)
    labels = np.repeat(np.arange(4), 15)
    rng.shuffle(labels)
    geometry = _Geometry.of(examples, labels, 4)
    assert np.array_equal(geometry.embeddings, examples.astype(np.float32))
    message = _unit(rng, 1)[0]
    close, _near = geometry.closeness_one(message)
    for c in range(4):
        assert close[c] == pytest.approx(_brute(message, examples, labels, c), abs=1e-6)


def test_over_the_budget_each_large_intent_keeps_a_covering_subset(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Over the budget the kept rows are at most the budget, are real examples of their
    intent, a small intent keeps all of its own, and closeness is measured against them;
    the choice is the same each time (a retrained model parses as the last one did)."""
    monkeypatch.setattr(scope_geometry, "ROW_BUDGET", 40)
    rng = np.random.default_rng(1)
    examples = _unit(rng, 203)
    labels = np.r_[np.repeat(0, 100), np.repeat(1, 100), np.repeat(2, 3)]
    geometry = _Geometry.of(examples, labels, 3)
    assert len(geometry.embeddings) <= 40
    again = _Geometry.of(examples, labels, 3)
    assert np.array_equal(geometry.embeddings, again.embeddings)
    assert np.array_equal(geometry.slots, again.slots)
    padding = len(geometry.embeddings)
    kept = [geometry.slots[c][geometry.slots[c] < padding] for c in range(3)]
    assert len(kept[2]) == 3
    assert len(kept[0]) == len(kept[1]) >= NEIGHBOURS + 1
    for c, rows in enumerate(kept):
        own = examples[labels == c].astype(np.float32)
        for row in geometry.embeddings[rows]:
            assert (own == row).all(axis=1).any()  # one of the intent's own examples
    message = _unit(rng, 1)[0]
    close, near = geometry.closeness_one(message)
    for c, rows in enumerate(kept):
        similar = np.sort(geometry.embeddings[rows] @ message.astype(np.float32))
        assert close[c] == pytest.approx(float(similar[-NEIGHBOURS:].mean()), abs=1e-6)
        assert near[c] == pytest.approx(float(similar[-1]), abs=1e-6)
    assert (geometry.spread >= scope_geometry.SPREAD_FLOOR).all()


def test_representatives_cover_every_cluster_of_an_intent() -> None:
    """An intent phrased three ways keeps examples of each way, not just of the commonest."""
    rng = np.random.default_rng(2)
    centres = _unit(rng, 3, 32)
    sizes = [80, 15, 5]
    examples = np.vstack(
        [c + 0.05 * rng.standard_normal((n, 32)) for c, n in zip(centres, sizes, strict=True)]
    )
    examples /= np.linalg.norm(examples, axis=1, keepdims=True)
    chosen = _representatives(examples.astype(np.float32), 10)
    assert len(set(chosen.tolist())) == 10
    cluster = np.repeat(np.arange(3), sizes)[chosen]
    assert set(cluster.tolist()) == {0, 1, 2}
    assert (cluster == 0).sum() > (cluster == 2).sum()  # dense ways keep more
