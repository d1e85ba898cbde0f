"""The bot studio's edits (issue 19), under /console/api/bot, for bot designers and admins:
intents and their examples, synonyms, regexes and lookup tables, responses, rules and stories.
Each save is a version of the project's files (``BotStudioPort``); a refusal names the file
and line when the edit would break the project, and nothing is written."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from web_console.bot_studio_port import FlowStepIn
from web_console.bot_studio_requests import (
    ExampleEdit,
    ExampleRemoval,
    FlowBody,
    FlowRemoval,
    ListBody,
    NewExamples,
    NewIntent,
    ResponseBody,
    designer,
    studio,
    studio_call,
)
from web_console.requests import parse_body


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
    agent = await designer(request)
    return await studio_call(studio(request).lexicon(agent))


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
    agent = await designer(request)
    body = parse_body(NewIntent, await request.body())
    call = studio(request).add_intent(
        agent, body.name, [e.value() for e in body.examples], body.message
    )
    return await studio_call(call, 201)


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
    agent = await designer(request)
    body = parse_body(NewExamples, await request.body())
    call = studio(request).add_examples(
        agent, body.intent, [e.value() for e in body.examples], body.message
    )
    return await studio_call(call, 201)


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
    agent = await designer(request)
    body = parse_body(ExampleEdit, await request.body())
    call = studio(request).edit_example(
        agent, body.intent, body.old, body.example.value(), body.message
    )
    return await studio_call(call)


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
    agent = await designer(request)
    body = parse_body(ExampleRemoval, await request.body())
    call = studio(request).delete_example(agent, body.intent, body.old, body.message)
    return await studio_call(call)


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
    agent = await designer(request)
    kind = request.path_params["kind"]
    if kind not in ("synonym", "regex", "lookup"):
        raise HTTPException(404, "kind: synonym, regex or lookup")
    body = parse_body(ListBody, await request.body())
    call = studio(request).set_list(agent, kind, body.name, body.values, body.message)
    return await studio_call(call)


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
    agent = await designer(request)
    name = request.path_params["name"]
    body = parse_body(ResponseBody, await request.body())
    call = studio(request).set_response(
        agent, name, [v.value() for v in body.variations], body.message
    )
    return await studio_call(call)


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
    agent = await designer(request)
    name = request.path_params["name"]
    message = request.query_params.get("message", "")[:500]
    return await studio_call(studio(request).delete_response(agent, name, message))


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
    agent = await designer(request)
    body = parse_body(FlowBody, await request.body())
    steps = [FlowStepIn(s.kind, s.name.strip(), s.value) for s in body.steps]
    call = studio(request).set_flow(agent, body.kind, body.name, steps, body.original, body.message)
    return await studio_call(call)


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
    agent = await designer(request)
    body = parse_body(FlowRemoval, await request.body())
    return await studio_call(studio(request).delete_flow(agent, body.kind, body.name, body.message))
