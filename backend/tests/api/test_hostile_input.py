"""Hostile input is a clear 4xx that changes nothing, never a 500: ids beyond the id columns,
absurd pages, text PostgreSQL cannot store, tokens and cursors carrying such ids; and the
schema describes the answers the API really gives."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from rebook.auth.tokens import ALGORITHM
from rebook.config import get_settings
from rebook.models import Campaign, Place, User
from rebook.unsubscribe.tokens import UnsubscribeTarget, make_token
from tests.factories import auth_headers, create_customer, create_owner, create_place

CAMPAIGNS = "/api/v1/owner/campaigns"
TOO_BIG = 2**31  # one past the largest integer id


@pytest.fixture
async def owner(session: AsyncSession) -> User:
    return await create_owner(session)


@pytest.fixture
async def place(session: AsyncSession, owner: User) -> Place:
    return await create_place(session, owner)


def messaging(place_id: int, **config: Any) -> dict[str, Any]:
    return {
        "name": config.pop("name", "Spring"),
        "campaign_type": "messaging",
        "place_ids": [place_id],
        "messaging_config": {
            "channels": ["email"],
            "email_subject": "Hello",
            "email_body": "<p>Hi</p>",
            **config,
        },
    }


def assert_refused(response: Any, field: str, message_part: str) -> None:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "ValidationError"
    assert isinstance(body["detail"], str)
    assert any(e["field"] == field and message_part in e["message"] for e in body["errors"]), body


async def campaign_count(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(Campaign)) or 0)


class TestIdsBeyondTheColumns:
    @pytest.mark.parametrize(
        ("method", "url", "message"),
        [
            ("GET", f"{CAMPAIGNS}/{TOO_BIG}", "less than or equal to 2147483647"),
            ("PATCH", f"{CAMPAIGNS}/{TOO_BIG}", "less than or equal to 2147483647"),
            ("GET", f"{CAMPAIGNS}/{TOO_BIG}/recipients", "less than or equal to 2147483647"),
            ("POST", f"{CAMPAIGNS}/{TOO_BIG}/send", "less than or equal to 2147483647"),
            ("GET", f"{CAMPAIGNS}/0", "greater than or equal to 1"),
        ],
    )
    async def test_a_path_id_is_a_422(
        self, client: AsyncClient, owner: User, method: str, url: str, message: str
    ) -> None:
        response = await client.request(method, url, json={}, headers=auth_headers(owner))
        assert_refused(response, "campaign_id", message)

    async def test_a_query_id_is_a_422(self, client: AsyncClient, owner: User) -> None:
        response = await client.get(
            f"{CAMPAIGNS}/messaging/customers",
            params={"place_ids": [1, TOO_BIG]},
            headers=auth_headers(owner),
        )
        assert_refused(response, "place_ids.1", "less than or equal to 2147483647")

    async def test_body_ids_are_a_422_and_nothing_is_created(
        self, client: AsyncClient, session: AsyncSession, owner: User, place: Place
    ) -> None:
        payload = messaging(place.id)
        payload["place_ids"] = [place.id, TOO_BIG]
        response = await client.post(CAMPAIGNS, json=payload, headers=auth_headers(owner))
        assert_refused(response, "place_ids.1", "less than or equal to 2147483647")
        assert await campaign_count(session) == 0

        created = await client.post(
            CAMPAIGNS, json=messaging(place.id), headers=auth_headers(owner)
        )
        url = f"{CAMPAIGNS}/{created.json()['id']}"
        added = await client.post(
            f"{url}/recipients", json={"user_ids": [TOO_BIG]}, headers=auth_headers(owner)
        )
        assert_refused(added, "user_ids.0", "less than or equal to 2147483647")
        excluded = await client.post(
            f"{url}/recipients",
            json={"select_all": {"exclude_user_ids": [TOO_BIG]}},
            headers=auth_headers(owner),
        )
        assert_refused(excluded, "select_all.exclude_user_ids.0", "less than or equal")
        preview = await client.post(
            f"{url}/preview", json={"user_id": TOO_BIG}, headers=auth_headers(owner)
        )
        assert_refused(preview, "user_id", "less than or equal to 2147483647")

    async def test_a_webhook_delivery_id_is_refused(self, client: AsyncClient) -> None:
        response = await client.post(
            f"/api/v1/webhooks/twilio/status?delivery_id={TOO_BIG}",
            data={"MessageSid": "SM1", "MessageStatus": "failed"},
        )
        assert response.status_code in (403, 422)  # unsigned: refused before anything


class TestPages:
    async def test_an_absurd_page_is_a_422(self, client: AsyncClient, owner: User) -> None:
        for url in (CAMPAIGNS, "/api/v1/owner/outbox"):
            response = await client.get(
                url, params={"page": "999999999999999999"}, headers=auth_headers(owner)
            )
            assert_refused(response, "page", "less than or equal to 1000000")

    async def test_the_last_allowed_page_is_simply_empty(
        self, client: AsyncClient, owner: User
    ) -> None:
        response = await client.get(
            CAMPAIGNS, params={"page": 1_000_000, "limit": 200}, headers=auth_headers(owner)
        )
        assert response.status_code == 200
        assert response.json()["items"] == []


class TestTextPostgresCannotStore:
    async def test_nul_in_the_login_form_is_a_422(self, client: AsyncClient) -> None:
        response = await client.post(
            "/api/v1/auth/login",
            content=b"username=a%00b&password=x",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert_refused(response, "username", "NUL")

    async def test_nul_in_a_query_is_a_422(
        self, client: AsyncClient, owner: User, place: Place
    ) -> None:
        response = await client.get(
            f"{CAMPAIGNS}/messaging/customers?place_ids={place.id}&search=a%00b",
            headers=auth_headers(owner),
        )
        assert_refused(response, "search", "NUL")

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"name": "Spring\u0000"}, "name"),
            ({"email_subject": "Hi\u0000there"}, "messaging_config.email_subject"),
            ({"email_body": "<p>\ud800</p>"}, "messaging_config.email_body"),
            (
                {"whatsapp_content_variables": {"1\u0000": "x"}},
                "messaging_config.whatsapp_content_variables",
            ),
        ],
    )
    async def test_nul_or_a_lone_surrogate_in_json_is_a_422_and_nothing_is_created(
        self,
        client: AsyncClient,
        session: AsyncSession,
        owner: User,
        place: Place,
        change: dict[str, Any],
        field: str,
    ) -> None:
        payload = messaging(place.id, **change)
        if "name" in change:
            payload["name"] = change["name"]
        response = await client.post(
            CAMPAIGNS,
            content=json.dumps(payload).encode(),  # \u escapes, as a client sends them
            headers={**auth_headers(owner), "Content-Type": "application/json"},
        )
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == field
        assert await campaign_count(session) == 0

    async def test_an_escaped_backslash_before_u0000_is_plain_text(
        self, client: AsyncClient, owner: User, place: Place
    ) -> None:
        # The six characters \u0000, not a NUL: PostgreSQL stores them.
        response = await client.post(
            CAMPAIGNS,
            json=messaging(place.id, name="Spring \\u0000"),
            headers=auth_headers(owner),
        )
        assert response.status_code == 201, response.text
        assert response.json()["name"] == "Spring \\u0000"

    async def test_nul_in_a_path_is_a_422(self, client: AsyncClient) -> None:
        response = await client.get("/unsubscribe/abc%00def")
        assert_refused(response, "path", "NUL")


class TestTokensCarryingIds:
    async def test_an_access_token_for_an_impossible_id_is_a_401(self, client: AsyncClient) -> None:
        token = jwt.encode(
            {"sub": str(TOO_BIG), "exp": datetime.now(UTC) + timedelta(hours=1), "typ": "access"},
            get_settings().secret_key,
            algorithm=ALGORITHM,
        )
        response = await client.get(
            "/api/v1/owner/places", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 401

    async def test_an_unsubscribe_token_for_an_impossible_id_is_the_invalid_page(
        self, client: AsyncClient
    ) -> None:
        token = make_token(UnsubscribeTarget(1, TOO_BIG, "email"), get_settings())
        for method in ("GET", "POST"):
            response = await client.request(method, f"/unsubscribe/{token}")
            assert response.status_code == 400, response.text

    async def test_a_cursor_carrying_an_impossible_id_or_a_nul_is_a_422(
        self, client: AsyncClient, session: AsyncSession, owner: User, place: Place
    ) -> None:
        await create_customer(session, booked_at=[place])
        for key in (["Client", "Camille", TOO_BIG], ["Cli\u0000ent", "Camille", 1]):
            cursor = base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")
            response = await client.get(
                f"{CAMPAIGNS}/messaging/customers",
                params={"place_ids": place.id, "cursor": cursor},
                headers=auth_headers(owner),
            )
            assert response.status_code == 422, response.text
            assert response.json()["detail"].startswith("cursor:")


class TestFrameworkAnswers:
    async def test_no_such_route_and_wrong_method_have_our_error_body(
        self, client: AsyncClient
    ) -> None:
        missing = await client.get("/api/v1/nothing-here")
        assert missing.status_code == 404
        assert missing.json() == {"error": "NotFound", "detail": "Not Found"}
        wrong = await client.put("/api/v1/auth/login")
        assert wrong.status_code == 405
        assert wrong.json()["error"] == "MethodNotAllowed"

    async def test_an_unreadable_json_body_is_a_4xx(self, client: AsyncClient, owner: User) -> None:
        response = await client.post(
            CAMPAIGNS,
            content=b"[" * 100_000,
            headers={**auth_headers(owner), "Content-Type": "application/json"},
        )
        assert 400 <= response.status_code < 500
        assert "error" in response.json()


class TestTheSchemaDescribesTheAnswers:
    def test_every_422_is_our_body_with_a_string_detail(self, app: FastAPI) -> None:
        schema = app.openapi()
        components = schema["components"]["schemas"]
        assert "HTTPValidationError" not in components
        body = components["ValidationErrorBody"]
        assert body["properties"]["detail"]["type"] == "string"
        for path, operations in schema["paths"].items():
            for method, operation in operations.items():
                answer = operation["responses"]["422"]["content"]["application/json"]
                assert answer["schema"] == {"$ref": "#/components/schemas/ValidationErrorBody"}, (
                    method,
                    path,
                )

    def test_owner_routes_document_401_and_403_and_login_documents_429(self, app: FastAPI) -> None:
        paths = app.openapi()["paths"]
        for operation in paths[CAMPAIGNS + "/{campaign_id}"].values():
            assert {"401", "403", "404"} <= set(operation["responses"])
        login = paths["/api/v1/auth/login"]["post"]["responses"]
        assert {"401", "422", "429"} <= set(login)
        assert "Retry-After" in login["429"]["headers"]
