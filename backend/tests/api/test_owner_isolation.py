"""The owner-isolation matrix, over every route the app serves (a new route is covered, or
the test names it until it is classified): owner B calling with owner A's campaign,
recipient, place or customer ids gets 404, sees none of A's data, and nothing changes.

An owner route is probed from its OpenAPI operation: each id in its path or query is filled
with A's id (B's own for the others), and the bodies below carry A's ids to B's own
campaign. Routes without ids (lists) must show B none of A's data. Routes that are not an
owner's (`EXEMPT`) say why."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from rebook.auth.dependencies import get_current_business_owner
from rebook.models import User
from rebook.openapi import api_routes, dependency_calls
from tests.factories import auth_headers, create_customer, create_owner, create_place

CAMPAIGNS = "/api/v1/owner/campaigns"


@dataclass
class Ids:
    """One owner's ids, by the names routes give them."""

    campaign_id: list[int]  # a messaging campaign first, then a price reduction
    recipient_id: list[int]
    place_ids: list[int]
    place_id: list[int]
    customer: int
    audience_id: list[int]


Body = Callable[[Ids], dict[str, Any] | None]

# Bodies for the owner routes that take one: each is sent by B with A's ids (to B's own
# campaign), and with B's own ids (to A's campaign).
BODIES: dict[tuple[str, str], list[Body]] = {
    ("POST", CAMPAIGNS): [
        lambda ids: {
            "name": "Intrusion",
            "campaign_type": "price_reduction",
            "place_ids": ids.place_ids,
            "config": {"discount_percent": 10},
        }
    ],
    ("PATCH", CAMPAIGNS + "/{campaign_id}"): [
        lambda ids: {"name": "Hijacked"},
        lambda ids: {"place_ids": ids.place_ids},
    ],
    ("POST", CAMPAIGNS + "/{campaign_id}/recipients"): [
        lambda ids: {"user_ids": [ids.customer]},
        lambda ids: {"select_all": {}},
        lambda ids: {"select_all": {}, "audience": {"visited_place_ids": ids.place_ids}},
        lambda ids: {"select_all": {}, "saved_audience_id": ids.audience_id[0]},
    ],
    ("POST", "/api/v1/owner/audiences"): [
        lambda ids: {"name": "Intrusion", "filters": {"visited_place_ids": ids.place_ids}}
    ],
    ("PATCH", "/api/v1/owner/audiences/{audience_id}"): [
        lambda ids: {"name": "Hijacked"},
        lambda ids: {"filters": {"visited_place_ids": ids.place_ids}},
    ],
    ("POST", CAMPAIGNS + "/{campaign_id}/preview"): [
        lambda ids: None,
        lambda ids: {"user_id": ids.customer},
    ],
    ("POST", CAMPAIGNS + "/{campaign_id}/test-send"): [lambda ids: {"channel": "email"}],
    ("PATCH", "/api/v1/owner/places/{place_id}"): [
        lambda ids: {"reply_to_email": "intruder@example.com"}
    ],
}

# Routes that are not an owner's: nothing of an owner's can be named through them.
EXEMPT: dict[tuple[str, str], str] = {
    ("GET", "/healthz"): "liveness: no data",
    ("POST", "/api/v1/auth/login"): "credentials in, the caller's own token out",
    ("GET", "/api/v1/auth/me"): "the caller's own account, from the token",
    ("POST", "/api/v1/webhooks/twilio/status"): "Twilio's, signed (tests/webhooks)",
    ("POST", "/api/v1/webhooks/twilio/inbound"): "Twilio's, signed (tests/webhooks)",
    ("POST", "/api/v1/webhooks/ses"): "Amazon SNS's, signed (tests/deliverability)",
    ("POST", "/api/v1/webhooks/mailgun"): "Mailgun's, signed (tests/deliverability)",
    ("PUT", "/api/v1/owner/email-sender"): "the caller's own account, from the token",
    ("GET", "/unsubscribe/{token}"): "the signed token is the credential (tests/unsubscribe)",
    ("POST", "/unsubscribe/{token}"): "the signed token is the credential (tests/unsubscribe)",
    ("POST", "/api/v1/owner/whatsapp-templates/refresh"): "the platform's Twilio account's "
    "templates, the same for every owner (tests/whatsapp)",
}

SECRETS = (
    "Alpha-secret-campaign",
    "Alpha-secret-place",
    "Secretia",
    "alpha-secret@",
    "Alpha-secret-audience",
)
SNAPSHOT_TABLES = (
    "campaigns",
    "campaign_places",
    "campaign_messages",
    "campaign_recipients",
    "campaign_deliveries",
    "campaign_delivery_counts",
    "marketing_suppressions",
    "audit_events",
    "outbox_messages",
    "procrastinate_jobs",
    "places",
    "email_suppressions",
    "email_bounces",
    "send_holds",
    "saved_audiences",
)


@dataclass
class Owners:
    a: Ids
    b: Ids
    b_headers: dict[str, str]
    probes: list[str] = field(default_factory=list)


