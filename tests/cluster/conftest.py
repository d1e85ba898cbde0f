"""The fake Rasa the cluster's nodes talk to (it can be made down, slow or failing)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bench.chaos.fake_rasa import FakeRasa


@pytest.fixture(scope="module")
def rasa() -> Iterator[FakeRasa]:
    fake = FakeRasa()
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()
