"""Validate, train, test a sentence and evaluate the bot from the console (issue 19).

- **Validate** runs the checks ``switchboard nlu train`` makes, with the same code: the
  project loads (``nlu.project.load_project``: the first mistake, with its file and line) and
  what the embedded engine does not do is named (``nlu.support``). Rasa's own ``rasa data
  validate`` needs the Rasa command-line tool beside the files; this server reaches Rasa over
  HTTP only, so the answer says it is not available rather than pretend.
- **Train** (a job): the embedded engine retrains through its own reload (the watcher's,
  one at a time), which swaps the new model in only when training succeeds; a broken project
  is refused with file, line and reason while the last good model serves. With Rasa, the
  files go to its ``/model/train`` and the model is loaded (``PUT /model``) only when that
  succeeded.
- **Test a sentence** on both engines side by side (``bot_trial``).
- **Evaluate** (a job): cross-validation per intent (``nlu.evaluation.cross_validate``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import structlog

from nlu import language as language_detection
from nlu.base import Interpreter
from nlu.embedded import TRAIN_STEPS, EmbeddedInterpreter, Model, cached, load_or_train
from nlu.project import Project, ProjectError, fingerprint, load_project
from nlu.support import still_unsupported
from server.pipeline.bot import cache_dir
from server.services import rasa_validate
from server.services.bot_jobs import Job, Jobs, Kind
from server.services.bot_trial import entities_of, flows_running, try_embedded
from server.services.rasa_studio import RasaError, RasaStudio, project_document
from server.settings import Settings
from server.store import Pool, audit
from web_console.bot_training_views import (
    EngineTrial,
    JobList,
    JobStepView,
    JobView,
    ProblemView,
    RasaCheckView,
    TrialView,
    ValidationView,
)
from web_console.port import Agent, BadValue, Unknown

if TYPE_CHECKING:
    from nlu.evaluation import Report

log = structlog.get_logger(__name__)

ENGINES = ("embedded", "rasa")
MIN_FOLDS, MAX_FOLDS = 2, 10
# How often a Rasa training says it is still at it (Rasa's endpoint says nothing meanwhile).
RASA_BEAT = 5.0
CONFUSED_EXAMPLES = 30
RASA_CLI_NEEDED = (
    "Rasa's own `rasa data validate` needs the Rasa command-line tool next to the project"
    " files; this server reaches Rasa over HTTP only (SWITCHBOARD_RASA_URL), so it is not run"
    " here. Set SWITCHBOARD_RASA_COMMAND to a `rasa` executable on this machine to run it."
)


@dataclass(frozen=True, slots=True)
class TrainingSetup:
    """Where the project and the trained models are, and how Rasa is reached (settings)."""

    project: Path
    cache_dir: Path
    rasa_url: str | None = None
    rasa_token: str | None = None
    duckling: bool = False
    # SWITCHBOARD_ACTION_SERVER_URL is set: what only an action server runs is not named.
    action_server: bool = False
    # SWITCHBOARD_RASA_COMMAND: a `rasa` executable for `rasa data validate`.
    rasa_command: Path | None = None


def training_setup(settings: Settings) -> TrainingSetup:
    token = settings.rasa_token.get_secret_value() if settings.rasa_token else None
    return TrainingSetup(
        project=settings.nlu_project,
        cache_dir=cache_dir(settings),
        rasa_url=settings.rasa_url,
        rasa_token=token,
        duckling=settings.duckling_url is not None,
        action_server=settings.action_server_url is not None,
        rasa_command=settings.rasa_command,
    )


class Stopped(Exception):
    """The server is stopping: an evaluation ends between two trainings."""


class BotTraining:
    """The console's "Train and test" section over the engines."""

    def __init__(
        self,
        pool: Pool | None,
        interpreter: Interpreter | None,
        setup: TrainingSetup,
        rasa: RasaStudio | None = None,
    ) -> None:
        self._pool = pool
        self._interpreter = interpreter
        self._setup = setup
        if rasa is None and setup.rasa_url:
            rasa = RasaStudio(setup.rasa_url, setup.rasa_token)
        self._rasa = rasa
        self.jobs = Jobs()
        # With another engine than the embedded one serving, the embedded model of the
        # files, for a sentence tried side by side (loaded when first asked).
        self._side: Model | None = None
        # One `rasa data validate` at a time (it loads TensorFlow: seconds, a core).
        self._rasa_validating = asyncio.Lock()

    @property
    def root(self) -> Path:
        if isinstance(self._interpreter, EmbeddedInterpreter):
            return self._interpreter.root
        return self._setup.project

    async def close(self) -> None:
        """Stop the jobs (an evaluation ends after its current training) and Rasa's client."""
        await self.jobs.close()
        if self._rasa is not None:
            await self._rasa.close()

    # -- validate --------------------------------------------------------------------------

    async def validate(self) -> ValidationView:
        view = await asyncio.to_thread(
            check, self.root, self._setup.duckling, self._setup.action_server
        )
        view["rasa"] = await self._rasa_check()
        return view

    async def _rasa_check(self) -> RasaCheckView:
        command = self._setup.rasa_command
        if command is None:
            reason = RASA_CLI_NEEDED
            if self._rasa is None:
                reason = "Rasa is not configured (SWITCHBOARD_RASA_URL is unset)"
            return {
                "available": False,
                "reason": reason,
                "ok": None,
                "output": None,
                "problems": [],
            }
        async with self._rasa_validating:
            run = await rasa_validate.validate(command, self.root.resolve())
        return {
            "available": run.ran,
            "reason": run.reason,
            "ok": run.ok,
            "output": run.output,
            "problems": run.problems,
        }

    # -- train -----------------------------------------------------------------------------

    async def train(self, agent: Agent, engine: str) -> JobView:
        if engine not in ENGINES:
            raise BadValue("engine: 'embedded' or 'rasa'")
        if engine == "rasa" and self._rasa is None:
            raise BadValue("engine: Rasa is not configured (SWITCHBOARD_RASA_URL is unset)")
        work = self._train_embedded if engine == "embedded" else self._train_rasa

        async def run(job: Job) -> None:
            await work(job)
            await self._audit(agent, job)

        return self._start("train", engine, agent, run)

    def _start(
        self, kind: Kind, engine: str, agent: Agent, work: Callable[[Job], Awaitable[None]]
    ) -> JobView:
        busy = self.jobs.running(kind)
        if busy is not None and busy.engine != engine:
            raise BadValue(f"a {kind} job on {busy.engine} is running: wait for it to end")
        return self.jobs.start(kind, engine, agent.email, work).view()

    async def _train_embedded(self, job: Job) -> None:
        started = time.perf_counter()
        loop = asyncio.get_running_loop()

        def progress(step: str) -> None:
            done = TRAIN_STEPS.index(step) + 1 if step in TRAIN_STEPS else None
            loop.call_soon_threadsafe(job.say, f"training: {step}", done, len(TRAIN_STEPS))

        job.say("reading the project files")
        interpreter = self._interpreter
        if isinstance(interpreter, EmbeddedInterpreter):
            changed = await interpreter.reload(progress)
            refusal = interpreter.refusal
            if not changed and refusal is not None:
                self._refuse(job, refusal)
                return
            model = interpreter.model
        else:
            # Another engine serves: the embedded model of the files, for side-by-side tests.
            try:
                model = await asyncio.to_thread(
                    load_or_train, self._setup.project, self._setup.cache_dir, progress
                )
            except (ProjectError, ValueError) as error:
                self._refuse(job, error)
                return
            changed = (
                self._side is None or self._side.project.fingerprint != model.project.fingerprint
            )
            self._side = model
        job.say("serving the new model" if changed else "this model already serves these files")
        project = model.project
        job.finish(
            "done",
            result={
                "fingerprint": project.fingerprint[:12],
                "examples": len(project.examples),
                "intents": len(project.intents),
                "languages": sorted(model.languages),
                "changed": changed,
                "seconds": round(time.perf_counter() - started, 2),
                "serving": isinstance(interpreter, EmbeddedInterpreter),
            },
        )

    def _refuse(self, job: Job, error: ProjectError | ValueError) -> None:
        problem = problem_of(error, self.root)
        job.finish(
            "refused",
            reason=problem["message"],
            path=problem["path"],
            line=problem["line"],
        )

    async def _train_rasa(self, job: Job) -> None:
        rasa = self._rasa
        assert rasa is not None  # train() checked
        started = time.perf_counter()
        job.say("reading the project files")
        try:
            await asyncio.to_thread(load_project, self._setup.project)
            document = await asyncio.to_thread(project_document, self._setup.project)
        except (ProjectError, ValueError) as error:
            self._refuse(job, error)
            return
        job.say(f"training on Rasa at {rasa.url}")
        training = asyncio.ensure_future(rasa.train(document))
        try:
            while not training.done():
                await asyncio.wait({training}, timeout=RASA_BEAT)
                if not training.done():
                    job.say(f"training on Rasa: {time.perf_counter() - started:.0f} s")
            filename = training.result()
        except RasaError as error:
            job.finish(
                "refused" if error.status == 400 else "failed",
                reason=f"{error}; Rasa keeps serving its current model",
            )
            return
        finally:
            training.cancel()
        job.say(f"loading {filename}")
        try:
            await rasa.load(filename)
        except RasaError as error:
            job.finish("failed", reason=f"{error}; Rasa keeps serving its current model")
            return
        job.finish(
            "done",
            result={
                "model": filename,
                "changed": True,
                "seconds": round(time.perf_counter() - started, 2),
                "serving": True,
            },
        )

    async def _audit(self, agent: Agent, job: Job) -> None:
        if self._pool is None or job.state not in ("done", "refused"):
            return
        action = "bot.trained" if job.state == "done" else "bot.training_refused"
        result = job.result if isinstance(job.result, dict) else {}
        detail: dict[str, object] = {"engine": job.engine, "job": job.id}
        detail.update({k: result[k] for k in ("fingerprint", "model", "examples") if k in result})
        if job.state == "refused":
            detail.update({"reason": job.reason, "path": job.path, "line": job.line})
        async with self._pool.acquire() as conn:
            await audit.record(
                conn,
                action=action,
                actor_id=agent.id,
                actor_label=agent.email,
                target_kind="bot",
                target_id=str(result.get("fingerprint") or result.get("model") or job.engine),
                detail=detail,
            )

    # -- jobs ------------------------------------------------------------------------------

    def job(self, job_id: str) -> Job:
        found = self.jobs.get(job_id)
        if found is None:
            raise Unknown(f"no job {job_id} on this server")
        return found

    async def job_view(self, job_id: str) -> JobView:
        return self.job(job_id).view()

    async def job_list(self) -> JobList:
        return {"jobs": [j.view() for j in self.jobs.latest()]}

    def follow(self, job_id: str, start: int) -> AsyncIterator[JobStepView | None]:
        return self.job(job_id).follow(start)

    # -- test a sentence -------------------------------------------------------------------

    async def trial(self, text: str) -> TrialView:
        model = await self._embedded_model()
        engines: list[EngineTrial] = []
        if model is None:
            why = "no embedded model of the current files: train the embedded engine first"
            engines.append(unavailable("embedded", why))
        else:
            language = _language(model, text)
            engines.append(await asyncio.to_thread(try_embedded, model, text, language))
        engines.append(await self._try_rasa(text, model))
        return {"text": text, "engines": engines}

    async def _embedded_model(self) -> Model | None:
        """The serving embedded model; with Rasa serving (or the bot off), the embedded model
        of the files when one is trained (a sentence never waits for a training)."""
        if isinstance(self._interpreter, EmbeddedInterpreter):
            return self._interpreter.model
        if self._side is None or self._side.project.fingerprint != await asyncio.to_thread(
            fingerprint, self._setup.project
        ):
            self._side = await asyncio.to_thread(cached, self._setup.project, self._setup.cache_dir)
        return self._side

    async def _try_rasa(self, text: str, model: Model | None) -> EngineTrial:
        trial = unavailable("rasa", "Rasa is not configured (SWITCHBOARD_RASA_URL is unset)")
        if self._rasa is None:
            return trial
        trial["error"] = None
        from nlu.rasa import interpretation_from_parse
        from server.services.bot_trial import ranking_of

        try:
            seen = interpretation_from_parse(text, await self._rasa.parse(text))
        except RasaError as error:
            trial["error"] = str(error)
            return trial
        trial["available"] = True
        trial["intent"] = seen.intent
        trial["retrieval_intent"] = seen.retrieval_intent
        trial["confidence"] = round(seen.confidence, 4)
        trial["fallback"] = seen.intent == "nlu_fallback"
        trial["ranking"] = ranking_of(seen)
        trial["entities"] = entities_of(seen)
        try:
            predicted = await self._rasa.predict(text)
        except RasaError as error:
            trial["note"] = f"what would follow is unknown: {error}"
            return trial
        trial["next"] = [
            {
                "action": p.action,
                "by": p.policy or "",
                "confidence": p.confidence,
                "says": None,
                "flows": flows_running(model.project, seen.full_intent, p.action) if model else [],
            }
            for p in predicted
        ]
        trial["note"] = "Rasa's next action after the message, with its likeliest alternatives"
        return trial

    # -- evaluate --------------------------------------------------------------------------

    async def evaluate(self, agent: Agent, folds: int) -> JobView:
        if not MIN_FOLDS <= folds <= MAX_FOLDS:
            raise BadValue(f"folds: from {MIN_FOLDS} to {MAX_FOLDS}")

        async def run(job: Job) -> None:
            await self._evaluate(job, folds)

        return self._start("evaluate", "embedded", agent, run)

    async def _evaluate(self, job: Job, folds: int) -> None:
        job.say("reading the project files")
        try:
            project = await asyncio.to_thread(load_project, self.root)
        except (ProjectError, ValueError) as error:
            self._refuse(job, error)
            return
        loop = asyncio.get_running_loop()
        job.say(f"cross-validating: 0 of {folds} folds", 0, folds)

        def progress(done: int) -> None:
            if job.stopping.is_set():
                raise Stopped
            loop.call_soon_threadsafe(
                job.say, f"cross-validating: {done} of {folds} folds", done, folds
            )

        # Intents with fewer examples than folds are judged and named in the report's notes
        # (nlu.evaluation), as rasa test nlu does; a project no fold split can train on is
        # refused with the reason, before any training.
        try:
            report = await asyncio.to_thread(_cross_validate, project, folds, progress)
        except ValueError as error:
            job.finish("refused", reason=str(error))
            return
        job.finish("done", result=evaluation_view(report, project))


