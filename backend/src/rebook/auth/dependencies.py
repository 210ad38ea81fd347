"""Who is calling: `CurrentUser` for any logged-in user, `CurrentOwner` for owner routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from fastapi.security import OAuth2PasswordBearer

from rebook.auth.tokens import read_access_token
from rebook.config import get_settings
from rebook.db import SessionDep
from rebook.errors import Forbidden, Unauthorized
from rebook.models import User, UserRole

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/login", auto_error=False)

NOT_AUTHENTICATED = "Your session is missing or has expired. Please log in again."


async def get_current_user(
    session: SessionDep, token: Annotated[str | None, Depends(oauth2_scheme)]
) -> User:
    user_id = read_access_token(token, get_settings()) if token else None
    user = await session.get(User, user_id) if user_id is not None else None
    if user is None:
        raise Unauthorized(NOT_AUTHENTICATED)
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


async def get_current_business_owner(user: CurrentUser) -> User:
    if user.role != UserRole.business_owner:
        raise Forbidden("This area is for business owners.")
    return user


CurrentOwner = Annotated[User, Depends(get_current_business_owner)]
