"""The mail parser's worker processes: a budget per mail, a crash that fails only its own
mail, and nothing running in the server while no mail comes."""

from __future__ import annotations

import asyncio
import os
import threading
import time

import pytest

from channels.email.parsing import Limits, ParsedMail, Unparseable
from channels.email.workers import ParserPool, _parse_in_worker

MAIL = b"From: ann@example.com\r\nSubject: hello\r\n\r\nwhere is my order?\r\n"


def slow_on_request(raw: bytes, mail_from: str, limits: Limits) -> ParsedMail | str:
    """A parser that hangs on a mail saying "slow" (a worker runs it by name)."""
    if b"slow" in raw:
        time.sleep(60)
    return _parse_in_worker(raw, mail_from, limits)


def slow_briefly(raw: bytes, mail_from: str, limits: Limits) -> ParsedMail | str:
    """A parser that takes a second over a mail saying "pause"."""
    if b"pause" in raw:
        time.sleep(1)
    return _parse_in_worker(raw, mail_from, limits)


def crash_on_request(raw: bytes, mail_from: str, limits: Limits) -> ParsedMail | str:
    """A parser whose process dies on a mail saying "crash", as the OOM killer would end it."""
    if b"crash" in raw:
        os._exit(3)
    return _parse_in_worker(raw, mail_from, limits)


def hostile(word: str) -> bytes:
    return f"From: eve@example.com\r\nSubject: {word}\r\n\r\n{word}\r\n".encode()


def _threads() -> set[str]:
    """Threads other than the event loop's and the default executor's idle ones."""
    return {
        t.name
        for t in threading.enumerate()
        if t is not threading.main_thread() and not t.name.startswith("asyncio_")
    }


async def test_a_mail_is_parsed_in_a_worker() -> None:
    pool = ParserPool(1, 10.0)
    try:
        parsed = await pool.parse(MAIL, "ann@example.com")
        assert parsed.subject == "hello"
        assert "where is my order?" in parsed.text
    finally:
        pool.close()


async def test_a_mail_past_its_budget_is_unparseable_and_the_next_is_parsed() -> None:
    pool = ParserPool(1, 1.0, work=slow_on_request)
    try:
        with pytest.raises(Unparseable, match="longer than 1 s"):
            await pool.parse(hostile("slow"), "eve@example.com")
        assert (await pool.parse(MAIL, "ann@example.com")).subject == "hello"
    finally:
        pool.close()


async def test_a_worker_that_dies_fails_only_its_own_mail() -> None:
    pool = ParserPool(2, 10.0, work=crash_on_request)
    try:
        crashed, parsed = await asyncio.gather(
            pool.parse(hostile("crash"), "eve@example.com"),
            pool.parse(MAIL, "ann@example.com"),
            return_exceptions=True,
        )
        assert isinstance(crashed, Unparseable)
        assert "the parser's worker died (exit code 3)" in str(crashed)
        assert isinstance(parsed, ParsedMail)
        assert parsed.subject == "hello"
        assert (await pool.parse(MAIL, "ann@example.com")).subject == "hello"  # replaced
    finally:
        pool.close()


async def test_an_idle_pool_runs_no_thread_in_the_server() -> None:
    """Warm workers wait on a socket in their own processes; no manager thread polls them."""
    before = _threads()
    pool = ParserPool(2, 10.0)
    try:
        await pool.warm_up()
        await pool.parse(MAIL, "ann@example.com")
        assert _threads() == before
    finally:
        pool.close()


async def test_a_parse_cancelled_mid_mail_keeps_its_worker() -> None:
    """A parse cancelled while its worker parses (the mailroom's, when the raw mail is not
    stored after all): the worker finishes that mail and parses the next one, no process is
    killed or started; the other mails wait for it as for any busy worker."""
    pool = ParserPool(1, 10.0, work=slow_briefly)
    try:
        await pool.parse(MAIL, "ann@example.com")
        (worker,) = pool._all
        cancelled = asyncio.create_task(pool.parse(hostile("pause"), "eve@example.com"))
        await asyncio.sleep(0.2)  # in the worker now
        cancelled.cancel()
        with pytest.raises(asyncio.CancelledError):
            await cancelled
        assert (await pool.parse(MAIL, "ann@example.com")).subject == "hello"
        assert pool._all == {worker}
        assert worker.process.is_alive()
    finally:
        pool.close()


async def test_mails_waiting_together_share_a_worker_and_a_hostile_one_fails_alone() -> None:
    """Mails that wait while the workers are busy go to the next free one together; when the
    batch runs past its budget, each is parsed again alone, and only the hostile one fails."""
    pool = ParserPool(1, 1.0, work=slow_on_request)
    try:
        first = asyncio.create_task(pool.parse(MAIL, "ann@example.com"))
        waiting = [
            pool.parse(MAIL.replace(b"hello", b"second"), "ann@example.com"),
            pool.parse(hostile("slow"), "eve@example.com"),
            pool.parse(MAIL.replace(b"hello", b"third"), "ann@example.com"),
        ]
        second, slow, third = await asyncio.gather(*waiting, return_exceptions=True)
        assert (await first).subject == "hello"
        assert isinstance(second, ParsedMail)
        assert second.subject == "second"
        assert isinstance(slow, Unparseable)
        assert isinstance(third, ParsedMail)
        assert third.subject == "third"
    finally:
        pool.close()


async def test_closing_answers_a_batch_whose_call_has_not_started() -> None:
    """A batch's task cancelled before its first step never runs its own ``finally``: close()
    answers its mails itself, or their callers would wait for ever (the review's finding)."""
    pool = ParserPool(1, 10.0)
    parsing = asyncio.create_task(pool.parse(MAIL, "ann@example.com"))
    await asyncio.sleep(0)  # parse() has run: its batch's task is made, not yet started
    pool.close()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(parsing, 5)
