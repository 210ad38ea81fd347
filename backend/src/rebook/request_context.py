from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


ClientIP = Annotated[str | None, Depends(client_ip)]


def utc_now() -> datetime:
    """The request's clock (tests move it)."""
    return datetime.now(UTC)


Now = Annotated[datetime, Depends(utc_now)]
