from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from rebook.auth import throttle
from rebook.auth.passwords import hash_password_off_loop, verify_password_off_loop
from rebook.config import Settings
from rebook.errors import Conflict
from rebook.models import User, UserRole

LOGIN_FAILED = "Incorrect email or password."


@dataclass(frozen=True)
class LoginAttempt:
    email: str
    ip_address: str | None
    user: User | None


async def begin_login(
    session: AsyncSession, email: str, ip_address: str | None, settings: Settings, now: datetime
) -> LoginAttempt:
    """Check the throttle (TooManyRequests) and count the attempt; the caller commits before
    the password is checked (`finish_login`)."""
    key = email.strip().lower()
    await throttle.hold_account(session, key)
    await throttle.ensure_allowed(session, key, ip_address, settings, now)
    await throttle.count_attempt(session, key, ip_address, now)
    user = await session.scalar(select(User).where(func.lower(User.email) == key))
    return LoginAttempt(email=key, ip_address=ip_address, user=user)


async def finish_login(
    session: AsyncSession, attempt: LoginAttempt, password: str, settings: Settings, now: datetime
) -> User | None:
    """The user whose password this is; None, with the failure in the audit trail, if it is
    not (an unknown email takes as long: it is checked against a dummy hash)."""
    user = attempt.user
    if await verify_password_off_loop(password, user.password_hash if user else None) and user:
        await throttle.clear_account(session, attempt.email)
        return user
    await throttle.record_failure(session, attempt.email, attempt.ip_address, user, settings, now)
    return None


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
        password_hash=await hash_password_off_loop(password),
    )
    session.add(owner)
    await session.flush()
    return owner
