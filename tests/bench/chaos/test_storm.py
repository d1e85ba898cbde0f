"""The storm's figures as the harness reads them from its client processes: the rate, when
90 % were back, why tries failed and where the sockets not back were."""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections import Counter

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosedError, InvalidStatus
from websockets.frames import Close
from websockets.http11 import Response

from bench.chaos import storm
from bench.chaos.serving import ThreadedApp

LINES = [
    "storm back=3 of=4 first=100.000000 last=104.000000 attempts=9 failures=5"
    " why=InvalidStatus503:3;TimeoutError:2 stuck=waiting:1 times=101.0000,102.0000,104.0000",
    "storm back=4 of=4 first=100.500000 last=103.000000 attempts=6 failures=2"
    " why=InvalidStatus503:2 stuck=- times=100.6000,101.5000,102.5000,103.0000",
]


def test_the_storm_is_read_from_every_client_process_line() -> None:
    outcome = storm.Storm.of_lines(LINES)
    assert (outcome.back, outcome.of, outcome.attempts, outcome.failures) == (7, 8, 15, 7)
    # From the first close any process saw to the last welcome any saw.
    assert outcome.began == 100.0
    assert math.isclose(outcome.seconds, 4.0)
    assert math.isclose(outcome.ended, 104.0)
    # 90 % of eight is 7.2 sockets: the eighth, never back.
    assert math.isinf(outcome.seconds_90)
    assert outcome.why == Counter({"InvalidStatus503": 5, "TimeoutError": 2})
    assert outcome.stuck == Counter({"waiting": 1})
    assert outcome.tallies() == (
        "failed tries: InvalidStatus503:5;TimeoutError:2; not back: waiting:1"
    )


def test_a_storm_without_failures_says_so() -> None:
    line = "storm back=2 of=2 first=1.0 last=2.0 attempts=2 failures=0 why=- stuck=- times=1.5,2.0"
    outcome = storm.Storm.of_lines([line])
    assert outcome.why == Counter()
    assert outcome.stuck == Counter()
    # 90 % of two is 1.8 sockets: the second, at 2.0.
    assert math.isclose(outcome.seconds_90, 1.0)
    assert outcome.tallies() == "failed tries: none"


def test_a_failed_try_is_named_with_its_status_or_close_code() -> None:
    refused = InvalidStatus(Response(503, "Service Unavailable", Headers()))
    assert storm.reason(refused) == "InvalidStatus503"
    closed = ConnectionClosedError(Close(1013, "unavailable; try again"), None)
    assert storm.reason(closed) == "ConnectionClosedError1013"
    assert storm.reason(ConnectionClosedError(None, None)) == "ConnectionClosedError"
    assert storm.reason(TimeoutError()) == "TimeoutError"


def test_a_failed_try_names_the_step_it_failed_in() -> None:
    """The upgrade (open) or the hello and its welcome: a socket closed without a close frame
    means a proxy or server giving up on a slow client in one, not in the other."""
    during_upgrade = InvalidStatus(Response(408, "Request Timeout", Headers()))
    during_upgrade.add_note(storm.OPEN)
    assert storm.reason(during_upgrade) == "open:InvalidStatus408"
    before_welcome = ConnectionClosedError(None, None)
    before_welcome.add_note(storm.WELCOME)
    assert storm.reason(before_welcome) == "welcome:ConnectionClosedError"


async def test_widgets_not_back_are_told_apart_from_those_back() -> None:
    """``stuck`` names what each widget not greeted again is doing, and how a widget's task
    ended if it died; widgets back are not counted, even if dropped again since."""
    crowd = storm.Sockets("ws://127.0.0.1:9", [None, None, None, None])
    crowd.phase = {0: "back-then-dropped", 1: "waiting", 2: "trying", 3: "held"}
    crowd.returned = {0}

    async def fails() -> None:
        raise RuntimeError("a widget's bug")

    async def idles() -> None:
        await asyncio.sleep(0)

    tasks = [asyncio.create_task(idles()), asyncio.create_task(idles())]
    tasks += [asyncio.create_task(fails()), asyncio.create_task(idles())]
    await asyncio.gather(*tasks, return_exceptions=True)
    assert crowd.stuck(tasks) == Counter({"waiting": 1, "ended:RuntimeError": 1, "held": 1})


