"""The nodes' own view of a storm: each node's smoothed event-loop lateness (one of the
overload guard's measures, server/pipeline/pressure.py) and the messages it refused as busy,
read from its /metrics about twice a second by a thread, so a storm's figures say how long
each node stood past the guard's lag limit and how many messages it turned away meanwhile.
A refusal has any of the guard's reasons (Pipeline.saturated): the loop late, too many
messages waiting for the database, or the routing queue full. In the 12:26 UTC run the
loops were past the limit in under 3 % of the samples of either storm while about 130
messages a second were refused in both, and read just after, each node's routing queue
stood at its bound (2,000; loops 23-40 ms late): the traffic's own refusals, not the
storm's."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import httpx

LAG = re.compile(r"^switchboard_event_loop_lag_seconds (\S+)$", re.M)
REFUSED = re.compile(r"^switchboard_refused_total\{[^}]*\} (\S+)$", re.M)
EVERY = 0.5
TIMEOUT = 5.0


@dataclass(frozen=True)
class Sample:
    """One node's reading at ``at`` (monotonic seconds): its smoothed lag and the messages it
    had refused since it started."""

    at: float
    node: str
    lag: float
    refused: float


def read(text: str) -> tuple[float, float]:
    """The lag and the refused total from a /metrics page (0 for what it lacks)."""
    lag = LAG.search(text)
    return (float(lag.group(1)) if lag else 0.0), sum(float(v) for v in REFUSED.findall(text))


@dataclass
class Window:
    """What the samples of ``[began, ended]`` show, over every node."""

    samples: int = 0
    over: int = 0  # samples past the limit
    # Polls a node did not answer within TIMEOUT: the busiest moments, which the samples
    # miss (a lag read then would be past the limit).
    unanswered: int = 0
    highest: float = 0.0
    refused: float = 0.0

    def line(self, limit: float) -> str:
        if not self.samples:
            return "no loop-lag samples"
        return (
            f"nodes' loop lag past {limit * 1000:.0f} ms in {self.over} of {self.samples}"
            f" samples (highest {self.highest:.2f} s; {self.unanswered} polls unanswered"
            f" within {TIMEOUT:g} s), {self.refused:,.0f} messages refused"
        )


@dataclass
class LagWatch:
    """Polls ``nodes`` (name, base URL) from ``start()`` to ``stop()``."""

    nodes: Sequence[tuple[str, str]]
    samples: list[Sample] = field(default_factory=list)
    # When each node left a poll unanswered (monotonic seconds).
    unanswered: list[tuple[float, str]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._poll, daemon=True, name="lag-watch")
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(15)

    def _poll(self) -> None:
        with httpx.Client(timeout=TIMEOUT) as http:
            while not self._stop.is_set():
                for name, url in self.nodes:
                    # A node that is restarting, or too busy to answer in time, is counted.
                    try:
                        lag, refused = read(http.get(f"{url}/metrics").text)
                    except httpx.HTTPError:
                        self.unanswered.append((time.monotonic(), name))
                    else:
                        self.samples.append(Sample(time.monotonic(), name, lag, refused))
                self._stop.wait(EVERY)

    def window(self, began: float, ended: float, limit: float) -> Window:
        """The samples taken within ``[began, ended]``; refusals as each node's rise over
        the window (its last reading in it less its last before it)."""
        found = Window()
        found.unanswered = sum(1 for at, _ in self.unanswered if began <= at <= ended)
        for name, _ in self.nodes:
            mine = [s for s in self.samples if s.node == name]
            inside = [s for s in mine if began <= s.at <= ended]
            if not inside:
                continue
            before = [s for s in mine if s.at < began]
            start = before[-1].refused if before else inside[0].refused
            found.refused += max(0.0, inside[-1].refused - start)
            found.samples += len(inside)
            found.over += sum(1 for s in inside if s.lag > limit)
            found.highest = max(found.highest, max(s.lag for s in inside))
        return found