def _cross_validate(project: Project, folds: int, progress: Callable[[int], None]) -> Report:
    # scikit-learn: imported when evaluating, not when the server starts.
    from nlu.evaluation import cross_validate, out_of_scope_sets

    # As `switchboard nlu evaluate` does by default: each fold's model also judges its share
    # of the shipped out-of-scope sets (the out-of-scope recall beside the intents' F1).
    return cross_validate(project, folds, progress=progress, out_of_scope=out_of_scope_sets())


def evaluation_view(report: Report, project: Project) -> dict[str, object]:
    """Per intent (worst F1 first), the confused pairs and the most confidently wrong
    examples (each opens its intent in the editor)."""
    intents = [
        {
            "intent": name,
            "precision": scores.get("precision", 0.0),
            "recall": scores.get("recall", 0.0),
            "f1": scores.get("f1-score", 0.0),
            "support": int(scores.get("support", 0)),
        }
        for name, scores in report.intents.items()
    ]
    intents.sort(key=lambda r: (float(r["f1"]), str(r["intent"])))  # type: ignore[arg-type]
    wrong = sorted(
        (p for p in report.predictions if not p.right and not p.out_of_scope),
        key=lambda p: -p.confidence,
    )
    return {
        "method": report.method,
        "examples": report.examples,
        "fingerprint": project.fingerprint[:12],
        "accuracy": report.accuracy,
        "macro_f1": report.macro_f1,
        "weighted_f1": report.weighted_f1,
        "in_scope_accuracy": report.in_scope_accuracy,
        "out_of_scope_recall": report.out_of_scope_recall,
        "seconds": report.seconds,
        "notes": report.notes,
        "intents": intents,
        "confused": [{"intent": g, "predicted": p, "count": n} for g, p, n in report.confused],
        "examples_confused": [
            {
                "text": p.text,
                "intent": p.gold,
                "predicted": p.predicted,
                "confidence": round(p.confidence, 4),
            }
            for p in wrong[:CONFUSED_EXAMPLES]
        ],
    }


