"""Mail is parsed in worker processes with a time budget, so hostile mail costs a worker.

Each worker is a process of its own (forkserver) joined to the server by a socket pair: the
event loop writes raw mails (those waiting together, ``ParserPool``) and reads the parsed
ones back, each way a length-prefixed pickle. A worker that runs past its budget is killed
and replaced; one that crashes (out of memory under its address-space limit) fails only its
own mail (a batch is parsed again a mail at a time to find it). Either way the receipt is
quarantined with the reason, and the server's event loop never runs the parser.

Idle, the pool costs nothing: its workers are processes blocked on a read, and no thread
watches them (pebble's pool, used before, kept two manager threads polling every 0.1 s
whether mail came or not: a quarter of the server's CPU under web-chat load in a profile).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import multiprocessing
import pickle
import resource
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from typing import Any

from channels.email.parsing import Limits, ParsedMail, Unparseable, parse

# A worker's address space: enough for a message at the size limit decoded a few times over.
WORKER_MEMORY_BYTES = 1024 * 1024 * 1024
# Every message between the server and a worker starts with its length.
FRAME = struct.Struct("!Q")
# How long a dead worker's exit code is waited for (the forkserver reports it on reaping).
EXIT_CODE_SECONDS = 2.0
# How long a new worker may take to say it is ready (imports on a busy machine).
READY_SECONDS = 60.0

Work = Callable[[bytes, str, Limits], "ParsedMail | str"]
# Mails sent to a worker at once, at most, and their bytes (a batch always takes one): its
# answer comes back when its last mail is parsed, and all share one budget, so big mails go
# alone or few together. A plain mail is about 1 kB and parses in half a millisecond.
BATCH = 16
BATCH_BYTES = 256 * 1024


def _limit_worker() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (WORKER_MEMORY_BYTES, WORKER_MEMORY_BYTES))


def _parse_in_worker(raw: bytes, mail_from: str, limits: Limits) -> ParsedMail | str:
    """The worker's side: the parsed mail, or the reason it cannot be parsed."""
    try:
        return parse(raw, mail_from, limits)
    except Unparseable as exc:
        return str(exc)
    except RecursionError:
        return "message structure too deeply nested for the parser"
    except MemoryError:
        return "parsing the message needed more memory than a worker may use"


def _serve(connection: socket.socket, work: Work) -> None:
    """A worker process: answer each batch of mails read from the socket until the server
    closes it, one answer a mail, in order. An unexpected error goes back to the server as
    the exception (it retries the receipt)."""
    _limit_worker()
    # Ready: imports are done, so the first mail's budget is spent on parsing alone.
    connection.sendall(FRAME.pack(0))
    with connection, connection.makefile("rb") as reader:
        while True:
            header = reader.read(FRAME.size)
            if len(header) < FRAME.size:
                return  # the server closed its end
            mails, limits = pickle.loads(reader.read(FRAME.unpack(header)[0]))
            answers: list[tuple[bool, Any]] = []
            for raw, mail_from in mails:
                try:
                    answers.append((True, work(raw, mail_from, limits)))
                except Exception as exc:
                    answers.append((False, RuntimeError(f"the mail parser failed: {exc!r}")))
            data = pickle.dumps(answers, protocol=pickle.HIGHEST_PROTOCOL)
            connection.sendall(FRAME.pack(len(data)) + data)


@dataclass(eq=False)  # kept in a set, by identity
class _Worker:
    process: BaseProcess
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter

    async def call(self, job: bytes) -> bytes:
        """Send a job and read its answer; IncompleteReadError when the worker died."""
        self.writer.write(FRAME.pack(len(job)) + job)
        await self.writer.drain()
        header = await self.reader.readexactly(FRAME.size)
        return await self.reader.readexactly(FRAME.unpack(header)[0])

    async def exit_code(self) -> int | None:
        """The exit code of a worker that died (negative: the signal that ended it)."""
        loop = asyncio.get_running_loop()
        ended = loop.create_future()
        loop.add_reader(self.process.sentinel, ended.set_result, None)
        try:
            async with asyncio.timeout(EXIT_CODE_SECONDS):
                await ended
        except TimeoutError:
            pass
        finally:
            loop.remove_reader(self.process.sentinel)
        return self.process.exitcode

    def kill(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError, ValueError):
            self.process.kill()


def _answer(mail: _Mail, exc: BaseException) -> None:
    """Fail a mail's parse, unless its caller gave up on it (cancelled)."""
    if mail.answer.done():
        return
    if isinstance(exc, asyncio.CancelledError):
        mail.answer.cancel()
    else:
        mail.answer.set_exception(exc)


@dataclass(eq=False, slots=True)
class _Mail:
    """A mail waiting for a worker, or being parsed, and its caller's answer."""

    raw: bytes
    mail_from: str
    answer: asyncio.Future[ParsedMail]
    # Sent alone: the batch it was in ran past its budget or killed its worker, so each of
    # that batch's mails is parsed again on its own, and only the one to blame fails.
    alone: bool = False


