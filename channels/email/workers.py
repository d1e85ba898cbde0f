"""Mail is parsed in worker processes with a time budget, so hostile mail costs a worker.

pebble's process pool ends a task that runs past its timeout by killing the worker process
and starting a new one; a worker that crashes (out of memory under its address-space limit)
fails only its own task. Either way the receipt is quarantined with the reason, and the
server's event loop never runs the parser.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import resource
from concurrent.futures import TimeoutError as FutureTimeout

from pebble import ProcessExpired, ProcessPool

from channels.email.parsing import Limits, ParsedMail, Unparseable, parse

# A worker's address space: enough for a message at the size limit decoded a few times over.
WORKER_MEMORY_BYTES = 1024 * 1024 * 1024


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


class ParserPool:
    """Parses raw mail off the event loop, each message within ``budget_seconds``."""

    def __init__(self, workers: int, budget_seconds: float, limits: Limits | None = None) -> None:
        self._budget = budget_seconds
        self._workers = workers
        self._limits = limits or Limits()
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["channels.email.parsing"])
        self._pool = ProcessPool(max_workers=workers, initializer=_limit_worker, context=context)

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
        """The parsed mail; raises Unparseable with the reason it was refused."""
        future = self._pool.schedule(
            _parse_in_worker, args=(raw, mail_from, self._limits), timeout=self._budget
        )
        try:
            result = await asyncio.wrap_future(future)
        except FutureTimeout:
            raise Unparseable(f"parsing took longer than {self._budget:g} s") from None
        except ProcessExpired as exc:
            raise Unparseable(f"the parser's worker died (exit code {exc.exitcode})") from None
        if isinstance(result, str):
            raise Unparseable(result)
        return result

    def close(self) -> None:
        self._pool.stop()  # type: ignore[no-untyped-call]
        self._pool.join(timeout=5)
