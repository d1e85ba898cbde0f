"""nlu.once: a load that runs once per process, whichever thread asks first."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from nlu.once import Once, State


def _until(condition: Callable[[], bool], within: float = 10.0) -> None:
    """Wait until ``condition`` holds (recorded state); fail after ``within`` seconds."""
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.001)


class Blocking:
    """A load that counts its calls and finishes only when released."""

    def __init__(self, failures: int = 0) -> None:
        self.calls = 0
        self.entered = threading.Event()
        self.release = threading.Event()
        self.failures = failures  # the first this many calls raise

    def __call__(self) -> object:
        self.calls += 1
        self.entered.set()
        assert self.release.wait(10)
        if self.calls <= self.failures:
            raise RuntimeError("no model here")
        return object()


def state(once: Once[object]) -> State:
    """The state now (a call, so mypy does not carry an earlier comparison over)."""
    return once.state


def _in_thread(once: Once[object], results: list[object]) -> threading.Thread:
    def get() -> None:
        try:
            results.append(once.get())
        except RuntimeError as exc:
            results.append(exc)

    thread = threading.Thread(target=get)
    thread.start()
    return thread


def test_a_caller_during_the_load_waits_for_it_instead_of_loading_again() -> None:
    load = Blocking()
    once = Once(load)
    assert state(once) == "cold"
    results: list[object] = []
    first = _in_thread(once, results)
    assert load.entered.wait(10)
    assert state(once) == "loading"
    second = _in_thread(once, results)
    _until(lambda: once.waiting == 1)
    load.release.set()
    first.join(10)
    second.join(10)
    assert load.calls == 1
    assert len(results) == 2
    assert results[0] is results[1]
    assert state(once) == "warm"
    assert once.warm
    assert once.waiting == 0


def test_a_warm_value_is_returned_without_loading() -> None:
    calls: list[int] = []

    def load() -> str:
        calls.append(1)
        return "vectors"

    once = Once(load)
    assert once.get() == "vectors"
    assert once.get() == "vectors"
    assert calls == [1]


def test_a_failed_load_says_so_and_the_next_caller_tries_again() -> None:
    load = Blocking(failures=1)
    once = Once(load)
    load.release.set()
    with pytest.raises(RuntimeError, match="no model here"):
        once.get()
    assert state(once) == "failed"
    assert not once.warm
    value = once.get()
    assert load.calls == 2
    assert once.get() is value
    assert state(once) == "warm"


def test_callers_waiting_on_a_load_that_fails_try_it_again_themselves() -> None:
    load = Blocking(failures=1)
    once = Once(load)
    results: list[object] = []
    first = _in_thread(once, results)
    assert load.entered.wait(10)
    second = _in_thread(once, results)
    _until(lambda: once.waiting == 1)
    load.release.set()
    first.join(10)
    second.join(10)
    assert isinstance(results[0], RuntimeError)
    assert load.calls == 2
    assert results[1] is once.get()
    assert once.warm
