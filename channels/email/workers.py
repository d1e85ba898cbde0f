"""Mail is parsed in worker processes with a time budget, so hostile mail costs a worker.

Each worker is a process of its own (forkserver) joined to the server by a socket pair: the
event loop writes a raw mail and reads the parsed one back, each a length-prefixed pickle. A
worker that runs past its budget is killed and replaced; one that crashes (out of memory
under its address-space limit) fails only its own mail. Either way the receipt is quarantined
with the reason, and the server's event loop never runs the parser.

Idle, the pool costs nothing: its workers are processes blocked on a read, and no thread
watches them (pebble's pool, used before, kept two manager threads polling every 0.1 s
whether mail came or not: a quarter of the server's CPU under web-chat load in a profile).
"""

from __future__ import annotations

import asyncio
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
    """A worker process: answer each mail read from the socket until the server closes it.
    An unexpected error goes back to the server as the exception (it retries the receipt)."""
    _limit_worker()
    # Ready: imports are done, so the first mail's budget is spent on parsing alone.
    connection.sendall(FRAME.pack(0))
    with connection, connection.makefile("rb") as reader:
        while True:
            header = reader.read(FRAME.size)
            if len(header) < FRAME.size:
                return  # the server closed its end
            raw, mail_from, limits = pickle.loads(reader.read(FRAME.unpack(header)[0]))
            try:
                answer: tuple[bool, Any] = (True, work(raw, mail_from, limits))
            except Exception as exc:
                answer = (False, RuntimeError(f"the mail parser failed: {exc!r}"))
            data = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
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


def _retrieved(call: asyncio.Task[bytes]) -> None:
    """Read a call's outcome, so that one whose parse was cancelled (nobody awaits it any
    more) is not reported as an exception never retrieved."""
    if not call.cancelled():
        call.exception()


class ParserPool:
    """Parses raw mail off the event loop, each message within ``budget_seconds``, at most
    ``workers`` at once. ``work`` is what a worker runs (tests give a hostile one)."""

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
        self._slots = asyncio.Semaphore(workers)
        self._idle: list[_Worker] = []
        self._all: set[_Worker] = set()
        # Mails being parsed, each owning its worker until the answer is back (``parse``).
        self._calls: set[asyncio.Task[bytes]] = set()

    @property
    def workers(self) -> int:
        """How many mails can be parsed at once."""
        return self._workers

    async def warm_up(self) -> None:
        """Start the workers now (forkserver and imports take a second or two), so the first
        mail after a start is not the one that waits for them."""
        probe = b"From: warm@example.com\r\nSubject: warm-up\r\n\r\nhello\r\n"
        await asyncio.gather(*(self.parse(probe, "warm@example.com") for _ in range(self._workers)))

    async def parse(self, raw: bytes, mail_from: str) -> ParsedMail:
        """The parsed mail; raises Unparseable with the reason it was refused.

        Cancelled while it waits for a worker, nothing is lost; cancelled while a worker
        parses it, that worker finishes the mail (within its budget) and goes back to the
        pool, its answer dropped, rather than being killed and replaced (a process start):
        the mailroom starts a parse with each DATA and cancels it when the raw mail is not
        stored after all."""
        job = pickle.dumps((raw, mail_from, self._limits), protocol=pickle.HIGHEST_PROTOCOL)
        await self._slots.acquire()
        try:
            worker = self._idle.pop() if self._idle else await self._start()
        except BaseException:
            self._slots.release()
            raise
        call = asyncio.create_task(self._call(worker, job), name="mail-parser-call")
        self._calls.add(call)
        call.add_done_callback(self._calls.discard)
        call.add_done_callback(_retrieved)
        answer = await asyncio.shield(call)
        ok, result = pickle.loads(answer)
        if not ok:
            raise result
        if isinstance(result, str):
            raise Unparseable(result)
        assert isinstance(result, ParsedMail)
        return result

    async def _call(self, worker: _Worker, job: bytes) -> bytes:
        """One mail on ``worker``, which holds its slot until its answer is back."""
        try:
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
            return answer
        finally:
            self._slots.release()

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
        for call in self._calls:
            call.cancel()
        for worker in self._all:
            worker.kill()
        for worker in self._all:
            worker.process.join(timeout=5)
        self._all.clear()
        self._idle.clear()
