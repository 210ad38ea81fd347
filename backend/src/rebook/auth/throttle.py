"""The login throttle: after `login_max_failures_per_account` wrong passwords within the
window an account answers 429 — even to the right password — until the oldest of them leaves
the window; a client address likewise with its larger limit. State lives in PostgreSQL
(`login_failures`), so it holds across API replicas; a success clears the account's."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from rebook.audit import service as audit
from rebook.config import Settings
from rebook.errors import TooManyRequests
from rebook.models import LoginFailure, User

THROTTLED = "Too many failed logins. Please wait {wait} before trying again."


@dataclass(frozen=True)
class _Scope:
    name: str  # "account" | "address"
    column: InstrumentedAttribute[str] | InstrumentedAttribute[str | None]
    value: str
    limit: int


def _scopes(email: str, ip_address: str | None, settings: Settings) -> list[_Scope]:
    scopes = [_Scope("account", LoginFailure.email, email, settings.login_max_failures_per_account)]
    if ip_address is not None:
        scopes.append(
            _Scope(
                "address",
                LoginFailure.ip_address,
                ip_address,
                settings.login_max_failures_per_address,
            )
        )
    return scopes


async def hold_account(session: AsyncSession, email: str) -> None:
    """Take the account's turn until the transaction ends: concurrent attempts on one
    account are checked and counted one after another, so a burst cannot pass the limit.
    Held only while checking and counting, never while the password is hashed."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
        {"key": f"rebook.login:{email}"},
    )


async def _locked_until(
    session: AsyncSession, scope: _Scope, window: timedelta, now: datetime
) -> datetime | None:
    # While the limit-th most recent failure is inside the window, the scope is locked.
    nth_latest = await session.scalar(
        select(LoginFailure.failed_at)
        .where(scope.column == scope.value, LoginFailure.failed_at > now - window)
        .order_by(LoginFailure.failed_at.desc())
        .offset(scope.limit - 1)
        .limit(1)
    )
    return nth_latest + window if nth_latest is not None else None


def _wait(seconds: int) -> str:
    minutes = math.ceil(seconds / 60)
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


async def ensure_allowed(
    session: AsyncSession, email: str, ip_address: str | None, settings: Settings, now: datetime
) -> None:
    """TooManyRequests (with Retry-After) while the account or the address is locked."""
    window = timedelta(seconds=settings.login_failure_window_seconds)
    until = [
        locked
        for scope in _scopes(email, ip_address, settings)
        if (locked := await _locked_until(session, scope, window, now)) is not None
    ]
    if until:
        retry_after = max(1, math.ceil((max(until) - now).total_seconds()))
        raise TooManyRequests(THROTTLED.format(wait=_wait(retry_after)), retry_after=retry_after)


async def count_attempt(
    session: AsyncSession, email: str, ip_address: str | None, now: datetime
) -> LoginFailure:
    """Count an attempt as a failure before its password is checked (the caller commits),
    so that attempts running at the same time see each other; a success clears it with
    the account's others (`clear_account`)."""
    failure = LoginFailure(email=email, ip_address=ip_address, failed_at=now)
    session.add(failure)
    await session.flush()
    return failure


async def record_failure(
    session: AsyncSession,
    email: str,
    ip_address: str | None,
    user: User | None,
    settings: Settings,
    now: datetime,
) -> None:
    """Write a counted failure to the audit trail, with the lockout it starts."""
    window = timedelta(seconds=settings.login_failure_window_seconds)
    # Rows that left the window count for nothing.
    await session.execute(delete(LoginFailure).where(LoginFailure.failed_at <= now - window))
    owner_id = user.id if user is not None else None
    await audit.record(
        session,
        "auth.login_failed",
        owner_id=owner_id,
        details={"email": email, "known_account": user is not None},
        ip_address=ip_address,
        by_system=True,
    )
    for scope in _scopes(email, ip_address, settings):
        failures = await session.scalar(
            select(func.count())
            .select_from(LoginFailure)
            .where(scope.column == scope.value, LoginFailure.failed_at > now - window)
        )
        if failures == scope.limit:
            locked = await _locked_until(session, scope, window, now)
            await audit.record(
                session,
                "auth.login_locked",
                owner_id=owner_id if scope.name == "account" else None,
                details={
                    "scope": scope.name,
                    "email": email,
                    "failures": failures,
                    "window_seconds": settings.login_failure_window_seconds,
                    "locked_until": locked.isoformat() if locked else None,
                },
                ip_address=ip_address,
                by_system=True,
            )


async def clear_account(session: AsyncSession, email: str) -> None:
    """A success: the account's failures (the attempt's own included) count no more."""
    await session.execute(delete(LoginFailure).where(LoginFailure.email == email))
