from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.security import OAuth2PasswordRequestForm

from rebook.auth import service
from rebook.auth.dependencies import CurrentUser
from rebook.auth.schemas import Me, Token
from rebook.auth.tokens import create_access_token
from rebook.config import get_settings
from rebook.db import SessionDep

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/login", responses={401: {"description": "Incorrect email or password"}})
async def login(
    session: SessionDep, form: Annotated[OAuth2PasswordRequestForm, Depends()]
) -> Token:
    """Exchange an email (`username`) and password for a bearer token."""
    user = await service.authenticate(session, form.username, form.password)
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
