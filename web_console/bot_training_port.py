"""The port through which the Bot area's "Train and test" section asks the server to
validate, train, test a sentence and evaluate (issue 19); the server implements it
(server/services/bot_training.py). Refusals are the console port's: ``BadValue`` (a 422) and
``Unknown`` (a 404)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from web_console.bot_training_views import (
    JobList,
    JobStepView,
    JobView,
    TrialView,
    ValidationView,
)
from web_console.port import Agent


class BotTrainer(Protocol):
    async def validate(self) -> ValidationView:
        """The project files checked as ``switchboard nlu train`` checks them."""
        ...

    async def train(self, agent: Agent, engine: str) -> JobView:
        """Start training ``engine`` ("embedded" or "rasa"), or answer the running job."""
        ...

    async def evaluate(self, agent: Agent, folds: int) -> JobView:
        """Start a cross-validation of the embedded engine, or answer the running one."""
        ...

    async def trial(self, text: str) -> TrialView:
        """What each engine makes of the sentence, and what would follow it."""
        ...

    async def job_view(self, job_id: str) -> JobView:
        """A job as it is now; Unknown if this server has no such job."""
        ...

    async def job_list(self) -> JobList:
        """The newest job of each kind and engine."""
        ...

    def follow(self, job_id: str, start: int) -> AsyncIterator[JobStepView | None]:
        """The job's steps from index ``start`` as they come, until it ends (None: a
        keep-alive beat)."""
        ...
