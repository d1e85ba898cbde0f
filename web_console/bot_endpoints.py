"""What the console can read about the bot: which engine answers, the project it was trained
from, and what that Rasa project asks for that the engine does not do (each named with its
file and line and what the engine does instead); and, for the Bot area (issue 19), the
project's intents and examples, responses, rules and stories. For bot designers and admins.
The studio's edits are in bot_studio_endpoints.py, the versions in bot_version_endpoints.py."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from web_console import access
from web_console.port import Agent
from web_console.requests import ask, console_of, current_agent


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


async def domain(request: Request) -> Response:
    """
    summary: The bot's slots, forms and custom actions (read-only)
    description: >
      From the project's domain as the engine loads it. Each slot with its `type`, `values`
      (a categorical slot's), whether it shapes the dialogue, and its `mappings` (`type`:
      from_entity, from_text, from_intent, from_trigger_intent or custom; with its entity,
      intents and `conditions`); each form with its `required_slots`; each custom action
      (the domain's `actions`, responses left out) with what `runs` it: "switchboard" (its
      own, such as action_handoff), "action server" (SWITCHBOARD_ACTION_SERVER_URL) or
      "none" (no action server: the conversation goes to a person when it reaches it). With
      another engine than the embedded one, the lists are empty and `kind` says which.
    responses:
      200:
        description: "kind, action_server, slots: [{name, type, values,
          influence_conversation, initial_value, mappings: [{type, entity, role, group,
          intents, not_intents, value, conditions}]}], forms: [{name, required_slots,
          ignored_intents}], actions: [{name, runs}]"
      401: {description: not logged in}
      403: {description: bot designers and admins only}
    """
    agent = await _designer(request)
    return JSONResponse(await console_of(request).backend.bot_domain(agent))
