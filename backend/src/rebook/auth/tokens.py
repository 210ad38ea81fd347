"""Signed JWT access tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt

from rebook.config import Settings
from rebook.inputs import parse_id

ALGORITHM = "HS256"


def create_access_token(user_id: int, settings: Settings) -> str:
    now = datetime.now(UTC)
    claims = {
        "sub": str(user_id),
        "iat": now,
        "exp": now + timedelta(minutes=settings.access_token_minutes),
        "typ": "access",
    }
    return jwt.encode(claims, settings.secret_key, algorithm=ALGORITHM)


def read_access_token(token: str, settings: Settings) -> int | None:
    """The user id in a valid, unexpired access token, else None."""
    try:
        claims = jwt.decode(
            token, settings.secret_key, algorithms=[ALGORITHM], options={"require": ["exp", "sub"]}
        )
    except jwt.PyJWTError:
        return None
    if claims.get("typ") != "access":
        return None
    try:
        return parse_id(claims["sub"])
    except ValueError:
        return None
