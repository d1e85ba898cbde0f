"""The Bot area's background jobs (issue 19): a training or an evaluation runs after the
request that started it, and the page follows its steps as they happen (server-sent events,
``web_console/bot_training_endpoints.py``).

A job lives on the node that runs it, in memory: the last few are kept (``KEPT``), each with
its steps, its outcome and what it produced. One job of each kind runs at a time; asking
again while one runs answers with that one.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal

from web_console.bot_training_views import JobStepView, JobView

Kind = Literal["train", "evaluate"]
State = Literal["running", "done", "refused", "failed"]
# Jobs kept for their page (a designer reloading it, a test reading the outcome).
KEPT = 20
# A step said in a job whose page is open, at most this many (a Rasa training's heartbeats).
MAX_STEPS = 500


@dataclass
class Job:
    """One training or evaluation: its steps so far, how it ended and what it produced."""

    id: str
    kind: Kind
    engine: str
    author: str
    started: float = field(default_factory=time.time)
    state: State = "running"
    steps: list[JobStepView] = field(default_factory=list)
    # Refused or failed: why, and where in the project files when a file is to blame.
    reason: str | None = None
    path: str | None = None
    line: int | None = None
    result: object = None  # the JSON of what it produced (a trained model, a report)
    finished: float | None = None
    # Set when the server stops: work in a thread looks at it between its steps.
    stopping: threading.Event = field(default_factory=threading.Event, repr=False)
    _changed: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    def say(self, step: str, done: int | None = None, total: int | None = None) -> None:
        if len(self.steps) < MAX_STEPS:
            self.steps.append(
                {"step": step, "done": done, "total": total, "at": round(time.time(), 3)}
            )
        self._poke()

    def finish(
        self,
        state: State,
        *,
        result: object = None,
        reason: str | None = None,
        path: str | None = None,
        line: int | None = None,
    ) -> None:
        self.state, self.result, self.reason = state, result, reason
        self.path, self.line = path, line
        self.finished = time.time()
        self._poke()

    def _poke(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def follow(self, start: int = 0, beat: float = 15.0) -> AsyncIterator[JobStepView | None]:
        """The steps from index ``start`` as they come, until the job ends; None every
        ``beat`` seconds of silence (the stream's keep-alive)."""
        seen = start
        while True:
            waiting = self._changed
            while seen < len(self.steps):
                yield self.steps[seen]
                seen += 1
            if self.state != "running":
                return
            try:
                await asyncio.wait_for(waiting.wait(), beat)
            except TimeoutError:
                yield None

    def view(self) -> JobView:
        return {
            "id": self.id,
            "kind": self.kind,
            "engine": self.engine,
            "author": self.author,
            "state": self.state,
            "started": round(self.started, 3),
            "finished": round(self.finished, 3) if self.finished else None,
            "steps": list(self.steps),
            "reason": self.reason,
            "path": self.path,
            "line": self.line,
            "result": self.result,
        }


class Jobs:
    """The node's jobs: the running one of each kind and the last ``KEPT``."""

    def __init__(self) -> None:
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._tasks: set[asyncio.Task[None]] = set()

    def get(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id)

    def running(self, kind: Kind) -> Job | None:
        return next(
            (j for j in reversed(self._jobs.values()) if j.kind == kind and j.state == "running"),
            None,
        )

    def latest(self) -> list[Job]:
        """The newest job of each kind and engine."""
        found: dict[tuple[str, str], Job] = {}
        for job in reversed(self._jobs.values()):
            found.setdefault((job.kind, job.engine), job)
        return sorted(found.values(), key=lambda j: j.started, reverse=True)

    def start(
        self, kind: Kind, engine: str, author: str, work: Callable[[Job], Awaitable[None]]
    ) -> Job:
        """A new job running ``work`` (which finishes it); the running one of that kind if
        there is one."""
        busy = self.running(kind)
        if busy is not None:
            return busy
        job = Job(uuid.uuid4().hex, kind, engine, author)
        self._jobs[job.id] = job
        while len(self._jobs) > KEPT:
            oldest = next(iter(self._jobs))
            if self._jobs[oldest].state == "running":
                break
            del self._jobs[oldest]
        task = asyncio.get_running_loop().create_task(self._run(job, work), name=f"bot-{kind}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return job

    @staticmethod
    async def _run(job: Job, work: Callable[[Job], Awaitable[None]]) -> None:
        try:
            await work(job)
        except asyncio.CancelledError:
            job.finish("failed", reason="stopped: the server is shutting down")
            raise
        except Exception as error:  # a job's failure is shown on its page, never lost
            job.finish("failed", reason=f"{type(error).__name__}: {error}")
        if job.state == "running":
            job.finish("failed", reason="ended without an outcome")

    async def close(self) -> None:
        for job in self._jobs.values():
            job.stopping.set()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
