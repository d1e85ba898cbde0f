"""The models a node loads in the background once it listens (server/services/warm_up.py)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

from nlu import embedding
from nlu.once import Once
from server.metrics import Metrics
from server.services.warm_up import WarmUp
from tests.harness import until


class Blocking:
    """A load that counts its calls and finishes only when released."""

    def __init__(self, fail: bool = False) -> None:
        self.calls = 0
        self.entered = threading.Event()
        self.release = threading.Event()
        self.fail = fail

    def __call__(self) -> str:
        self.calls += 1
        self.entered.set()
        assert self.release.wait(10)
        if self.fail:
            raise RuntimeError("model missing")
        return "model"


async def _until(condition: Callable[[], bool]) -> None:
    async def holds() -> bool:
        return condition()

    await until(holds)


def _warm_on_metrics(metrics: Metrics) -> dict[str, float]:
    return {
        sample.labels["part"]: sample.value
        for family in metrics.registry.collect()
        if family.name == "switchboard_warm"
        for sample in family.samples
    }


async def test_every_part_loads_at_once_in_the_background_and_metrics_say_when_it_is_warm() -> None:
    loads = {"vectors": Blocking(), "detector": Blocking()}
    metrics = Metrics()
    warm_up = WarmUp({name: Once(load) for name, load in loads.items()}, metrics)
    assert warm_up.state() == {"vectors": "cold", "detector": "cold"}
    warm_up.start()  # returns at once: nothing has loaded yet
    # Both loads are under way together (neither has been released).
    assert await asyncio.to_thread(loads["vectors"].entered.wait, 10)
    assert await asyncio.to_thread(loads["detector"].entered.wait, 10)
    assert warm_up.state() == {"vectors": "loading", "detector": "loading"}
    assert _warm_on_metrics(metrics) == {"vectors": 0.0, "detector": 0.0}
    loads["vectors"].release.set()
    await _until(lambda: warm_up.parts["vectors"].warm)
    assert warm_up.state() == {"vectors": "warm", "detector": "loading"}
    assert _warm_on_metrics(metrics) == {"vectors": 1.0, "detector": 0.0}
    loads["detector"].release.set()
    await warm_up.settled()
    assert warm_up.state() == {"vectors": "warm", "detector": "warm"}
    assert _warm_on_metrics(metrics) == {"vectors": 1.0, "detector": 1.0}
    assert [load.calls for load in loads.values()] == [1, 1]
    await warm_up.close()


async def test_a_request_before_the_warm_up_ends_waits_for_the_same_load() -> None:
    load = Blocking()
    part = Once(load)
    warm_up = WarmUp({"vectors": part})
    warm_up.start()
    await asyncio.to_thread(load.entered.wait, 10)
    # The first customer message's embedding, in its own thread, needs the same model.
    request = asyncio.create_task(asyncio.to_thread(part.get))
    await _until(lambda: part.waiting == 1)
    assert not request.done()
    load.release.set()
    assert await request == "model"
    await warm_up.settled()
    assert load.calls == 1
    assert warm_up.state() == {"vectors": "warm"}


async def test_a_part_that_fails_is_shown_failed_and_the_next_request_tries_it_again() -> None:
    broken, fine = Blocking(fail=True), Blocking()
    broken.release.set()
    fine.release.set()
    metrics = Metrics()
    warm_up = WarmUp({"broken": Once(broken), "fine": Once(fine)}, metrics)
    warm_up.start()
    await warm_up.settled()
    assert warm_up.state() == {"broken": "failed", "fine": "warm"}
    assert _warm_on_metrics(metrics) == {"broken": 0.0, "fine": 1.0}
    broken.fail = False
    assert warm_up.parts["broken"].get() == "model"  # the request's own try
    assert broken.calls == 2


async def test_a_part_already_loaded_is_not_loaded_again() -> None:
    load = Blocking()
    load.release.set()
    part = Once(load)
    part.get()
    warm_up = WarmUp({"vectors": part})
    warm_up.start()
    await warm_up.settled()
    assert load.calls == 1


def test_the_message_vectors_are_the_part_token_vectors_reads() -> None:
    """What the warm-up loads is what the embedder and the NLU engine use, not a copy."""
    assert embedding.token_vectors() is embedding.VECTORS.get()
    assert embedding.VECTORS.warm
