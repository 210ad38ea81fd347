"""The login throttle: wrong passwords lock an account (and, at a higher count, an address)
for the rest of the window, on a clock the test moves; failures and lockouts are audited."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from httpx import AsyncClient, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from rebook.config import get_settings
from rebook.models import AuditEvent, User
from rebook.request_context import utc_now
from tests.factories import PASSWORD, create_owner

LOGIN = "/api/v1/auth/login"
WINDOW = timedelta(seconds=get_settings().login_failure_window_seconds)
START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
LogIn = Callable[[str, str], Awaitable[Response]]


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(app: FastAPI) -> Clock:
    clock = Clock()
    app.dependency_overrides[utc_now] = clock
    return clock


@pytest.fixture
def log_in(client: AsyncClient) -> LogIn:
    async def log_in(email: str, password: str) -> Response:
        return await client.post(LOGIN, data={"username": email, "password": password})

    return log_in


async def audit_actions(
    session: AsyncSession, owner_id: int
) -> list[tuple[str, dict[str, object]]]:
    rows = await session.execute(
        select(AuditEvent.action, AuditEvent.details)
        .where(AuditEvent.owner_id == owner_id)
        .order_by(AuditEvent.id)
    )
    return [(action, details) for action, details in rows.all()]


class TestAccountLockout:
    async def test_the_sixth_wrong_password_is_429_even_with_the_right_one_until_the_window_passes(
        self, session: AsyncSession, clock: Clock, log_in: LogIn
    ) -> None:
        owner = await create_owner(session, password=PASSWORD)
        email = owner.email
        assert email is not None
        for _ in range(5):
            wrong = await log_in(email, "wrong")
            assert wrong.status_code == 401
            clock.now += timedelta(seconds=10)

        # Locked: the right password is refused too, with the time left.
        sixth = await log_in(email, PASSWORD)
        assert sixth.status_code == 429
        # The first failure (at START) leaves the window at START + WINDOW.
        left = (START + WINDOW - clock.now).total_seconds()
        assert sixth.headers["Retry-After"] == str(int(left))
        assert sixth.json()["error"] == "TooManyRequests"
        assert "Too many failed logins" in sixth.json()["detail"]

        clock.now = START + WINDOW - timedelta(seconds=1)
        still = await log_in(email.upper(), PASSWORD)
        assert still.status_code == 429
        assert still.headers["Retry-After"] == "1"

        clock.now = START + WINDOW
        after = await log_in(email, PASSWORD)
        assert after.status_code == 200
        assert after.json()["token_type"] == "bearer"

    async def test_a_success_resets_the_count(
        self, session: AsyncSession, clock: Clock, log_in: LogIn
    ) -> None:
        owner = await create_owner(session, password=PASSWORD)
        email = owner.email
        for _ in range(4):
            assert (await log_in(email, "wrong")).status_code == 401
        assert (await log_in(email, PASSWORD)).status_code == 200
        for _ in range(4):
            assert (await log_in(email, "wrong")).status_code == 401
        assert (await log_in(email, PASSWORD)).status_code == 200

    async def test_unknown_emails_are_throttled_alike(self, clock: Clock, log_in: LogIn) -> None:
        answers = [(await log_in("nobody@example.com", "guess")).status_code for _ in range(6)]
        assert answers == [401] * 5 + [429]

    async def test_failures_and_the_lockout_are_in_the_audit_trail(
        self, session: AsyncSession, clock: Clock, log_in: LogIn
    ) -> None:
        owner = await create_owner(session, password=PASSWORD)
        owner_id, email = owner.id, owner.email
        for _ in range(6):
            await log_in(email, "wrong")

        actions = await audit_actions(session, owner_id)
        assert [a for a, _ in actions] == ["auth.login_failed"] * 5 + ["auth.login_locked"]
        assert actions[0][1] == {"email": email, "known_account": True}
        locked = actions[-1][1]
        assert locked["scope"] == "account"
        assert locked["failures"] == 5
        assert locked["locked_until"] == (START + WINDOW).isoformat()
        event = await session.scalar(
            select(AuditEvent).where(AuditEvent.owner_id == owner_id).limit(1)
        )
        assert event is not None
        assert event.ip_address == "203.0.113.7"
        assert event.actor_user_id is None  # whoever typed it is not known to be the owner


class TestAddressLockout:
    async def test_one_address_trying_many_accounts_is_throttled(
        self, clock: Clock, log_in: LogIn, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("LOGIN_MAX_FAILURES_PER_ADDRESS", "8")
        get_settings.cache_clear()
        try:
            answers = [
                (await log_in(f"spray{i}@example.com", "Winter2026!")).status_code for i in range(9)
            ]
        finally:
            get_settings.cache_clear()
        assert answers == [401] * 8 + [429]


class TestHostileForm:
    async def test_an_overlong_username_is_a_422_and_counts_nothing(
        self, session: AsyncSession, clock: Clock, log_in: LogIn
    ) -> None:
        response = await log_in("a" * 300 + "@example.com", "x")
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "username"
        assert await session.scalar(select(User.id).where(User.email.like("aaaa%"))) is None
