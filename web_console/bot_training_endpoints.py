"""The Bot area's "Train and test" API (issue 19): validate the project files, train an
engine, follow a job's steps as they happen (server-sent events), try a sentence on both
engines and evaluate the embedded one by cross-validation. Bot designers and admins only
(others: 403), as the Bot area's reads (``bot_endpoints``)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import orjson
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from web_console import access
from web_console.bot_training_port import BotTrainer
from web_console.port import Agent
from web_console.requests import ask, console_of, current_agent, parse_body

JOB_ID = 32  # a job id is 32 hex digits


class TrainBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    engine: str = Field(default="embedded", max_length=20)


class EvaluateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    folds: int = Field(default=5, ge=2, le=10)


class TrialBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=1000)


async def _designer(request: Request) -> tuple[Agent, BotTrainer]:
    agent = await current_agent(request)
    if not access.may_design(agent):
        raise HTTPException(403, "bot designers and admins only")
    trainer = console_of(request).backend.bot_trainer
    if trainer is None:
        raise HTTPException(503, "this server does not train the bot")
    return agent, trainer


async def _body(request: Request) -> bytes:
    raw = await request.body()
    return raw if raw.strip() else b"{}"  # no body: the defaults


async def validate(request: Request) -> Response:
    """
    summary: Check the bot's project files as `switchboard nlu train` does
    description: >
      `errors` is the first mistake that stops the project loading (file relative to the
      project, line, message), as `switchboard nlu train` reports it; `unsupported` lists
      what the embedded engine does not do and what it does instead. `rasa` is Rasa's own
      `rasa data validate`, run on the files when SWITCHBOARD_RASA_COMMAND names a `rasa`
      executable (else `available` false and the `reason`; also when it could not run or
      took over 300 s): `ok` from its exit code (warnings alone do not fail it), its
      `output`, and its `problems` one by one with `level` (error, warning) and the file
      and line where Rasa or the files name them.
    responses:
      200:
        description: "ok, project, fingerprint, examples, intents, errors: [{path, line,
          message}], unsupported: [{path, line, message}], rasa: {available, reason, ok,
          output, problems: [{level, path, line, message}]}"
      401: {description: not logged in}
      403: {description: bot designers and admins only, or Origin not allowed}
    """
    _, trainer = await _designer(request)
    return JSONResponse(await trainer.validate())


async def train(request: Request) -> Response:
    """
    summary: Train the bot (a job whose steps GET /console/api/bot/jobs/{id}/events streams)
    description: >
      `engine` "embedded" (the default) retrains from the project files and swaps the new
      model in only when training succeeds; a broken project ends the job `refused` with
      `reason`, `path` and `line`, and the last good model keeps serving. "rasa" sends the
      files to Rasa's /model/train and loads the model (PUT /model) only when that
      succeeded. A training already running is answered instead of a second one. Audited as
      `bot.trained` (or `bot.training_refused`) with its author.
    body: TrainBody
    responses:
      202: {description: "the job: {id, kind, engine, author, state, steps, ...}"}
      400: {description: body is not JSON}
      401: {description: not logged in}
      403: {description: bot designers and admins only, or Origin not allowed}
      422: {description: "an engine other than embedded or rasa, or rasa while Rasa is not
        configured, or another engine's training is running"}
    """
    agent, trainer = await _designer(request)
    body = parse_body(TrainBody, await _body(request))
    return JSONResponse(await ask(trainer.train(agent, body.engine)), status_code=202)


async def evaluate(request: Request) -> Response:
    """
    summary: Cross-validate the embedded engine per intent (a job)
    description: >
      Trains `folds` models, each without one fold of the examples, and judges that fold:
      the job's `result` gives per intent precision, recall, F1 and support (worst F1
      first), the accuracy and F1 averages, the most confused pairs and the most
      confidently wrong examples (text, intent, predicted, confidence). An evaluation
      already running is answered instead of a second one.
    body: EvaluateBody
    responses:
      202: {description: "the job: {id, kind, engine, author, state, steps, ...}"}
      400: {description: body is not JSON}
      401: {description: not logged in}
      403: {description: bot designers and admins only, or Origin not allowed}
      422: {description: folds outside 2 to 10}
    """
    agent, trainer = await _designer(request)
    body = parse_body(EvaluateBody, await _body(request))
    return JSONResponse(await ask(trainer.evaluate(agent, body.folds)), status_code=202)


async def trial(request: Request) -> Response:
    """
    summary: Try a sentence on both engines side by side
    description: >
      For each engine (embedded, rasa): the intent, its confidence, whether it fell back,
      the ranking (ten at most), the entities, and what would follow the sentence in a new
      conversation (`next`: each action, the policy predicting it, what it says, the rules
      and stories where the intent is followed by it). An engine that cannot answer says
      why (`available` false, `error`). Nothing is sent to anyone.
    body: TrialBody
    responses:
      200: {description: "text, engines: [{engine, available, error, intent, confidence,
        fallback, ranking, entities, next, note}]"}
      400: {description: body is not JSON}
      401: {description: not logged in}
      403: {description: bot designers and admins only, or Origin not allowed}
      422: {description: no text, or more than 1,000 characters}
    """
    _, trainer = await _designer(request)
    body = parse_body(TrialBody, await request.body())
    return JSONResponse(await ask(trainer.trial(body.text)))


async def jobs(request: Request) -> Response:
    """
    summary: The newest training and evaluation of each engine on this server
    responses:
      200: {description: "jobs: [{id, kind, engine, author, state, steps, reason, path, line,
        result}]"}
      401: {description: not logged in}
      403: {description: bot designers and admins only}
    """
    _, trainer = await _designer(request)
    return JSONResponse(await trainer.job_list())


def _job_id(request: Request) -> str:
    job_id = str(request.path_params["id"])
    if len(job_id) != JOB_ID or any(c not in "0123456789abcdef" for c in job_id):
        raise HTTPException(404, f"no job {job_id[:64]} on this server")
    return job_id


async def job(request: Request) -> Response:
    """
    summary: A training or evaluation job as it is now
    parameters:
      - {name: id, in: path, required: true, schema: {type: string}}
    responses:
      200: {description: "{id, kind, engine, author, state, started, finished, steps, reason,
        path, line, result}"}
      401: {description: not logged in}
      403: {description: bot designers and admins only}
      404: {description: no such job on this server (jobs live on the node that runs them)}
    """
    _, trainer = await _designer(request)
    return JSONResponse(await ask(trainer.job_view(_job_id(request))))


async def job_events(request: Request) -> Response:
    """
    summary: A job's steps as they happen (server-sent events)
    description: >
      `text/event-stream`: one `step` event per step ({step, done, total, at}; its `id` is
      the step's index, so a reconnecting EventSource resumes after Last-Event-ID), a
      comment every 15 s of silence, and an `end` event carrying the whole job when it ends.
    parameters:
      - {name: id, in: path, required: true, schema: {type: string}}
    responses:
      200: {description: "text/event-stream of step events and one end event"}
      401: {description: not logged in}
      403: {description: bot designers and admins only}
      404: {description: no such job on this server}
    """
    _, trainer = await _designer(request)
    job_id = _job_id(request)
    await ask(trainer.job_view(job_id))  # a 404 before the stream starts
    last = request.headers.get("last-event-id", "")
    start = int(last) + 1 if last.isdigit() else 0

    async def stream() -> AsyncIterator[bytes]:
        index = start
        async for step in trainer.follow(job_id, start):
            if step is None:
                yield b": still running\n\n"
                continue
            yield b"id: %d\nevent: step\ndata: %s\n\n" % (index, orjson.dumps(step))
            index += 1
        final = await trainer.job_view(job_id)
        yield b"event: end\ndata: %s\n\n" % orjson.dumps(final)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"cache-control": "no-store", "x-accel-buffering": "no"},
    )