def unavailable(engine: str, why: str) -> EngineTrial:
    return {
        "engine": engine,
        "available": False,
        "error": why,
        "intent": None,
        "retrieval_intent": None,
        "confidence": None,
        "fallback": False,
        "ranking": [],
        "entities": [],
        "next": [],
        "note": None,
    }


def _language(model: Model, text: str) -> str:
    detector = language_detection.shared()
    found = detector.detect(text).language
    if found not in model.languages:
        found = detector.best_among(text, model.languages)
    return found or str(model.project.config.get("language") or "en")


def problem_of(error: ProjectError | ValueError, root: Path) -> ProblemView:
    """A refusal as the page shows it: the file relative to the project, the line, why."""
    if not isinstance(error, ProjectError):
        return {"path": "", "line": None, "message": str(error)}
    path = Path(error.path)
    shown = str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
    return {"path": shown, "line": error.line, "message": error.reason}


def check(root: Path, duckling: bool, action_server: bool = False) -> ValidationView:
    """``switchboard nlu train``'s checks of the files (without training)."""
    root = root.resolve()
    view: ValidationView = {
        "ok": True,
        "project": str(root),
        "fingerprint": None,
        "examples": 0,
        "intents": 0,
        "errors": [],
        "unsupported": [],
        "rasa": {"available": False, "reason": None, "ok": None, "output": None, "problems": []},
    }
    try:
        project = load_project(root)
    except (ProjectError, ValueError) as error:
        view["ok"] = False
        view["errors"] = [problem_of(error, root)]
        return view
    kept = set(still_unsupported(project, duckling=duckling, action_server=action_server))
    view["fingerprint"] = project.fingerprint[:12]
    view["examples"] = len(project.examples)
    view["intents"] = len(project.intents)
    view["unsupported"] = [
        {"path": n.path, "line": n.line, "message": f"{n.feature}: {n.instead}"}
        for n in project.unsupported
        if str(n) in kept
    ]
    return view
