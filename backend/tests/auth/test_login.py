from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from rebook.auth.tokens import ALGORITHM
from rebook.config import get_settings
from tests.factories import PASSWORD, auth_headers, create_customer, create_owner

GENERIC = "Incorrect email or password."


class TestLogin:
    async def test_owner_logs_in_and_reaches_owner_routes(
        self, client: AsyncClient, session: AsyncSession
    ) -> None:
        owner = await create_owner(session, password=PASSWORD)
        response = await client.post(
            "/api/v1/auth/login", data={"username": owner.email.upper(), "password": PASSWORD}
        )
        assert response.status_code == 200
        token = response.json()["access_token"]
        assert response.json()["token_type"] == "bearer"

        me = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert me.json()["email"] == owner.email
        assert me.json()["role"] == "business_owner"

    async def test_wrong_password_and_unknown_email_get_the_same_generic_401(
        self, client: AsyncClient, session: AsyncSession
    ) -> None:
        owner = await create_owner(session, password=PASSWORD)
        wrong = await client.post(
            "/api/v1/auth/login", data={"username": owner.email, "password": "nope"}
        )
        unknown = await client.post(
            "/api/v1/auth/login", data={"username": "nobody@example.com", "password": PASSWORD}
        )
        for response in (wrong, unknown):
            assert response.status_code == 401
            assert response.json() == {"error": "Unauthorized", "detail": GENERIC}

    async def test_missing_form_fields_are_a_422_naming_them(self, client: AsyncClient) -> None:
        response = await client.post("/api/v1/auth/login", data={"username": "a@b.c"})
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "password"


class TestTokens:
    async def test_no_token_is_401(self, client: AsyncClient) -> None:
        response = await client.get("/api/v1/owner/places")
        assert response.status_code == 401
        assert "log in" in response.json()["detail"]

    async def test_expired_token_is_401(self, client: AsyncClient, session: AsyncSession) -> None:
        owner = await create_owner(session)
        past = datetime.now(UTC) - timedelta(hours=1)
        token = jwt.encode(
            {"sub": str(owner.id), "exp": past, "typ": "access"},
            get_settings().secret_key,
            algorithm=ALGORITHM,
        )
        response = await client.get(
            "/api/v1/owner/places", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 401

    async def test_forged_token_is_401(self, client: AsyncClient, session: AsyncSession) -> None:
        owner = await create_owner(session)
        token = jwt.encode(
            {"sub": str(owner.id), "exp": datetime.now(UTC) + timedelta(hours=1), "typ": "access"},
            "someone-elses-key-that-is-long-enough",
            algorithm=ALGORITHM,
        )
        response = await client.get(
            "/api/v1/owner/places", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 401

    async def test_customer_token_on_owner_routes_is_403(
        self, client: AsyncClient, session: AsyncSession
    ) -> None:
        customer = await create_customer(session)
        response = await client.get("/api/v1/owner/campaigns", headers=auth_headers(customer))
        assert response.status_code == 403
        assert response.json()["detail"] == "This area is for business owners."
