"""Typed errors that carry their HTTP status, rendered by one handler as
`{"error": "NotFound", "detail": "…"}`, and the models that document those bodies."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException


class RebookError(Exception):
    status_code = 400

    def __init__(self, detail: str, *, extra: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra or {}

    @property
    def headers(self) -> dict[str, str] | None:
        return None


class NotFound(RebookError):
    status_code = 404


class Conflict(RebookError):
    status_code = 409


class Unauthorized(RebookError):
    status_code = 401

    @property
    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": "Bearer"}


class Forbidden(RebookError):
    status_code = 403


class InvalidInput(RebookError):
    """A payload that is well-formed but breaks a rule (unknown ids, bad template…)."""

    status_code = 422


class ProviderUnavailable(RebookError):
    """A provider Rebook depends on (Twilio) could not answer; nothing was changed."""

    status_code = 502


class TooManyRequests(RebookError):
    """Refused for now; `retry_after` seconds from now it may be tried again."""

    status_code = 429

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail, extra={"retry_after": retry_after})
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class ProviderRefused(RebookError):
    """The email relay or Twilio refused a message Rebook sent on the caller's behalf."""

    status_code = 502


class ErrorBody(BaseModel):
    """Every 4xx answer's body."""

    model_config = ConfigDict(extra="allow")

    error: str = Field(description="The kind of error: NotFound, Conflict, ValidationError…")
    detail: str = Field(description="What is wrong, in a sentence meant for a person")


class FieldError(BaseModel):
    field: str = Field(description="The input at fault, e.g. `messaging_config.channels.0`")
    message: str


class ValidationErrorBody(ErrorBody):
    """A 422: the request's input was refused (`ValidationError`, with each field at fault)
    or broke a rule (`InvalidInput`)."""

    errors: list[FieldError] | None = Field(
        default=None, description="Each input at fault (ValidationError only)"
    )


def _field_name(loc: tuple[Any, ...]) -> str:
    # ("body", "messaging_config", "channels", 0) -> "messaging_config.channels.0"
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "form")]
    return ".".join(parts) or str(loc[-1] if loc else "")


def _sentence(error: dict[str, Any]) -> str:
    message = str(error.get("msg", "Invalid value"))
    # Pydantic prefixes errors raised from our own validators with "Value error, ".
    return message.removeprefix("Value error, ").removeprefix("Assertion failed, ")


def validation_response(errors: list[FieldError]) -> JSONResponse:
    """The 422 of input that was refused before any rule ran."""
    detail = "; ".join(f"{e.field}: {e.message}" for e in errors)
    body = {
        "error": "ValidationError",
        "detail": detail,
        "errors": [e.model_dump() for e in errors],
    }
    return JSONResponse(body, status_code=422)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RebookError)
    async def _rebook_error(_: Request, exc: RebookError) -> JSONResponse:
        body = {"error": type(exc).__name__, "detail": exc.detail, **exc.extra}
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(HTTPException)
    async def _http_error(_: Request, exc: HTTPException) -> JSONResponse:
        # Raised by the framework itself (no such path, wrong method, unreadable body): the
        # same body as ours.
        try:
            name = HTTPStatus(exc.status_code).phrase.replace(" ", "").replace("-", "")
        except ValueError:
            name = "Error"
        body = {"error": name, "detail": str(exc.detail)}
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        return validation_response(
            [
                FieldError(field=_field_name(tuple(e.get("loc", ()))), message=_sentence(e))
                for e in exc.errors()
            ]
        )
