from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from rebook.auth.passwords import hash_password, verify_password
from rebook.errors import Conflict, Unauthorized
from rebook.models import User, UserRole

LOGIN_FAILED = "Incorrect email or password."


async def authenticate(session: AsyncSession, email: str, password: str) -> User:
    user = await session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if not verify_password(password, user.password_hash if user else None) or user is None:
        raise Unauthorized(LOGIN_FAILED)
    return user


async def create_owner(
    session: AsyncSession, *, email: str, password: str, first_name: str, last_name: str
) -> User:
    existing = await session.scalar(select(User.id).where(func.lower(User.email) == email.lower()))
    if existing is not None:
        raise Conflict(f"A user with the email {email} already exists.")
    owner = User(
        email=email.strip(),
        first_name=first_name,
        last_name=last_name,
        role=UserRole.business_owner,
        password_hash=hash_password(password),
    )
    session.add(owner)
    await session.flush()
    return owner
