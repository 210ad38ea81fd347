"""Every booking-history filter and some combinations, through the customer list, its count
and "select all matching", against the hand-built histories of conftest (the clock is fixed
at NOW) and against the bookings themselves."""

from __future__ import annotations

import itertools
import statistics
from datetime import timedelta
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from rebook.messaging.audiences.filters import is_overdue
from rebook.models import MarketingSuppression
from tests.audiences.conftest import NOW, History, ago, book
from tests.messaging.conftest import BASE, messaging_payload

CUSTOMERS = f"{BASE}/messaging/customers"
ELIGIBLE = {"regular", "lapsed", "twice", "once", "big", "cancelled", "stale"}


async def listed(
    client: AsyncClient, h: History, places: list[int] | None = None, **filters: Any
) -> tuple[set[str], int, dict[str, list[str]]]:
    """Names listed, the live count, and each one's reasons."""
    params = {"place_ids": places or [h.paris.id, h.london.id], "limit": 200, **filters}
    response = await client.get(CUSTOMERS, params=params, headers=h.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    names = {item["name"].split()[0].lower() for item in body["items"]}
    reasons = {item["name"].split()[0].lower(): item["reasons"] for item in body["items"]}
    return names, body["pagination"]["total_count"], reasons


async def new_campaign(client: AsyncClient, h: History) -> dict[str, Any]:
    payload = messaging_payload([h.paris.id, h.london.id])
    response = await client.post(BASE, json=payload, headers=h.headers)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


CASES: list[tuple[dict[str, Any], set[str]]] = [
    ({}, ELIGIBLE),
    ({"no_visit_within_days": 90}, {"lapsed", "twice", "once", "stale"}),
    ({"last_visit_within_days": 45}, {"regular", "big"}),
    ({"last_visit_before": ago(150).isoformat()}, {"twice"}),
    ({"last_visit_after": ago(50).isoformat()}, {"regular", "big"}),
    ({"min_visits": 3}, {"regular", "lapsed", "big"}),
    ({"max_visits": 1}, {"once", "cancelled", "stale"}),
    ({"min_visits": 2, "max_visits": 3}, {"twice", "big"}),
    ({"has_upcoming": "true"}, {"once"}),
    ({"has_upcoming": "false"}, ELIGIBLE - {"once"}),
    ({"categories": ["Hair"]}, {"regular", "twice", "once", "stale"}),
    ({"min_spend": 50_000}, {"big"}),
    ({"min_spend": 0}, ELIGIBLE),
    ({"first_time": "true"}, {"once", "stale"}),
    ({"first_time": "false"}, {"regular", "lapsed", "twice", "big"}),
    ({"overdue": "true"}, {"lapsed"}),
    ({"overdue": "true", "overdue_factor": 1.1}, {"regular", "lapsed"}),
    ({"overdue": "false"}, ELIGIBLE - {"lapsed"}),
    ({"no_shows": "only"}, {"once"}),
    ({"no_shows": "exclude"}, ELIGIBLE - {"once"}),
    ({"no_visit_within_days": 90, "has_upcoming": "false"}, {"lapsed", "twice", "stale"}),
    (
        {
            "no_visit_within_days": 90,
            "has_upcoming": "false",
            "categories": ["Hair"],
            "no_shows": "exclude",
        },
        {"twice", "stale"},
    ),
    ({"overdue": "true", "min_spend": 1}, {"lapsed"}),
]


@pytest.mark.parametrize(("filters", "expected"), CASES)
async def test_each_filter_lists_and_counts_exactly_its_customers(
    client: AsyncClient, history: History, filters: dict[str, Any], expected: set[str]
) -> None:
    names, total, _ = await listed(client, history, **filters)
    assert names == expected
    assert total == len(expected)


async def test_services_and_places_filters(client: AsyncClient, history: History) -> None:
    h = history
    names, total, _ = await listed(client, h, service_ids=[h.colour.id])
    assert (names, total) == ({"lapsed", "once", "big"}, 3)  # once: an upcoming colour
    names, total, _ = await listed(client, h, visited_place_ids=[h.london.id])
    assert (names, total) == ({"twice", "once", "big"}, 3)


async def test_with_some_places_the_history_is_still_the_owners_whole_history(
    client: AsyncClient, history: History
) -> None:
    # "once" booked at Paris (upcoming) and last visited London 120 days ago.
    names, total, _ = await listed(
        client, history, places=[history.paris.id], no_visit_within_days=90
    )
    assert (names, total) == ({"lapsed", "once", "stale"}, 3)


async def test_another_owners_customer_never_appears(client: AsyncClient, history: History) -> None:
    # "foreign" is overdue and a big spender, at the rival's place only.
    for filters in ({"overdue": "true"}, {"min_spend": 1}, {"no_visit_within_days": 30}):
        names, _, _ = await listed(client, history, **filters)
        assert "foreign" not in names
    # "big" spent 0 with the rival's places as far as the owner is concerned: 900.00 here.
    names, _, _ = await listed(client, history, min_spend=90_001)
    assert names == set()


async def test_the_reasons_say_why_each_customer_matches(
    client: AsyncClient, history: History
) -> None:
    _, _, reasons = await listed(client, history, overdue="true", no_visit_within_days=90)
    assert reasons == {
        "lapsed": ["last visit 100 days ago", "usually every 4 weeks — 14 weeks now"]
    }
    _, _, reasons = await listed(client, history, min_spend=50_000)
    assert reasons == {"big": ["spent 900.00"]}
    _, _, reasons = await listed(client, history, has_upcoming="true", no_shows="only")
    assert reasons == {"once": ["booked for 13 Dec 2026", "1 no-show"]}


class TestReasonsNameWhatWasBookedOrVisited:
    async def test_services_the_customer_booked_among_the_filters(
        self, client: AsyncClient, history: History
    ) -> None:
        h = history
        _, _, reasons = await listed(client, h, service_ids=[h.cut.id, h.colour.id])
        # "once" booked both (the colour is upcoming); "lapsed" only the colour.
        assert reasons["once"] == ["booked Colour, Cut"]
        assert reasons["lapsed"] == ["booked Colour"]
        assert reasons["regular"] == ["booked Cut"]

    async def test_categories_the_customer_booked_among_the_filters(
        self, client: AsyncClient, history: History
    ) -> None:
        _, _, reasons = await listed(client, history, categories=["Hair", "Nails"])
        assert reasons == {n: ["booked Hair"] for n in ("regular", "twice", "once", "stale")}

    async def test_places_visited_by_the_owners_name_even_outside_the_chosen_places(
        self, client: AsyncClient, history: History
    ) -> None:
        h = history
        # Listed at Paris, where "once" has an upcoming booking; visited London.
        _, _, reasons = await listed(
            client, h, places=[h.paris.id], visited_place_ids=[h.paris.id, h.london.id]
        )
        assert reasons["once"] == ["visited Salon London"]
        assert reasons["lapsed"] == ["visited Salon Paris"]

    async def test_with_other_filters_each_says_its_part(
        self, client: AsyncClient, history: History
    ) -> None:
        h = history
        _, _, reasons = await listed(
            client,
            h,
            no_visit_within_days=90,
            service_ids=[h.colour.id],
            visited_place_ids=[h.london.id],
        )
        assert reasons == {
            "once": ["last visit 120 days ago", "booked Colour", "visited Salon London"]
        }


async def test_a_new_booking_moves_the_customer_at_once(
    client: AsyncClient, session: AsyncSession, history: History
) -> None:
    await book(session, history.people["lapsed"], history.london, 1)
    await session.commit()
    names, total, _ = await listed(client, history, no_visit_within_days=90)
    assert (names, total) == ({"twice", "once", "stale"}, 3)
    names, _, _ = await listed(client, history, overdue="true")
    assert names == set()


async def test_select_all_matching_adds_exactly_the_filtered_customers(
    client: AsyncClient, history: History
) -> None:
    h = history
    campaign = await new_campaign(client, h)
    added = await client.post(
        f"{BASE}/{campaign['id']}/recipients",
        json={
            "select_all": {"exclude_user_ids": [h.people["stale"].id]},
            "audience": {"no_visit_within_days": 90},
        },
        headers=h.headers,
    )
    assert added.status_code == 200, added.text
    assert added.json()["added"] == 3
    page = await client.get(
        f"{BASE}/{campaign['id']}/recipients", params={"limit": 200}, headers=h.headers
    )
    assert {r["user_id"] for r in page.json()["items"]} == h.ids("lapsed", "twice", "once")


async def test_adding_an_id_outside_the_audience_is_refused(
    client: AsyncClient, history: History
) -> None:
    h = history
    campaign = await new_campaign(client, h)
    refused = await client.post(
        f"{BASE}/{campaign['id']}/recipients",
        json={"user_ids": [h.people["big"].id], "audience": {"no_visit_within_days": 90}},
        headers=h.headers,
    )
    assert refused.status_code == 422
    assert "not in the audience" in refused.json()["detail"]
    page = await client.get(f"{BASE}/{campaign['id']}/recipients", headers=h.headers)
    assert page.json()["items"] == []


@pytest.mark.parametrize(
    "filters",
    [
        lambda h: {"service_ids": [h.rival_cut.id]},
        lambda h: {"visited_place_ids": [h.rival_place.id]},
    ],
)
async def test_another_owners_service_or_place_is_not_found(
    client: AsyncClient, history: History, filters: Any
) -> None:
    response = await client.get(
        CUSTOMERS,
        params={"place_ids": [history.paris.id], **filters(history)},
        headers=history.headers,
    )
    assert response.status_code == 404


async def test_bad_filter_values_are_a_422(client: AsyncClient, history: History) -> None:
    for bad in (
        {"overdue_factor": 0.5},
        {"no_visit_within_days": 0},
        {"no_shows": "sometimes"},
        {"last_visit_before": "2026-01-01T00:00:00"},  # no time zone
    ):
        response = await client.get(
            CUSTOMERS, params={"place_ids": [history.paris.id], **bad}, headers=history.headers
        )
        assert response.status_code == 422, bad


async def test_the_filters_agree_with_the_bookings_themselves(
    client: AsyncClient, session: AsyncSession, history: History
) -> None:
    """booking_history against a computation from the raw bookings (trigger-free)."""
    h = history
    rows = (
        await session.execute(
            text(
                "SELECT b.user_id, b.starts_at, b.status, coalesce(b.price_amount, 0) "
                "FROM bookings b JOIN places p ON p.id = b.place_id "
                "WHERE p.owner_id = :owner ORDER BY b.starts_at"
            ),
            {"owner": h.owner.id},
        )
    ).all()
    visits: dict[int, list[Any]] = {}
    spend: dict[int, int] = {}
    for user_id, starts_at, status, price in rows:
        visits.setdefault(user_id, [])
        if status == "completed":
            visits[user_id].append(starts_at)
            spend[user_id] = spend.get(user_id, 0) + price
    by_id = {u.id: n for n, u in h.people.items()}

    def truth(pred: Any) -> set[str]:
        return {by_id[u] for u, v in visits.items() if by_id[u] in ELIGIBLE and pred(u, v)}

    def overdue(v: list[Any]) -> bool:
        gaps = [b - a for a, b in itertools.pairwise(v)]
        usual = statistics.median(gaps) if gaps else None
        return is_overdue(len(v), v[-1] if v else None, usual, NOW, 1.5)

    checks = [
        ({"no_visit_within_days": 90}, truth(lambda u, v: v and v[-1] < ago(90))),
        ({"min_visits": 2}, truth(lambda u, v: len(v) >= 2)),
        ({"min_spend": 20_000}, truth(lambda u, v: spend.get(u, 0) >= 20_000)),
        ({"overdue": "true"}, truth(lambda u, v: overdue(v))),
    ]
    for filters, expected in checks:
        names, total, _ = await listed(client, h, **filters)
        assert (names, total) == (expected, len(expected)), filters


def test_overdue_arithmetic_on_hand_built_histories() -> None:
    week = timedelta(weeks=1)
    # Three visits, usually every 5 weeks: overdue after 7.5 weeks, not at exactly 7.5.
    assert is_overdue(3, NOW - 7.6 * week, 5 * week, NOW, 1.5)
    assert not is_overdue(3, NOW - 7.5 * week, 5 * week, NOW, 1.5)
    # Two visits are no rhythm yet.
    assert not is_overdue(2, NOW - 52 * week, 5 * week, NOW, 1.5)
    # The owner's factor: 2.0 waits until 10 weeks.
    assert not is_overdue(5, NOW - 9 * week, 5 * week, NOW, 2.0)
    assert is_overdue(5, NOW - 11 * week, 5 * week, NOW, 2.0)
    # No interval (visits on the same instant) is no rhythm either.
    assert not is_overdue(3, NOW - 52 * week, timedelta(0), NOW, 1.5)


async def test_consent_and_unsubscribes_still_decide_first_after_a_change(
    client: AsyncClient, session: AsyncSession, history: History
) -> None:
    """The filtered count reads booking_history's copy of the eligibility flags: a change of
    consent or an unsubscribe reaches it in the same transaction."""
    h = history
    lapsed, twice = h.people["lapsed"], h.people["twice"]
    lapsed.gdpr_marketing_consent = False
    session.add(
        MarketingSuppression(
            owner_id=h.owner.id, user_id=twice.id, channel="email", source="unsubscribe_link"
        )
    )
    await session.commit()
    for places in ([h.paris.id, h.london.id], [h.london.id]):
        names, total, _ = await listed(client, h, places=places, no_visit_within_days=90)
        assert not names & {"lapsed", "twice"}
        assert total == len(names)
    names, total, _ = await listed(client, h, no_visit_within_days=90)
    assert (names, total) == ({"once", "stale"}, 2)


async def test_the_campaign_records_its_audience_until_everyone_is_added(
    client: AsyncClient, history: History
) -> None:
    h = history
    campaign = await new_campaign(client, h)
    url = f"{BASE}/{campaign['id']}"
    await client.post(
        f"{url}/recipients",
        json={"select_all": {}, "audience": {"overdue": True}},
        headers=h.headers,
    )
    recorded = (await client.get(url, headers=h.headers)).json()["audience"]
    assert recorded == {"filters": {"overdue": True}, "saved_audience_id": None, "name": None}
    await client.post(f"{url}/recipients", json={"select_all": {}}, headers=h.headers)
    assert (await client.get(url, headers=h.headers)).json()["audience"] is None
