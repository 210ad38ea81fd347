"""Saved audiences and presets with live counts; the bookings read API; both owner-scoped."""

from __future__ import annotations

from httpx import AsyncClient

from tests.audiences.conftest import History
from tests.factories import auth_headers

AUDIENCES = "/api/v1/owner/audiences"


async def test_presets_come_with_their_live_counts(client: AsyncClient, history: History) -> None:
    response = await client.get(AUDIENCES, headers=history.headers)
    assert response.status_code == 200
    counts = {p["name"]: p["count"] for p in response.json()["presets"]}
    assert counts == {
        "Regulars overdue": 1,  # lapsed
        "Haven't visited in 90 days": 3,  # lapsed, twice, stale (once has a booking)
        "One visit only": 1,  # stale (once has a booking)
        "Top spenders": 1,  # big
    }


async def test_save_reuse_rename_and_delete(client: AsyncClient, history: History) -> None:
    h = history
    created = await client.post(
        AUDIENCES,
        json={"name": "Hair lapsed", "filters": {"categories": ["Hair"], "min_visits": 2}},
        headers=h.headers,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["count"], body["key"]) == (2, f"saved:{body['id']}")  # regular, twice
    listed = await client.get(AUDIENCES, params={"place_ids": [h.london.id]}, headers=h.headers)
    assert [(a["name"], a["count"]) for a in listed.json()["saved"]] == [("Hair lapsed", 1)]

    taken = await client.post(
        AUDIENCES, json={"name": "Hair lapsed", "filters": {}}, headers=h.headers
    )
    assert taken.status_code == 409
    renamed = await client.patch(
        f"{AUDIENCES}/{body['id']}", json={"name": "Hair regulars"}, headers=h.headers
    )
    assert renamed.json()["name"] == "Hair regulars"
    assert (await client.delete(f"{AUDIENCES}/{body['id']}", headers=h.headers)).status_code == 204
    gone = await client.get(f"{AUDIENCES}/{body['id']}", headers=h.headers)
    assert gone.status_code == 404


async def test_another_owners_audience_is_not_found(client: AsyncClient, history: History) -> None:
    h = history
    created = await client.post(
        AUDIENCES, json={"name": "Mine", "filters": {"overdue": True}}, headers=h.headers
    )
    rival = auth_headers(h.rival)
    audience_id = created.json()["id"]
    assert (await client.get(f"{AUDIENCES}/{audience_id}", headers=rival)).status_code == 404
    changed = await client.patch(f"{AUDIENCES}/{audience_id}", json={"name": "x"}, headers=rival)
    assert changed.status_code == 404
    assert (await client.delete(f"{AUDIENCES}/{audience_id}", headers=rival)).status_code == 404
    assert (await client.get(AUDIENCES, headers=rival)).json()["saved"] == []


async def test_a_saved_audience_naming_another_owners_service_is_refused(
    client: AsyncClient, history: History
) -> None:
    h = history
    response = await client.post(
        AUDIENCES,
        json={"name": "Theirs", "filters": {"service_ids": [h.rival_cut.id]}},
        headers=h.headers,
    )
    assert response.status_code == 404
    assert (await client.get(AUDIENCES, headers=h.headers)).json()["saved"] == []


async def test_bookings_of_the_owners_places_only(client: AsyncClient, history: History) -> None:
    h = history
    big = h.people["big"]
    response = await client.get(
        "/api/v1/owner/bookings", params={"user_id": big.id}, headers=h.headers
    )
    assert response.status_code == 200
    items = response.json()["items"]
    # big also booked at the rival's place: that booking is not the owner's to see.
    assert [(b["place_name"], b["status"], b["price"]) for b in items] == [
        ("Salon London", "completed", {"amount": 30000, "currency": "EUR"})
    ] * 3
    assert items[0]["service"]["name"] == "Colour"
    other = await client.get(
        "/api/v1/owner/bookings", params={"place_id": h.rival_place.id}, headers=h.headers
    )
    assert other.status_code == 404
    services = await client.get("/api/v1/owner/services", headers=h.headers)
    assert [s["name"] for s in services.json()] == ["Colour", "Cut"]