class ParserPool:
    """Parses raw mail off the event loop, each message within ``budget_seconds``, on at
    most ``workers`` processes at once. ``work`` is what a worker runs (tests give a hostile
    one).

    The mails that wait while every worker is busy go to the next free worker together, in
    one message each way, up to BATCH of them: under load, a worker's wake-up and the
    event loop's turn to read its answer (several milliseconds on a busy machine, against
    half a millisecond of parsing a plain mail) are paid once a batch, not once a mail
    (issue 14: with 32 mails on their way, a mail waited 27 ms for its parse at p50). A batch
    that runs past the budget or kills its worker is parsed again a mail at a time."""

    def __init__(
        self,
        workers: int,
        budget_seconds: float,
        limits: Limits | None = None,
        work: Work = _parse_in_worker,
    ) -> None:
        self._budget = budget_seconds
        self._workers = workers
        self._limits = limits or Limits()
        self._work = work
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(["channels.email.parsing"])
        self._waiting: collections.deque[_Mail] = collections.deque()
        self._busy = 0
        self._idle: list[_Worker] = []
        self._all: set[_Worker] = set()
        # Batches being parsed, each owning its worker until its answers are back.
        # Each batch on its way to a worker, by the task that carries it: close() answers
        # them (a task cancelled before its first step never runs its own ``finally``).
        self._calls: dict[asyncio.Task[None], list[_Mail]] = {}

    @property
    def workers(self) -> int:
        """How many processes parse at once."""
        return self._workers

    async def warm_up(self) -> None:
        """Start the workers now (forkserver and imports take a second or two), so the first
        mail after a start is not the one that waits for them."""
        missing = self._workers - len(self._all)
        started = await asyncio.gather(*(self._start() for _ in range(missing)))
        self._idle.extend(started)

    async def parse(self, raw: bytes, mail_from: str) -> ParsedMail:
        """The parsed mail; raises Unparseable with the reason it was refused.

        Cancelled while it waits for a worker, nothing is lost; cancelled while a worker
        parses it, that worker finishes the mail (within its budget) and goes back to the
        pool, its answer dropped, rather than being killed and replaced (a process start):
        the mailroom starts a parse with each DATA and cancels it when the raw mail is not
        stored after all."""
        mail = _Mail(raw, mail_from, asyncio.get_running_loop().create_future())
        self._waiting.append(mail)
        self._dispatch()
        return await mail.answer

    def _dispatch(self) -> None:
        """Send what waits to the free workers, a batch each."""
        while self._busy < self._workers:
            batch: list[_Mail] = []
            size = 0
            while self._waiting and len(batch) < BATCH:
                mail = self._waiting[0]
                if mail.answer.done():  # cancelled while it waited
                    self._waiting.popleft()
                    continue
                size += len(mail.raw)
                if batch and (mail.alone or size > BATCH_BYTES):
                    break
                batch.append(self._waiting.popleft())
                if mail.alone:
                    break
            if not batch:
                return
            self._busy += 1
            call = asyncio.create_task(self._call(batch), name="mail-parser-call")
            self._calls[call] = batch
            call.add_done_callback(lambda done: self._calls.pop(done, None))

    async def _call(self, batch: list[_Mail]) -> None:
        """One batch on a worker, which it holds until its answers are back."""
        try:
            try:
                answers = await self._answers(batch)
            except Unparseable as exc:
                if len(batch) == 1:
                    _answer(batch[0], exc)
                    return
                # One of them is to blame: each again on its own, first in the line.
                for mail in reversed(batch):
                    mail.alone = True
                    self._waiting.appendleft(mail)
                return
            except BaseException as exc:
                for mail in batch:
                    _answer(mail, exc)
                if not isinstance(exc, Exception):
                    raise
                return
            for mail, (ok, result) in zip(batch, answers, strict=True):
                if not ok:
                    _answer(mail, result)
                elif isinstance(result, str):
                    _answer(mail, Unparseable(result))
                else:
                    assert isinstance(result, ParsedMail)
                    if not mail.answer.done():
                        mail.answer.set_result(result)
        finally:
            self._busy -= 1
            self._dispatch()

    async def _answers(self, batch: list[_Mail]) -> list[tuple[bool, Any]]:
        """The worker's answers to the batch, in order; Unparseable when it ran past the
        budget or its worker died."""
        worker = self._idle.pop() if self._idle else await self._start()
        mails = [(m.raw, m.mail_from) for m in batch]
        job = pickle.dumps((mails, self._limits), protocol=pickle.HIGHEST_PROTOCOL)
        try:
            async with asyncio.timeout(self._budget):
                answer = await worker.call(job)
        except TimeoutError:
            self._drop(worker)
            raise Unparseable(f"parsing took longer than {self._budget:g} s") from None
        except (asyncio.IncompleteReadError, ConnectionError):
            worker.writer.close()
            code = await worker.exit_code()
            self._drop(worker)
            raise Unparseable(f"the parser's worker died (exit code {code})") from None
        except BaseException:
            self._drop(worker)  # cancelled mid-mail (the pool closing): state unknown
            raise
        self._idle.append(worker)
        answers: list[tuple[bool, Any]] = pickle.loads(answer)
        return answers

    async def _start(self) -> _Worker:
        ours, theirs = socket.socketpair()
        process = self._context.Process(
            target=_serve, args=(theirs, self._work), name="mail-parser", daemon=True
        )
        try:
            # Blocking: the first start waits for the forkserver to import the parser.
            await asyncio.to_thread(process.start)
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        reader, writer = await asyncio.open_unix_connection(sock=ours)
        worker = _Worker(process, reader, writer)
        self._all.add(worker)
        try:
            async with asyncio.timeout(READY_SECONDS):
                await reader.readexactly(FRAME.size)
        except BaseException:
            self._drop(worker)
            raise
        return worker

    def _drop(self, worker: _Worker) -> None:
        worker.kill()
        self._all.discard(worker)

    def close(self) -> None:
        for call, batch in list(self._calls.items()):
            call.cancel()
            for mail in batch:
                mail.answer.cancel()
        for mail in self._waiting:
            mail.answer.cancel()
        self._waiting.clear()
        for worker in self._all:
            worker.kill()
        for worker in self._all:
            worker.process.join(timeout=5)
        self._all.clear()
        self._idle.clear()
