"""What the console can read about the bot: which engine answers, the project it was trained
from, and what that Rasa project asks for that the engine does not do (each named with its
file and line and what the engine does instead); and, for the Bot area (issue 19), the
project's intents and examples, responses, rules and stories; and the studio's edits of the
project's files, each a version with its author, message and diff. For bot designers and
admins."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from web_console import access
from web_console.bot_studio_port import (
    BotStudioPort,
    ButtonIn,
    EditRefused,
    ExampleIn,
    FlowStepIn,
    SpanIn,
    VariationIn,
)
from web_console.port import Agent
from web_console.requests import ask, console_of, current_agent, parse_body


async def bot(request: Request) -> Response:
    """
    summary: The bot's engine and what its Rasa project asks for that the engine does not do
    description: >
      `kind` is the engine ("embedded", "rasa" or "none"); for the embedded engine,
      `fingerprint`, `intents` and `languages` describe the trained project and `unsupported`
      lists, one line each, what the project asks for that the engine does not do ("file:line:
      feature: what it does instead"), as `switchboard nlu train` and /readyz say it;
      `error` is the last edit of the project that could not be loaded (the last good model
      still serves).
    responses:
      200: {description: "kind, fingerprint, intents, languages, unsupported, error"}
      401: {description: not logged in}
      403: {description: bot designers and admins only}
    """
    agent = await _designer(request)
    return JSONResponse(await console_of(request).backend.bot(agent))


async def _designer(request: Request) -> Agent:
    agent = await current_agent(request)
    if not access.may_design(agent):
        raise HTTPException(403, "bot designers and admins only")
    return agent


async def intents(request: Request) -> Response:
    """
    summary: The bot's intents, with their example counts per language
    description: >
      Read from the project the engine loaded (GET /console/api/bot). Each intent says how
      many training examples it has in each language (an example too short to tell counts
      under the likeliest of the bot's languages, else the project's), and whether it hands the
      customer to a person (`handoff_why`: SWITCHBOARD_BOT_HUMAN_INTENTS, or a rule or story
      running action_handoff after it). With another engine than the embedded one, `intents`
      is empty and `kind` says which.
    responses:
      200:
        description: "kind, languages, intents: [{name, examples: {language: count}, total,
          handoff, handoff_why}]"
      401: {description: not logged in}
      403: {description: bot designers and admins only}
    """
    agent = await _designer(request)
    return JSONResponse(await console_of(request).backend.bot_intents(agent))


async def intent(request: Request) -> Response:
    """
    summary: One intent's training examples, with their annotated entities as spans
    description: >
      Each example's plain `text` (Rasa's `[value](entity)` markup removed), its `language`,
      and `entities`: `start` and `end` index `text`; `value` is the canonical value (a
      synonym's), `role` and `group` as annotated. `name` is the intent's full name, a
      retrieval intent's slash included (`faq/ask_hours`).
    responses:
      200:
        description: "name, handoff, handoff_why, examples: [{text, language, entities:
          [{start, end, entity, value, role, group}]}]"
      401: {description: not logged in}
      403: {description: bot designers and admins only}
      404: {description: no such intent in the project the engine loaded}
    """
    agent = await _designer(request)
    name = request.path_params["name"]
    return JSONResponse(await ask(console_of(request).backend.bot_intent(agent, name)))


async def responses(request: Request) -> Response:
    """
    summary: The bot's responses, each variation with its language and buttons
    description: >
      A variation's `language` is its `language` slot condition, else the project's language
      (the variation said when no other's conditions hold); `conditions` are all its slot
      conditions; `custom` says it carries a channel-specific payload (not shown).
    responses:
      200:
        description: "kind, responses: [{name, variations: [{language, text, buttons:
          [{title, payload}], image, custom, conditions}]}]"
      401: {description: not logged in}
      403: {description: bot designers and admins only}
    """
    agent = await _designer(request)
    return JSONResponse(await console_of(request).backend.bot_responses(agent))


async def flows(request: Request) -> Response:
    """
    summary: The bot's rules and stories as step lists, with the file and line of each
    description: >
      As the engine runs them: one per alternative of an `or:` step, stories joined at their
      checkpoints ("first > next"). Steps are `intent` (with its entity names), `action`,
      `slot` (`value` null: not set) and `loop` (`name` "": no loop); a rule's `conditions`
      hold before its first step.
    responses:
      200:
        description: "kind, flows: [{kind, name, path, line, conditions, steps: [{kind, name,
          entities, value}], conversation_start, wait_for_user_input}]"
      401: {description: not logged in}
      403: {description: bot designers and admins only}
    """
    agent = await _designer(request)
    return JSONResponse(await console_of(request).backend.bot_flows(agent))


# -- The studio: editing the project, with versions (issue 19) ---------------------------------

NAME = r"^[A-Za-z0-9_][A-Za-z0-9_.\-/]{0,160}$"
LINE_MAX = 2_000


class SpanBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start: int = Field(ge=0, le=LINE_MAX)
    end: int = Field(ge=1, le=LINE_MAX)
    entity: str = Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,80}$")
    value: str | None = Field(default=None, max_length=LINE_MAX)
    role: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.\-]{1,80}$")
    group: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.\-]{1,80}$")


class ExampleBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=LINE_MAX)
    entities: list[SpanBody] = Field(default_factory=list, max_length=50)

    def value(self) -> ExampleIn:
        spans = tuple(
            SpanIn(s.start, s.end, s.entity, s.value or None, s.role, s.group)
            for s in self.entities
        )
        return ExampleIn(self.text, spans)


class Saved(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # The version's message (what the designer says of the save); the edit's summary if empty.
    message: str = Field(default="", max_length=500)


class NewIntent(Saved):
    name: str = Field(pattern=NAME)
    examples: list[ExampleBody] = Field(default_factory=list, max_length=500)


class NewExamples(Saved):
    intent: str = Field(pattern=NAME)
    examples: list[ExampleBody] = Field(min_length=1, max_length=500)


class ExampleEdit(Saved):
    intent: str = Field(pattern=NAME)
    old: str = Field(min_length=1, max_length=LINE_MAX)  # the example's plain text or markup
    example: ExampleBody


class ExampleRemoval(Saved):
    intent: str = Field(pattern=NAME)
    old: str = Field(min_length=1, max_length=LINE_MAX)


class ListBody(Saved):
    name: str = Field(min_length=1, max_length=200)
    values: list[str] = Field(max_length=5_000)


class ButtonBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=200)
    payload: str = Field(default="", max_length=500)


class ConditionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    slot: str = Field(pattern=r"^[A-Za-z0-9_.\-]{1,80}$")
    value: str | None = Field(default=None, max_length=200)


class VariationBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str | None = Field(default=None, max_length=5_000)
    language: str | None = Field(default=None, pattern=r"^[a-z]{2,3}$")
    buttons: list[ButtonBody] = Field(default_factory=list, max_length=20)
    image: str | None = Field(default=None, pattern=r"^https?://\S{1,2000}$")
    conditions: list[ConditionBody] = Field(default_factory=list, max_length=10)

    def value(self) -> VariationIn:
        return VariationIn(
            text=self.text if self.text and self.text.strip() else None,
            language=self.language,
            buttons=tuple(ButtonIn(b.title, b.payload or b.title) for b in self.buttons),
            image=self.image,
            conditions=tuple((c.slot, c.value) for c in self.conditions if c.slot != "language"),
        )


class ResponseBody(Saved):
    variations: list[VariationBody] = Field(min_length=1, max_length=50)


def _studio(request: Request) -> BotStudioPort:
    found = console_of(request).backend.bot_studio
    if found is None:
        raise HTTPException(409, "the bot studio is not set up on this server")
    return found


def _json(value: object, status: int = 200) -> Response:
    return Response(orjson.dumps(value), status, media_type="application/json")


async def _studio_call(call: Awaitable[object], status: int = 200) -> Response:
    """The studio's answer, or its refusal as ``{error, reason, path, line}`` with its
    status (the project's file and line when the edit would break it)."""
    try:
        return _json(await call, status)
    except EditRefused as refused:
        where = (
            f"{refused.path}:{refused.line}: "
            if refused.path and refused.line
            else f"{refused.path}: "
            if refused.path
            else ""
        )
        body = {
            "error": f"{where}{refused.reason}",
            "reason": refused.reason,
            "path": refused.path,
            "line": refused.line,
        }
        return _json(body, refused.status)


async def lexicon(request: Request) -> Response:
    """
    summary: The project's entities, synonyms, regexes and lookup tables, from its files
    description: >
      `entities`: declared in the domain or annotated in an example (what an annotation can
      pick); `annotated`: those some example annotates. `lists`: each synonym (`name` is the
      canonical value, `values` the texts that mean it), regex (`values` its patterns) and
      lookup table, as the files on disk hold them. `examples`: each example's plain text,
      lower-cased, and its intent (the editor warns of one already under another intent).
    responses:
      200: {description: "entities, annotated, lists: [{kind, name, values}], examples"}
      401: {description: not logged in}
      403: {description: bot designers and admins only}
      409: {description: the bot runs on another engine than the embedded one}
    """
    agent = await _designer(request)
    return await _studio_call(_studio(request).lexicon(agent))


async def add_intent(request: Request) -> Response:
    """
    summary: Add an intent with its first examples (a new version of the project)
    description: >
      Written at the end of the project's intents in its data, and named in the domain.
      Examples are plain text with `entities` as spans over it (`start`, `end`, `entity`,
      optional `value` for a synonym, `role`, `group`); they are written as Rasa markup
      (`[10234](order_number)`). The save is checked as the engine would load it first; the
      answer is the version: its id, author, message and the unified diff of each file.
    requestBody:
      content:
        application/json:
          schema: {type: object, required: [name], properties: {name: {type: string},
            examples: {type: array}, message: {type: string}}}
    responses:
      201: {description: "version: {id, created_at, author, message, summary, restores,
        paths}, files: [{path, diff}]"}
      400: {description: a malformed name, example or annotation}
      401: {description: not logged in}
      403: {description: bot designers and admins only}
      409: {description: the intent exists already}
      422: {description: "the project would not load: reason, path, line; nothing written"}
    """
    agent = await _designer(request)
    body = parse_body(NewIntent, await request.body())
    call = _studio(request).add_intent(
        agent, body.name, [e.value() for e in body.examples], body.message
    )
    return await _studio_call(call, 201)


async def add_examples(request: Request) -> Response:
    """
    summary: Add examples to an intent (a new version)
    description: >
      Appended to the intent's examples, one line each (an example it has already is
      skipped). Entities as for POST /console/api/bot/intents.
    requestBody:
      content:
        application/json:
          schema: {type: object, required: [intent, examples], properties: {intent: {type:
            string}, examples: {type: array}, message: {type: string}}}
    responses:
      201: {description: the version and its diff}
      400: {description: a malformed example or annotation}
      401: {description: not logged in}
      403: {description: bot designers and admins only}
      404: {description: no such intent}
      409: {description: every example is there already}
      422: {description: "the project would not load: reason, path, line; nothing written"}
    """
    agent = await _designer(request)
    body = parse_body(NewExamples, await request.body())
    call = _studio(request).add_examples(
        agent, body.intent, [e.value() for e in body.examples], body.message
    )
    return await _studio_call(call, 201)


async def edit_example(request: Request) -> Response:
    """
    summary: Change one example of an intent (a new version)
    description: >
      `old` is the example's plain text (as GET /console/api/bot/intents/{name} shows it) or
      its markup as the file holds it; the first that matches is replaced by `example`.
    requestBody:
      content:
        application/json:
          schema: {type: object, required: [intent, old, example]}
    responses:
      200: {description: the version and its diff}
      400: {description: a malformed example or annotation}
      401: {description: not logged in}
      403: {description: bot designers and admins only}
      404: {description: no such intent or example}
      409: {description: the intent has the new example already, or nothing changes}
      422: {description: "the project would not load: reason, path, line; nothing written"}
    """
    agent = await _designer(request)
    body = parse_body(ExampleEdit, await request.body())
    call = _studio(request).edit_example(
        agent, body.intent, body.old, body.example.value(), body.message
    )
    return await _studio_call(call)


async def delete_example(request: Request) -> Response:
    """
    summary: Remove one example of an intent (a new version)
    requestBody:
      content:
        application/json:
          schema: {type: object, required: [intent, old]}
    responses:
      200: {description: the version and its diff}
      401: {description: not logged in}
      403: {description: bot designers and admins only}
      404: {description: no such intent or example}
      422: {description: "the project would not load (an intent left without examples, say):
        reason, path, line; nothing written"}
    """
    agent = await _designer(request)
    body = parse_body(ExampleRemoval, await request.body())
    call = _studio(request).delete_example(agent, body.intent, body.old, body.message)
    return await _studio_call(call)


async def set_list(request: Request) -> Response:
    """
    summary: Set a synonym's texts, a regex's patterns or a lookup table's values
    description: >
      `kind` is synonym, regex or lookup; `name` the canonical value (synonym) or the
      feature's name; `values` replace what it held (only the lines that differ are
      rewritten); an empty list removes it. A new one is added after the project's intents.
    requestBody:
      content:
        application/json:
          schema: {type: object, required: [name, values], properties: {name: {type: string},
            values: {type: array, items: {type: string}}, message: {type: string}}}
    responses:
      200: {description: the version and its diff}
      400: {description: a blank value, or a regex that does not compile}
      401: {description: not logged in}
      403: {description: bot designers and admins only}
      404: {description: "an unknown kind, or removing one that does not exist"}
      409: {description: nothing changes}
      422: {description: "the project would not load: reason, path, line; nothing written"}
    """
    agent = await _designer(request)
    kind = request.path_params["kind"]
    if kind not in ("synonym", "regex", "lookup"):
        raise HTTPException(404, "kind: synonym, regex or lookup")
    body = parse_body(ListBody, await request.body())
    call = _studio(request).set_list(agent, kind, body.name, body.values, body.message)
    return await _studio_call(call)


async def set_response(request: Request) -> Response:
    """
    summary: Write a response (new or replaced), one variation per language
    description: >
      A variation's `language` becomes its `language` slot condition (none: said in any
      language); `conditions` are its other slot conditions; `buttons` ({title, payload}) and
      `image` as Rasa has them. A response carrying a custom payload is edited in the files.
    requestBody:
      content:
        application/json:
          schema: {type: object, required: [variations], properties: {variations: {type:
            array}, message: {type: string}}}
    responses:
      200: {description: the version and its diff}
      400: {description: "a name not starting utter_, a variation with no text or image"}
      401: {description: not logged in}
      403: {description: bot designers and admins only}
      409: {description: "nothing changes, or the response carries a custom payload"}
      422: {description: "the project would not load: reason, path, line; nothing written"}
    """
    agent = await _designer(request)
    name = request.path_params["name"]
    body = parse_body(ResponseBody, await request.body())
    call = _studio(request).set_response(
        agent, name, [v.value() for v in body.variations], body.message
    )
    return await _studio_call(call)


async def delete_response(request: Request) -> Response:
    """
    summary: Remove a response (a new version)
    responses:
      200: {description: the version and its diff}
      401: {description: not logged in}
      403: {description: bot designers and admins only}
      404: {description: no such response}
      422: {description: "the project would not load without it: reason, path, line"}
    """
    agent = await _designer(request)
    name = request.path_params["name"]
    message = request.query_params.get("message", "")[:500]
    return await _studio_call(_studio(request).delete_response(agent, name, message))


async def versions(request: Request) -> Response:
    """
    summary: The project's versions, newest first
    description: >
      Every save from the console: its author, message, summary and the files it changed.
      `before` (a version id) pages back.
    parameters:
      - {name: before, in: query, schema: {type: integer}}
    responses:
      200: {description: "versions: [{id, created_at, author, message, summary, restores,
        paths}]"}
      400: {description: before is not a version id}
      401: {description: not logged in}
      403: {description: bot designers and admins only}
    """
    agent = await _designer(request)
    raw = request.query_params.get("before")
    before = None
    if raw:
        if not raw.isdigit() or int(raw) >= 2**63:
            raise HTTPException(400, "before: a version id")
        before = int(raw)

    async def listed() -> object:
        return {"versions": await _studio(request).versions(agent, before)}

    return await _studio_call(listed())


def _version_id(request: Request) -> int:
    value = int(request.path_params["version_id"])
    if value >= 2**63:
        raise HTTPException(404, "no such version")
    return value


async def version(request: Request) -> Response:
    """
    summary: One version, with the unified diff of each file it changed
    responses:
      200: {description: "version, files: [{path, diff}]"}
      401: {description: not logged in}
      403: {description: bot designers and admins only}
      404: {description: no such version of this project}
    """
    agent = await _designer(request)
    return await _studio_call(_studio(request).version(agent, _version_id(request)))


async def rollback(request: Request) -> Response:
    """
    summary: Put the project's files back as they were right after a version
    description: >
      Itself a new version (`restores` names the version rolled back to), checked like any
      save; files changed outside the console since are compared as they are on disk.
    requestBody:
      content:
        application/json:
          schema: {type: object, properties: {message: {type: string}}}
    responses:
      201: {description: the new version and its diff}
      401: {description: not logged in}
      403: {description: bot designers and admins only}
      404: {description: no such version of this project}
      409: {description: the files are already as they were then}
      422: {description: "the project would not load: reason, path, line; nothing written"}
    """
    agent = await _designer(request)
    version_id = _version_id(request)
    raw = await request.body()
    body = parse_body(Saved, raw) if raw.strip() else Saved()
    return await _studio_call(_studio(request).rollback(agent, version_id, body.message), 201)


class FileBody(Saved):
    text: str = Field(max_length=5_000_000)


async def files(request: Request) -> Response:
    """
    summary: The project's YAML files (config, domain, data), for the YAML view
    responses:
      200: {description: "files: [path]"}
      401: {description: not logged in}
      403: {description: bot designers and admins only}
    """
    agent = await _designer(request)

    async def listed() -> object:
        return {"files": await _studio(request).files(agent)}

    return await _studio_call(listed())


async def project_file(request: Request) -> Response:
    """
    summary: One of the project's YAML files, as it is on disk
    responses:
      200: {description: "path, text"}
      401: {description: not logged in}
      403: {description: bot designers and admins only}
      404: {description: not one of the project's YAML files}
    """
    agent = await _designer(request)
    return await _studio_call(_studio(request).file(agent, request.path_params["path"]))


async def set_project_file(request: Request) -> Response:
    """
    summary: Save one of the project's YAML files as written (a new version)
    description: >
      For power users (rules and stories, anything the forms do not edit). Checked as the
      engine loads the project: YAML that does not parse, or a project the engine would refuse,
      is a 422 naming the file and line, and nothing is written; the model that serves keeps
      serving.
    requestBody:
      content:
        application/json:
          schema: {type: object, required: [text], properties: {text: {type: string},
            message: {type: string}}}
    responses:
      200: {description: the version and its diff}
      401: {description: not logged in}
      403: {description: bot designers and admins only}
      404: {description: not one of the project's YAML files}
      409: {description: the text is the file's already}
      422: {description: "the project would not load: reason, path, line; nothing written"}
    """
    agent = await _designer(request)
    body = parse_body(FileBody, await request.body())
    call = _studio(request).set_file(agent, request.path_params["path"], body.text, body.message)
    return await _studio_call(call)


class StepBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["intent", "action", "slot", "loop"]
    name: str = Field(max_length=161)
    value: str | None = Field(default=None, max_length=500)


class FlowBody(Saved):
    kind: Literal["rule", "story"]
    name: str = Field(min_length=1, max_length=300)
    # The rule's or story's name before this edit; absent: a new one.
    original: str | None = Field(default=None, min_length=1, max_length=300)
    steps: list[StepBody] = Field(min_length=1, max_length=200)


class FlowRemoval(Saved):
    kind: Literal["rule", "story"]
    name: str = Field(min_length=1, max_length=300)


async def set_flow(request: Request) -> Response:
    """
    summary: Write a rule or a story as a list of steps (a new version)
    description: >
      Steps are `intent` (the customer says), `action` (the bot does), `slot` (`name` set to
      `value`; null: not set) and `loop` (a form; "" ends it). With `original`, the rule or
      story of that name is rewritten in place (a rule's condition and other keys kept);
      without, a new one is added after the file's last. One that uses `or:`, checkpoints or an
      intent's entities is edited in the YAML view (409).
    requestBody:
      content:
        application/json:
          schema: {type: object, required: [kind, name, steps]}
    responses:
      200: {description: the version and its diff}
      400: {description: a malformed name or step}
      401: {description: not logged in}
      403: {description: bot designers and admins only}
      404: {description: no rule or story named `original`}
      409: {description: "the name is taken, or the rule needs the YAML view"}
      422: {description: "the project would not load: reason, path, line; nothing written"}
    """
    agent = await _designer(request)
    body = parse_body(FlowBody, await request.body())
    steps = [FlowStepIn(s.kind, s.name.strip(), s.value) for s in body.steps]
    call = _studio(request).set_flow(
        agent, body.kind, body.name, steps, body.original, body.message
    )
    return await _studio_call(call)


async def delete_flow(request: Request) -> Response:
    """
    summary: Remove a rule or a story (a new version)
    requestBody:
      content:
        application/json:
          schema: {type: object, required: [kind, name]}
    responses:
      200: {description: the version and its diff}
      401: {description: not logged in}
      403: {description: bot designers and admins only}
      404: {description: no rule or story of that name}
      422: {description: "the project would not load without it: reason, path, line"}
    """
    agent = await _designer(request)
    body = parse_body(FlowRemoval, await request.body())
    return await _studio_call(
        _studio(request).delete_flow(agent, body.kind, body.name, body.message)
    )