class _Widgets:
    """A stand-in for the web chat's two endpoints: sessions, and sockets that welcome."""

    def __init__(self) -> None:
        self.sessions = 0
        self.sockets = 0

    def app(self) -> Starlette:
        async def session(request: Request) -> JSONResponse:
            self.sessions += 1
            return JSONResponse({"token": f"t{self.sessions}"}, status_code=201)

        async def socket(ws: WebSocket) -> None:
            self.sockets += 1
            await ws.accept()
            await ws.receive_text()
            await ws.send_text('{"type": "welcome"}')
            with contextlib.suppress(WebSocketDisconnect):
                await ws.receive_text()

        return Starlette(
            routes=[
                Route("/api/webchat/sessions", session, methods=["POST"]),
                WebSocketRoute("/ws/webchat", socket),
            ]
        )


def test_a_crowd_opens_its_sockets_only_when_told_after_its_sessions() -> None:
    """The scenario asks for the idle widgets' sessions before its traffic starts and opens
    their sockets later: between the two, no socket is open."""
    widgets = _Widgets()
    served = ThreadedApp(widgets.app())
    served.start()
    crowd = storm.Crowd("switchboard", served.url, 5)
    try:
        crowd.sessions()
        assert (widgets.sessions, widgets.sockets) == (5, 0)
        crowd.ready()
        assert (widgets.sessions, widgets.sockets) == (5, 5)
        # Dropped by the stand-in's end: back counted, with the clients' CPU meanwhile.
        served.stop()
        served.start()
        outcome = crowd.storm()
        assert (outcome.back, outcome.of) == (5, 5)
        assert outcome.clients_cpu >= 0
    finally:
        crowd.close()
        served.stop()


class _Socket:
    """A greeted socket that closes when ``drop`` is set (never, if not given)."""

    def __init__(self, drop: asyncio.Event | None = None) -> None:
        self._drop = drop or asyncio.Event()

    async def wait_closed(self) -> None:
        await self._drop.wait()


async def test_a_try_that_fails_with_any_error_is_tried_again() -> None:
    """The websockets client can fail a handshake under load with an AssertionError: the
    widget counts the failed try and tries again, as widget.js does, rather than ending."""
    crowd = storm.Sockets("ws://127.0.0.1:9", [None])
    dropped = asyncio.Event()
    dropped.set()  # the first socket is dropped as soon as it is greeted
    outcomes: list[BaseException | _Socket] = [
        _Socket(dropped),
        AssertionError("a websockets client's assert"),
        _Socket(),
    ]

    async def greeted(hello: str) -> _Socket:
        outcome = outcomes.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    crowd._greeted = greeted  # type: ignore[method-assign,assignment]
    widget = asyncio.create_task(crowd.widget(0, None, asyncio.Semaphore(1)))
    async with asyncio.timeout(10):
        await crowd.all_back.wait()
    widget.cancel()
    assert (crowd.back, crowd.attempts, crowd.failures) == (1, 2, 1)
    assert crowd.why == Counter({"AssertionError": 1})


async def test_a_process_has_at_most_opening_upgrades_in_flight(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """After the drop every widget of a process tries at once: only ``opening`` upgrades are
    in flight, the others wait their turn rather than time out at the proxy."""
    crowd = storm.Sockets("ws://127.0.0.1:9", [None] * 10, opening=asyncio.Semaphore(3))
    in_flight, most = 0, 0

    async def connect(*args: object, **kwargs: object) -> None:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1
        raise OSError("refused")

    monkeypatch.setattr(storm, "connect", connect)
    tries = await asyncio.gather(*(crowd._greeted("{}") for _ in range(10)), return_exceptions=True)
    assert all(isinstance(t, OSError) for t in tries)
    assert most == 3
