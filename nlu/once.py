"""A model loaded once per process, whichever thread asks first, with its state on show.

``functools.cache`` runs a loader again for every thread that calls it while the first call
is still loading: a node that warms its models in the background right after it starts
listening (server/services/warm_up.py), and a first customer message that needs the same
model meanwhile, would load it twice, each holding the GIL for the import. ``Once`` makes the
second caller wait for the first's load instead, and says what it is doing (``state``,
``waiting``), so /metrics can tell what is warm and tests can wait on it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, Literal, TypeVar, cast

T = TypeVar("T")

State = Literal["cold", "loading", "warm", "failed"]


class Once(Generic[T]):
    """``get()`` calls ``load`` the first time and returns its value ever after. A caller that
    comes while another thread loads waits for that load; a load that raised is tried again by
    the next caller (the state says "failed" until then)."""

    def __init__(self, load: Callable[[], T]) -> None:
        self._load = load
        self._done = threading.Condition()
        self._value: T | None = None
        self.state: State = "cold"
        # Callers waiting for the load under way.
        self.waiting = 0

    @property
    def warm(self) -> bool:
        return self.state == "warm"

    def get(self) -> T:
        if self.state == "warm":  # set only after _value, so no lock needed to read it
            return cast(T, self._value)
        with self._done:
            while self.state == "loading":
                self.waiting += 1
                try:
                    self._done.wait()
                finally:
                    self.waiting -= 1
            if self.warm:
                return cast(T, self._value)
            self.state = "loading"
        try:
            value = self._load()
        except BaseException:
            with self._done:
                self.state = "failed"
                self._done.notify_all()
            raise
        with self._done:
            self._value = value
            self.state = "warm"
            self._done.notify_all()
        return value
