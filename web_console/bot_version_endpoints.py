"""The bot project's versions and files (issue 19), under /console/api/bot, for bot designers
and admins: every save's author, message and diff, a rollback to any version (itself a new
version), and the YAML view of each project file, saved as a version when it loads."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from web_console.bot_studio_requests import FileBody, Saved, designer, studio, studio_call
from web_console.requests import parse_body


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
    agent = await designer(request)
    raw = request.query_params.get("before")
    before = None
    if raw:
        if not raw.isdigit() or int(raw) >= 2**63:
            raise HTTPException(400, "before: a version id")
        before = int(raw)

    async def listed() -> object:
        return {"versions": await studio(request).versions(agent, before)}

    return await studio_call(listed())


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
    agent = await designer(request)
    return await studio_call(studio(request).version(agent, _version_id(request)))


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
    agent = await designer(request)
    version_id = _version_id(request)
    raw = await request.body()
    body = parse_body(Saved, raw) if raw.strip() else Saved()
    return await studio_call(studio(request).rollback(agent, version_id, body.message), 201)


async def files(request: Request) -> Response:
    """
    summary: The project's YAML files (config, domain, data), for the YAML view
    responses:
      200: {description: "files: [path]"}
      401: {description: not logged in}
      403: {description: bot designers and admins only}
    """
    agent = await designer(request)

    async def listed() -> object:
        return {"files": await studio(request).files(agent)}

    return await studio_call(listed())


async def project_file(request: Request) -> Response:
    """
    summary: One of the project's YAML files, as it is on disk
    responses:
      200: {description: "path, text"}
      401: {description: not logged in}
      403: {description: bot designers and admins only}
      404: {description: not one of the project's YAML files}
    """
    agent = await designer(request)
    return await studio_call(studio(request).file(agent, request.path_params["path"]))


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
    agent = await designer(request)
    body = parse_body(FileBody, await request.body())
    call = studio(request).set_file(agent, request.path_params["path"], body.text, body.message)
    return await studio_call(call)
