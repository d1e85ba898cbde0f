"""The nodes' own view of a storm: each node's smoothed event-loop lateness (one of the
overload guard's measures, server/pipeline/pressure.py) and the messages it refused as busy,
read from its /metrics about twice a second by a thread, so a storm's figures say how long
each node stood past the guard's lag limit and how many messages it turned away meanwhile.
A refusal has any of the guard's reasons (Pipeline.saturated): the loop late, too many
messages waiting for the database, or the routing queue full. In the 12:26 UTC run the
loops were past the limit in under 3 % of the samples of either storm while about 130
messages a second were refused in both, and read just after, each node's routing queue
stood at its bound (2,000; loops 23-40 ms late): the traffic's own refusals, not the
storm's. So each sample keeps the routing queue's depth too, and how long the node's /readyz
took: the proxy's check, asked where the proxy asks it.

The polls go to each node's health port (server/http/health.py), whose listen queue the
storm's connections do not fill: on the main port a poll waited behind them (4.8-7.5 s at the
median), and the busiest moments were the unanswered ones."""

from __future__ import annotations

import contextlib
import math
import re
import statistics
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import httpx

LAG = re.compile(r"^switchboard_event_loop_lag_seconds (\S+)$", re.M)
REFUSED = re.compile(r"^switchboard_refused_total\{[^}]*\} (\S+)$", re.M)
ROUTE = re.compile(r'^switchboard_queue_depth\{queue="route"\} (\S+)$', re.M)
EVERY = 0.5
TIMEOUT = 5.0


@dataclass(frozen=True)
class Sample:
    """One node's reading at ``at`` (monotonic seconds): its smoothed lag, the messages it
    had refused since it started, its routing queue's depth, and how long its /readyz took
    (None: not answered within TIMEOUT)."""

    at: float
    node: str
    lag: float
    refused: float
    route: float = 0.0
    check: float | None = None


def read(text: str) -> tuple[float, float]:
    """The lag and the refused total from a /metrics page (0 for what it lacks)."""
    lag = LAG.search(text)
    return (float(lag.group(1)) if lag else 0.0), sum(float(v) for v in REFUSED.findall(text))


def route_depth(text: str) -> float:
    """The routing queue's depth from a /metrics page (0 without it)."""
    found = ROUTE.search(text)
    return float(found.group(1)) if found else 0.0


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
    # Every sample's routing queue depth, and each answered /readyz's seconds.
    routes: list[float] = field(default_factory=list)
    checks: list[float] = field(default_factory=list)

    def line(self, limit: float) -> str:
        if not self.samples:
            return "no loop-lag samples"
        found = (
            f"nodes' loop lag past {limit * 1000:.0f} ms in {self.over} of {self.samples}"
            f" samples (highest {self.highest:.2f} s; {self.unanswered} polls unanswered"
            f" within {TIMEOUT:g} s), {self.refused:,.0f} messages refused"
        )
        if any(self.routes):
            found += (
                f"; routing queue {statistics.median(self.routes):,.0f} at the median"
                f" (highest {max(self.routes):,.0f})"
            )
        if self.checks:
            ordered = sorted(self.checks)
            found += (
                f"; /readyz on the health port in {statistics.median(ordered):.2f} s at the"
                f" median, {ordered[math.ceil(0.95 * len(ordered)) - 1]:.2f} s at p95,"
                f" {ordered[-1]:.2f} s at most"
            )
        return found


@dataclass
class LagWatch:
    """Polls ``nodes`` (name, base URL: the node's health port) from ``start()`` to
    ``stop()``."""

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
                        page = http.get(f"{url}/metrics").text
                    except httpx.HTTPError:
                        self.unanswered.append((time.monotonic(), name))
                        continue
                    lag, refused = read(page)
                    asked = time.monotonic()
                    check: float | None = None
                    with contextlib.suppress(httpx.HTTPError):
                        http.get(f"{url}/readyz")
                        check = time.monotonic() - asked
                    sample = Sample(asked, name, lag, refused, route_depth(page), check)
                    self.samples.append(sample)
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
            found.routes += [s.route for s in inside]
            found.checks += [s.check for s in inside if s.check is not None]
        return found
