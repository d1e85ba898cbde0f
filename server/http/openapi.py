"""/openapi.json, generated from the routes so that it stays true.

Each endpoint's docstring is YAML (summary, description, query ``parameters``, ``responses``),
as Starlette's SchemaGenerator reads it, plus ``body: <Model>``: the pydantic model that
validates the request's JSON body, looked up in the endpoint's module. From the routes
themselves come the path parameters (the path template and its converters: ``{n:int}`` is an
integer), the security scheme (by path prefix) and the ``Error`` schema of every 4xx answer
(server/http/errors.py gives all of them one shape). Request bodies are the models'
``model_json_schema()`` under ``components/schemas``, referenced.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

import yaml
from pydantic import BaseModel
from starlette.convertors import Convertor, FloatConvertor, IntegerConvertor, UUIDConvertor
from starlette.routing import BaseRoute, Mount, Route

from server.http.responses import ErrorBody

INFO = {
    "title": "Switchboard",
    "version": "0.1.0",
    "description": "Real-time omnichannel customer-support messaging server",
}
REF = "#/components/schemas/{model}"

SECURITY_SCHEMES = {
    "adminToken": {"type": "http", "scheme": "bearer", "description": "SWITCHBOARD_ADMIN_TOKEN"},
    "botToken": {"type": "http", "scheme": "bearer", "description": "SWITCHBOARD_BOT_API_TOKEN"},
    "visitorToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "a web chat visitor's token (POST /api/webchat/sessions)",
    },
    "consoleSession": {
        "type": "apiKey",
        "in": "cookie",
        "name": "switchboard_console",
        "description": "an agent's session (POST /console/api/login)",
    },
}
# Longest prefix first; None: no credentials.
SECURITY_BY_PREFIX: list[tuple[str, str | None]] = [
    ("/api/admin/", "adminToken"),
    ("/api/bot/", "botToken"),
    ("/api/webchat/sessions", None),
    ("/api/webchat/", "visitorToken"),
    ("/console/api/login", None),
    ("/console/api/logout", None),
    # An invite or reset link's page calls these before anyone is signed in.
    ("/console/api/password-reset", None),
    ("/console/api/", "consoleSession"),
]


def document(routes: list[BaseRoute]) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every route meant for the schema."""
    schemas: dict[str, Any] = {}
    _add_model(schemas, ErrorBody, "Error")
    paths: dict[str, dict[str, Any]] = {}
    for path, method, route, convertors in _endpoints(routes):
        paths.setdefault(path, {})[method] = _operation(path, route, convertors, schemas)
    return {
        "openapi": "3.1.0",
        "info": INFO,
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": SECURITY_SCHEMES},
    }


def _endpoints(
    routes: list[BaseRoute], prefix: str = "", outer: dict[str, Convertor[Any]] | None = None
) -> Iterator[tuple[str, str, Route, dict[str, Convertor[Any]]]]:
    """(OpenAPI path, method, route, every path parameter's convertor) of each endpoint."""
    for route in routes:
        if isinstance(route, Mount):
            # A mount matches "<its path>/{path:path}": that last parameter is its routes'.
            own = {k: c for k, c in route.param_convertors.items() if k != "path"}
            mount_path = route.path_format.removesuffix("/{path}")
            yield from _endpoints(route.routes, prefix + mount_path, {**(outer or {}), **own})
        elif isinstance(route, Route) and route.include_in_schema:
            convertors = {**(outer or {}), **route.param_convertors}
            for method in sorted(route.methods or ()):
                if method != "HEAD":
                    yield prefix + route.path_format, method.lower(), route, convertors


def _operation(
    path: str, route: Route, convertors: dict[str, Convertor[Any]], schemas: dict[str, Any]
) -> dict[str, Any]:
    operation = _docstring(route)
    model_name = operation.pop("body", None)
    parameters = [_path_parameter(name, c) for name, c in convertors.items()]
    parameters += operation.get("parameters", [])
    if parameters:
        operation["parameters"] = parameters
    if model_name is not None:
        model = route.endpoint.__globals__.get(model_name)
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            raise TypeError(f"{route.path}: body {model_name!r} is not a pydantic model")
        _add_model(schemas, model, model.__name__)
        request_body = operation.setdefault("requestBody", {})
        request_body["required"] = True
        json_schema = {"schema": {"$ref": REF.format(model=model.__name__)}}
        request_body.setdefault("content", {})["application/json"] = json_schema
    responses = {str(status): answer for status, answer in operation["responses"].items()}
    for status, answer in responses.items():
        if status.startswith("4") and "content" not in answer:
            answer["content"] = {
                "application/json": {"schema": {"$ref": REF.format(model="Error")}}
            }
    operation["responses"] = responses
    scheme = next((s for p, s in SECURITY_BY_PREFIX if path.startswith(p)), None)
    if scheme is not None:
        operation["security"] = [{scheme: []}]
    return operation


def _docstring(route: Route) -> dict[str, Any]:
    doc = inspect.getdoc(route.endpoint) or ""
    parsed = yaml.safe_load(doc.split("---")[-1]) if doc else None
    if not isinstance(parsed, dict) or "responses" not in parsed:
        raise TypeError(f"{route.path}: the endpoint's docstring must be YAML with responses")
    return parsed


def _path_parameter(name: str, convertor: Convertor[Any]) -> dict[str, Any]:
    schema: dict[str, Any]
    if isinstance(convertor, IntegerConvertor):
        schema = {"type": "integer", "minimum": 0}  # the converter matches digits only
    elif isinstance(convertor, FloatConvertor):
        schema = {"type": "number", "minimum": 0}
    elif isinstance(convertor, UUIDConvertor):
        schema = {"type": "string", "format": "uuid"}
    else:
        schema = {"type": "string", "minLength": 1}
    return {"name": name, "in": "path", "required": True, "schema": schema}


def _add_model(schemas: dict[str, Any], model: type[BaseModel], name: str) -> None:
    """The model's JSON schema under ``name``, and the models it nests beside it."""
    schema = model.model_json_schema(ref_template=REF)
    schemas.update(schema.pop("$defs", {}))
    schemas[name] = schema
