"""What the Bot area's "Train and test" section reads and starts (issue 19): a validation of
the project files, training and evaluation jobs with their steps, and a sentence tried on
each engine. The server builds these (server/services/bot_training.py)."""

from __future__ import annotations

from typing import TypedDict


class RasaProblemView(TypedDict):
    """One thing ``rasa data validate`` said: ``level`` "error" or "warning"; ``path``
    relative to the project (None when neither Rasa nor the files name one)."""

    level: str
    path: str | None
    line: int | None
    message: str


class ProblemView(TypedDict):
    """Something wrong with (or unsupported in) the project: ``path`` is relative to the
    project folder; ``line`` is 1-based (None when the whole file or folder is meant)."""

    path: str
    line: int | None
    message: str


class RasaCheckView(TypedDict):
    """Rasa's own ``rasa data validate``: ``available`` false says why in ``reason``;
    ``problems`` are its warnings and errors, with file and line where known."""

    available: bool
    reason: str | None
    ok: bool | None
    output: str | None
    problems: list[RasaProblemView]


class ValidationView(TypedDict):
    """The checks ``switchboard nlu train`` makes: ``errors`` (the first mistake that stops
    the project loading, as a ProjectError says it) and ``unsupported`` (what the embedded
    engine does not do, and what it does instead)."""

    ok: bool
    project: str
    fingerprint: str | None
    examples: int
    intents: int
    errors: list[ProblemView]
    unsupported: list[ProblemView]
    rasa: RasaCheckView


class JobStepView(TypedDict):
    step: str
    done: int | None
    total: int | None
    at: float  # seconds since the epoch


class JobView(TypedDict):
    """A training or an evaluation. ``state``: running, done, refused (the project is broken:
    ``reason``, ``path``, ``line``; the last good model still serves) or failed."""

    id: str
    kind: str  # "train" or "evaluate"
    engine: str  # "embedded" or "rasa"
    author: str
    state: str
    started: float
    finished: float | None
    steps: list[JobStepView]
    reason: str | None
    path: str | None
    line: int | None
    result: object


class JobList(TypedDict):
    jobs: list[JobView]


class ScoreView(TypedDict):
    intent: str
    confidence: float


class EntityView(TypedDict):
    entity: str
    value: str
    start: int
    end: int
    role: str | None
    group: str | None
    extractor: str


class NextView(TypedDict):
    """One action the dialogue would take after the sentence: ``by`` is the policy that
    predicts it (rule, memo, ted, loop, fallback); ``flows`` name the rules or stories (file
    and line) where the intent is followed by it; ``says`` the response's text."""

    action: str
    by: str
    confidence: float | None
    says: str | None
    flows: list[str]


class EngineTrial(TypedDict):
    """What one engine makes of the sentence; ``available`` false says why in ``error``."""

    engine: str
    available: bool
    error: str | None
    intent: str | None
    retrieval_intent: str | None
    confidence: float | None
    fallback: bool
    ranking: list[ScoreView]
    entities: list[EntityView]
    next: list[NextView]
    note: str | None


class TrialView(TypedDict):
    text: str
    engines: list[EngineTrial]
