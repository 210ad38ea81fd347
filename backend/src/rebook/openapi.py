"""The OpenAPI schema tells the answers the API really gives: every 4xx body is ours
(`ErrorBody`; a 422 is a `ValidationErrorBody`, not FastAPI's HTTPValidationError), and the
statuses that come from shared machinery are documented on every operation they can reach —
422 everywhere (StorableTextGuard reads every request), 400 where a body may be read, 401/403
where the route depends on the logged-in user or owner."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from starlette.routing import BaseRoute

from rebook.auth.dependencies import get_current_business_owner, get_current_user
from rebook.errors import ErrorBody, ValidationErrorBody

ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}
VALIDATION_REF = {"$ref": "#/components/schemas/ValidationErrorBody"}
SHARED: dict[str, str] = {
    "400": "The request body could not be read",
    "401": "Not logged in, or the session has expired",
    "403": "Logged in, but not as a business owner",
    "422": "The input was refused (ValidationError, naming each field) or broke a rule "
    "(InvalidInput)",
}


def install_openapi(app: FastAPI) -> None:
    generate = app.openapi
    documented: set[int] = set()

    def openapi() -> dict[str, Any]:
        schema = generate()
        if id(schema) not in documented:
            document_errors(schema, app.routes)
            documented.add(id(schema))
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def api_routes(routes: Sequence[BaseRoute]) -> Iterator[RouteContext]:
    """Every API route as the app serves it (its full path), included routers and all."""
    for context in iter_route_contexts(routes):
        if isinstance(context.original_route, APIRoute):
            yield context


def dependency_calls(dependant: Dependant) -> set[Callable[..., Any]]:
    calls: set[Callable[..., Any]] = set()
    stack = [dependant]
    while stack:
        current = stack.pop()
        if current.call is not None:
            calls.add(current.call)
        stack.extend(current.dependencies)
    return calls


def _json(ref: dict[str, str]) -> dict[str, Any]:
    return {"application/json": {"schema": ref}}


def document_errors(schema: dict[str, Any], routes: Sequence[BaseRoute]) -> None:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for model in (ErrorBody, ValidationErrorBody):
        definition = model.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(definition.pop("$defs", {}))
        components[model.__name__] = definition
    for route in api_routes(routes):
        if not route.include_in_schema:
            continue
        calls = dependency_calls(route.dependant)
        for method in route.methods or ():
            operation = schema["paths"][route.path_format].get(method.lower())
            if operation is None:
                continue
            responses: dict[str, Any] = operation.setdefault("responses", {})
            shared = ["422"]
            if route.body_field is not None or method in ("POST", "PUT", "PATCH"):
                shared.append("400")
            if get_current_user in calls:
                shared.append("401")
            if get_current_business_owner in calls:
                shared.append("403")
            for status in shared:
                responses.setdefault(status, {"description": SHARED[status]})
            if responses["422"].get("description") == "Validation Error":  # FastAPI's
                responses["422"]["description"] = SHARED["422"]
            responses["422"]["content"] = _json(VALIDATION_REF)
            for status, response in responses.items():
                if status.startswith("4") and "content" not in response:
                    response["content"] = _json(ERROR_REF)
    # FastAPI's own 422 models describe a body the API never sends.
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
