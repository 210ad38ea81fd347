"""Typed errors that carry their HTTP status, rendered by one handler as
`{"error": "NotFound", "detail": "…"}`."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse


class RebookError(Exception):
    status_code = 400

    def __init__(self, detail: str, *, extra: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra or {}


class NotFound(RebookError):
    status_code = 404


class Conflict(RebookError):
    status_code = 409


class Unauthorized(RebookError):
    status_code = 401


class Forbidden(RebookError):
    status_code = 403


class InvalidInput(RebookError):
    """A payload that is well-formed but breaks a rule (unknown ids, bad template…)."""

    status_code = 422


def _field_name(loc: tuple[Any, ...]) -> str:
    # ("body", "messaging_config", "channels", 0) -> "messaging_config.channels.0"
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "form")]
    return ".".join(parts) or str(loc[-1] if loc else "")


def _sentence(error: dict[str, Any]) -> str:
    message = str(error.get("msg", "Invalid value"))
    # Pydantic prefixes errors raised from our own validators with "Value error, ".
    return message.removeprefix("Value error, ").removeprefix("Assertion failed, ")


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RebookError)
    async def _rebook_error(_: Request, exc: RebookError) -> JSONResponse:
        body = {"error": type(exc).__name__, "detail": exc.detail, **exc.extra}
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthorized) else None
        return JSONResponse(body, status_code=exc.status_code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": _field_name(tuple(e.get("loc", ()))), "message": _sentence(e)}
            for e in exc.errors()
        ]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return JSONResponse(
            {"error": "ValidationError", "detail": detail, "errors": errors}, status_code=422
        )