async def _owner_world(client: AsyncClient, session: AsyncSession, tag: str) -> tuple[User, Ids]:
    owner = await create_owner(session)
    place = await create_place(session, owner, name=f"{tag}-secret-place")
    customer = await create_customer(
        session,
        first_name="Secretia" if tag == "Alpha" else "Bea",
        email=f"{tag.lower()}-secret@example.com",
        booked_at=[place],
    )
    place_id, customer_id = place.id, customer.id
    headers = auth_headers(owner)
    messaging = await client.post(
        CAMPAIGNS,
        headers=headers,
        json={
            "name": f"{tag}-secret-campaign",
            "campaign_type": "messaging",
            "place_ids": [place_id],
            "messaging_config": {
                "channels": ["email"],
                "email_subject": "Hello",
                "email_body": "<p>Come back</p>",
            },
        },
    )
    assert messaging.status_code == 201, messaging.text
    campaign_id = messaging.json()["id"]
    added = await client.post(
        f"{CAMPAIGNS}/{campaign_id}/recipients", headers=headers, json={"user_ids": [customer_id]}
    )
    assert added.status_code == 200, added.text
    listed = await client.get(f"{CAMPAIGNS}/{campaign_id}/recipients", headers=headers)
    price = await client.post(
        CAMPAIGNS,
        headers=headers,
        json={
            "name": f"{tag}-secret-campaign price",
            "campaign_type": "price_reduction",
            "place_ids": [place_id],
            "config": {"discount_percent": 20},
        },
    )
    assert price.status_code == 201, price.text
    audience = await client.post(
        "/api/v1/owner/audiences",
        headers=headers,
        json={"name": f"{tag}-secret-audience", "filters": {"min_visits": 1}},
    )
    assert audience.status_code == 201, audience.text
    ids = Ids(
        campaign_id=[campaign_id, price.json()["id"]],
        recipient_id=[listed.json()["items"][0]["id"]],
        place_ids=[place_id],
        place_id=[place_id],
        customer=customer_id,
        audience_id=[audience.json()["id"]],
    )
    return owner, ids


@pytest.fixture
async def owners(client: AsyncClient, session: AsyncSession) -> Owners:
    _, a = await _owner_world(client, session, "Alpha")
    b_owner, b = await _owner_world(client, session, "Bravo")
    return Owners(a=a, b=b, b_headers=auth_headers(b_owner))


async def _snapshot(session: AsyncSession) -> dict[str, list[tuple[Any, ...]]]:
    return {
        table: [tuple(row) for row in (await session.execute(text(f"SELECT * FROM {table}")))]
        for table in SNAPSHOT_TABLES
    }


def _id_values(ids: Ids, name: str) -> list[Any]:
    values = getattr(ids, name)
    # A path or query takes one id; place_ids is a list in the query.
    return [values] if name == "place_ids" else list(values)


def _requests(
    method: str, path: str, operation: dict[str, Any], owners: Owners
) -> list[tuple[str, dict[str, Any], dict[str, Any] | None]]:
    """(url, query, body) of every probe of one owner route: at least one of A's ids each."""
    parameters = [p for p in operation.get("parameters", []) if p["in"] in ("path", "query")]
    id_names = [p["name"] for p in parameters if hasattr(owners.a, p["name"])]
    for p in parameters:
        assert p["name"] in id_names or not p.get("required"), (
            f"{method} {path}: required parameter {p['name']!r} is not an id this matrix "
            "knows; teach it (Ids) or give the route a body in BODIES"
        )
    bodies = BODIES.get((method, path))
    if "requestBody" in operation:
        assert bodies is not None, f"{method} {path} takes a body: add it to BODIES"
    bodies = bodies or [lambda ids: None]
    probes = []
    # Every mix of A's and B's ids over the path and query, with B's own bodies...
    for whose in itertools.product((owners.a, owners.b), repeat=len(id_names)):
        if owners.a not in whose:
            continue
        # All of A's (a messaging campaign and another); B's own messaging campaign.
        choices = [
            _id_values(owner, name) if owner is owners.a else _id_values(owner, name)[:1]
            for owner, name in zip(whose, id_names, strict=True)
        ]
        for values in itertools.product(*choices):
            probes += [(values, body(owners.b)) for body in bodies]
    # ...and B's own path and query with A's ids in the body.
    own = [_id_values(owners.b, name)[0] for name in id_names]
    probes += [(own, body(owners.a)) for body in bodies if body(owners.a) != body(owners.b)]

    requests = []
    for values, body in probes:
        url, query = path, {}
        for name, value in zip(id_names, values, strict=True):
            if f"{{{name}}}" in url:
                url = url.replace(f"{{{name}}}", str(value))
            else:
                query[name] = value
        requests.append((url, query, body))
    return requests


async def test_owner_b_gets_404_and_nothing_with_owner_as_ids_on_every_route(
    app: FastAPI, client: AsyncClient, session: AsyncSession, owners: Owners
) -> None:
    schema = app.openapi()
    before = await _snapshot(session)
    unclassified, probed, listed = [], 0, 0
    for route in api_routes(app.routes):
        for method in sorted(route.methods or ()):
            key = (method, route.path_format)
            if key in EXEMPT:
                continue
            if get_current_business_owner not in dependency_calls(route.dependant):
                unclassified.append(f"{method} {route.path_format}")
                continue
            operation = schema["paths"][route.path_format][method.lower()]
            requests = _requests(method, route.path_format, operation, owners)
            if not requests:
                # No ids anywhere: a list, which must hold none of A's data.
                assert method == "GET", f"{key} names no id: what does it act on?"
                response = await client.request(method, route.path_format, headers=owners.b_headers)
                assert response.status_code == 200, (key, response.text)
                assert not any(s in response.text for s in SECRETS), (key, response.text)
                listed += 1
                continue
            for url, query, body in requests:
                response = await client.request(
                    method, url, params=query, json=body, headers=owners.b_headers
                )
                where = f"{method} {url} {query} {body}"
                assert response.status_code == 404, (where, response.status_code, response.text)
                assert response.json()["error"] == "NotFound", where
                assert not any(s in response.text for s in SECRETS), (where, response.text)
                probed += 1
    assert not unclassified, f"classify these routes (owner-scoped, or EXEMPT): {unclassified}"
    assert await _snapshot(session) == before
    # The matrix really ran: every owner route with ids, several mixes each.
    print(f"isolation matrix: {probed} probes, {listed} lists")  # noqa: T201
    assert probed >= 30, probed
    assert listed >= 3, listed
