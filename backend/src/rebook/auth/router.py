from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form

from rebook.auth import service
from rebook.auth.dependencies import CurrentUser
from rebook.auth.schemas import Me, Token
from rebook.auth.tokens import create_access_token
from rebook.config import get_settings
from rebook.db import SessionDep
from rebook.errors import Unauthorized
from rebook.request_context import ClientIP, Now

router = APIRouter(prefix="/auth", tags=["auth"])

LOGIN_RESPONSES: dict[int | str, dict[str, object]] = {
    401: {"description": "Incorrect email or password"},
    429: {
        "description": "Too many failed logins for this account or address",
        "headers": {
            "Retry-After": {
                "description": "Seconds until a login may be tried again",
                "schema": {"type": "integer"},
            }
        },
    },
}


@router.post("/login", responses=LOGIN_RESPONSES)
async def login(
    session: SessionDep,
    username: Annotated[str, Form(max_length=254, description="The account's email")],
    password: Annotated[str, Form(max_length=1024)],
    ip: ClientIP,
    now: Now,
) -> Token:
    """Exchange an email (`username`) and password for a bearer token (the OAuth2 password
    flow's form)."""
    settings = get_settings()
    attempt = await service.begin_login(session, username, ip, settings, now)
    # Committed before argon2 runs: concurrent attempts see this one counted, and no
    # connection is held while the hash is checked.
    await session.commit()
    user = await service.finish_login(session, attempt, password, settings, now)
    if user is None:
        await session.commit()  # the failure stays recorded although the answer is a 401
        raise Unauthorized(service.LOGIN_FAILED)
    return Token(access_token=create_access_token(user.id, get_settings()))


@router.get("/me")
async def read_me(user: CurrentUser) -> Me:
    return Me(
        id=user.id,
        email=user.email,
        first_name=user.first_name,
        last_name=user.last_name,
        role=user.role.value,
    )
