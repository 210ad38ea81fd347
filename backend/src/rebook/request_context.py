from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request

# Longer user agents are cut: they are kept to recognise a device, not to be parsed.
USER_AGENT_MAX = 300


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


ClientIP = Annotated[str | None, Depends(client_ip)]


@dataclass(frozen=True)
class Origin:
    """Where a request came from, as the audit trail records it."""

    ip_address: str | None = None
    user_agent: str | None = None


def client_origin(request: Request) -> Origin:
    agent = request.headers.get("user-agent")
    return Origin(
        ip_address=client_ip(request),
        user_agent=agent.replace("\x00", "")[:USER_AGENT_MAX] if agent else None,
    )


ClientOrigin = Annotated[Origin, Depends(client_origin)]


def utc_now() -> datetime:
    """The request's clock (tests move it)."""
    return datetime.now(UTC)


Now = Annotated[datetime, Depends(utc_now)]
