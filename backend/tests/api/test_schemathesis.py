"""schemathesis over the app's own OpenAPI: every operation, valid and invalid input,
authenticated as the demo owner on a database seeded with the demo data and campaigns. No
answer may be a 5xx, and every answer must be one the schema documents, in the documented
shape (status code, content type, headers, body)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from httpx import ASGITransport, AsyncClient
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from rebook.app import create_app
from rebook.auth.tokens import create_access_token
from rebook.config import get_settings
from rebook.demo import DEMO_OWNER_EMAIL, seed_demo
from rebook.models import Place, User
from tests.private_app import dispose_loop_engine, private_database, use_database, without_lifespan

# Examples per operation and phase: ~2,000 cases over the 25 operations in about a minute.
MAX_EXAMPLES = 40

APP = create_app(frontend_dist=None)
schema = schemathesis.openapi.from_asgi(
    "/openapi.json",
    without_lifespan(APP),
    config=schemathesis.Config.from_dict(
        {
            "seed": 20261201,
            "generation": {"max-examples": MAX_EXAMPLES, "deterministic": False},
            "phases": {"stateful": {"enabled": False}},
        }
    ),
)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
CASES: dict[str, int] = {}


async def _seed(app: Any, database_url: str) -> int:
    engine = create_async_engine(database_url)
    async with engine.begin() as conn:
        session = AsyncSession(bind=conn)
        await seed_demo(session, customers=60)
        owner_id = await session.scalar(select(User.id).where(User.email == DEMO_OWNER_EMAIL))
        place_ids = list(await session.scalars(select(Place.id).where(Place.owner_id == owner_id)))
    await engine.dispose()
    assert owner_id is not None
    headers = {"Authorization": f"Bearer {create_access_token(owner_id, get_settings())}"}
    # A few campaigns made through the API, so ids 1, 2, 3… name real ones.
    transport = ASGITransport(app=app)
    async with AsyncClient(transport=transport, base_url="http://seed") as client:
        for channels in (["email"], ["email", "whatsapp"]):
            created = await client.post(
                "/api/v1/owner/campaigns",
                headers=headers,
                json={
                    "name": "Spring",
                    "campaign_type": "messaging",
                    "place_ids": place_ids,
                    "messaging_config": {
                        "channels": channels,
                        "email_subject": "Hello {{ first_name }}",
                        "email_body": "<p>Come back</p>",
                        "whatsapp_message": "Come back" if "whatsapp" in channels else None,
                    },
                },
            )
            assert created.status_code == 201, created.text
            added = await client.post(
                f"/api/v1/owner/campaigns/{created.json()['id']}/recipients",
                headers=headers,
                json={"select_all": {}},
            )
            assert added.status_code == 200, added.text
        created = await client.post(
            "/api/v1/owner/campaigns",
            headers=headers,
            json={
                "name": "Autumn",
                "campaign_type": "price_reduction",
                "place_ids": place_ids[:1],
                "config": {"discount_percent": 20},
            },
        )
        assert created.status_code == 201, created.text
    await dispose_loop_engine(app)
    return owner_id


@pytest.fixture(scope="module")
def owner_headers(database_url: str) -> Iterator[dict[str, str]]:
    with private_database(database_url, "fuzz") as url:
        use_database(APP, url)
        owner_id = asyncio.run(_seed(APP, url))
        yield {"Authorization": f"Bearer {create_access_token(owner_id, get_settings())}"}
        total = sum(CASES.values())
        print(f"\nschemathesis: {total} cases over {len(CASES)} operations")  # noqa: T201


@schema.parametrize()
def test_no_server_error_and_every_answer_documented(
    case: schemathesis.Case, owner_headers: dict[str, str]
) -> None:
    CASES[case.operation.label] = CASES.get(case.operation.label, 0) + 1
    case.call_and_validate(headers=owner_headers, checks=CHECKS)
