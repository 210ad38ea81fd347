"""What every request input is held to, so hostile input is a clear 422 and never reaches
PostgreSQL as a 500:

- `Id`: every id a request names (path, query, body) fits the id columns (`integer`);
  `parse_id` does the same for ids decoded from our own tokens and cursors.
- `StorableTextGuard`: no string anywhere in a request (path, query, JSON or form body) may
  hold what PostgreSQL text and jsonb cannot store — NUL, or a lone UTF-16 surrogate. It runs
  before routing, so no endpoint can forget it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Annotated, Any
from urllib.parse import parse_qsl

from pydantic import Field
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rebook.errors import FieldError, validation_response

# The id columns are PostgreSQL `integer`.
MAX_ID = 2**31 - 1

Id = Annotated[int, Field(ge=1, le=MAX_ID, description="An id", examples=[1])]


def parse_id(value: str | int) -> int:
    """An id read from a token or cursor; ValueError when it is not one a column can hold."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError("not an id")
    number = int(value)
    if not 1 <= number <= MAX_ID:
        raise ValueError("id out of range")
    return number


NUL_MESSAGE = "must not contain the NUL character (\\u0000)"
SURROGATE_MESSAGE = "must be valid Unicode text (it holds a lone surrogate)"


def unstorable(text: str) -> str | None:
    """Why PostgreSQL could not store `text`, or None when it can."""
    if "\x00" in text:
        return NUL_MESSAGE
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return SURROGATE_MESSAGE
    return None


def _pairs_problems(pairs: list[tuple[str, str]]) -> Iterator[FieldError]:
    for name, value in pairs:
        if (message := unstorable(name)) is not None:
            yield FieldError(field="(a parameter's name)", message=message)
        elif (message := unstorable(value)) is not None:
            yield FieldError(field=name, message=message)


def _json_problems(document: Any) -> Iterator[FieldError]:
    # Iterative: a deeply nested document must not exhaust the stack.
    stack: list[tuple[Any, tuple[str, ...]]] = [(document, ())]
    while stack:
        value, path = stack.pop()
        if isinstance(value, str):
            if (message := unstorable(value)) is not None:
                yield FieldError(field=".".join(path) or "body", message=message)
        elif isinstance(value, dict):
            for key, item in value.items():
                if (message := unstorable(key)) is not None:
                    yield FieldError(field=".".join(path) or "body", message=f"a key {message}")
                else:
                    stack.append((item, (*path, key)))
        elif isinstance(value, list):
            stack.extend((item, (*path, str(i))) for i, item in enumerate(value))


def _body_problems(body: bytes, content_type: str) -> list[FieldError]:
    if content_type.startswith("application/x-www-form-urlencoded"):
        # As Starlette reads it.
        return list(_pairs_problems(parse_qsl(body.decode("latin-1"), keep_blank_values=True)))
    if content_type.startswith("multipart/"):
        # No endpoint takes files: a NUL byte can only be meant for a text field.
        return [FieldError(field="body", message=NUL_MESSAGE)] if b"\x00" in body else []
    # JSON (FastAPI reads a body without a content type as JSON too). A raw NUL or lone
    # surrogate is not valid JSON, so only the \u escapes can smuggle one in.
    if b"\\u" not in body:
        return []
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return []  # not JSON: FastAPI answers that one
    return list(_json_problems(document))


class StorableTextGuard:
    """ASGI middleware: a request carrying text PostgreSQL cannot store gets a 422 naming the
    field, before any handler runs."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        problems: list[FieldError] = []
        if (message := unstorable(scope["path"])) is not None:
            problems.append(FieldError(field="path", message=message))
        query = scope.get("query_string", b"").decode("latin-1")
        problems += _pairs_problems(parse_qsl(query, keep_blank_values=True))
        if not problems and scope["method"] in ("POST", "PUT", "PATCH", "DELETE"):
            body, receive = await _buffered(receive)
            content_type = ""
            for name, value in scope["headers"]:
                if name == b"content-type":
                    content_type = value.decode("latin-1").lower()
            problems += _body_problems(body, content_type)
        if problems:
            await validation_response(problems)(scope, receive, send)
            return
        await self.app(scope, receive, send)


async def _buffered(receive: Receive) -> tuple[bytes, Receive]:
    """The whole request body, and a `receive` that hands it to the app once more."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"", _replaying(message, receive)
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    return body, _replaying({"type": "http.request", "body": body, "more_body": False}, receive)


def _replaying(first: Message, receive: Receive) -> Receive:
    pending = [first]

    async def replay() -> Message:
        return pending.pop() if pending else await receive()

    return replay
