"""Who will actually get it (issue 15, item 6), in Chromium against the real backend: an
invalid number says so, a customer nothing can reach is not offered, "with phone" counts
the numbers WhatsApp can reach (as the database says), each row names its places, and the
search finds a name whatever its accents (item 8)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from helpers import check_a11y, count_of, login, selection_text, shot
from playwright.sync_api import Page, expect
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

DEMO = "demo@rebook.test"
PASSWORD = "rebook-demo"
PLACES = ("Glow Salon Shoreditch", "Studio Lumière")


@pytest.fixture(scope="module")
def db(database_url: str) -> Iterator[Engine]:
    engine = create_engine(make_url(database_url).set(drivername="postgresql+psycopg"))
    yield engine
    engine.dispose()


def _add_customer(
    db: Engine, first: str, last: str, email: str | None, phone: str, places: tuple[str, ...]
) -> None:
    """A consenting customer whose number no one could dial (phone_e164 stays NULL)."""
    with db.begin() as conn:
        conn.execute(
            text(
                """
                WITH u AS (
                  INSERT INTO users (email, first_name, last_name, phone, phone_e164, role,
                                     gdpr_marketing_consent, gdpr_marketing_consent_at)
                  VALUES (:email, :first, :last, :phone, NULL, 'customer', true, now())
                  RETURNING id)
                INSERT INTO bookings (place_id, user_id, starts_at, status)
                SELECT p.id, u.id, now() - interval '3 days', 'completed'
                FROM u, places p WHERE p.name = ANY(:places)
                """
            ),
            {"email": email, "first": first, "last": last, "phone": phone, "places": list(places)},
        )


def _whatsapp_reachable(db: Engine) -> int:
    """The database's own answer: consenting customers of these places with a valid number
    who did not opt out of the demo owner's WhatsApp."""
    with db.connect() as conn:
        return int(
            conn.execute(
                text(
                    """
                    SELECT count(*) FROM users u
                    WHERE u.gdpr_marketing_consent AND u.role = 'customer'
                      AND u.phone_e164 IS NOT NULL
                      AND EXISTS (SELECT 1 FROM bookings b JOIN places p ON p.id = b.place_id
                                  WHERE b.user_id = u.id AND p.name = ANY(:places))
                      AND NOT EXISTS (
                        SELECT 1 FROM marketing_suppressions s JOIN users o ON o.id = s.owner_id
                        WHERE s.user_id = u.id AND o.email = :owner AND s.channel = 'whatsapp')
                    """
                ),
                {"places": list(PLACES), "owner": DEMO},
            ).scalar_one()
        )


def _open_customers_step(page: Page) -> None:
    """A campaign for PLACES, at its Customers step."""
    token = page.request.post(
        "/api/v1/auth/login", form={"username": DEMO, "password": PASSWORD}
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    places = {
        p["name"]: p["id"] for p in page.request.get("/api/v1/owner/places", headers=headers).json()
    }
    created = page.request.post(
        "/api/v1/owner/campaigns",
        headers=headers,
        data={
            "name": "E2E who gets it",
            "campaign_type": "messaging",
            "place_ids": [places[name] for name in PLACES],
            "messaging_config": {"channels": ["email", "whatsapp"]},
        },
    )
    assert created.status == 201, created.text()
    login(page, DEMO, PASSWORD)
    page.goto(f"/campaigns/{created.json()['id']}/edit?step=4")
    expect(page.get_by_test_id("selection-count")).to_contain_text("customers selected")


def test_the_list_shows_who_whatsapp_and_email_can_reach(page: Page, db: Engine) -> None:
    _add_customer(db, "Quentin", "Badnumber", "quentin.badnumber@example.com", "12345", PLACES)
    _add_customer(db, "Nadia", "Nowhere", None, "000", PLACES[:1])
    _open_customers_step(page)
    table = page.get_by_role("table")
    expect(table.get_by_role("columnheader", name="Places")).to_be_visible()

    search = page.get_by_label("Search customers")
    search.fill("badnumber")
    # The first page (faded while the search loads) may list Quentin too: wait for the answer.
    expect(table.get_by_role("row")).to_have_count(2)
    row = table.get_by_role("row").filter(has_text="Quentin Badnumber")
    expect(row).to_be_visible()
    expect(row.get_by_role("cell", name="Invalid number")).to_be_visible()
    expect(row).not_to_contain_text("•")
    expect(row.get_by_role("cell", name="Glow Salon Shoreditch, Studio Lumière")).to_be_visible()
    check_a11y(page, "customer list: invalid number")
    shot(page, "30-invalid-number-and-places")

    # With a phone means a number WhatsApp can reach: Quentin is not among them.
    page.get_by_label("Show").select_option("has_phone")
    expect(page.get_by_text("No customers match")).to_be_visible()

    # Nadia has no email and no valid number: nothing could reach her, so she is not offered.
    page.get_by_label("Show").select_option("all")
    search.fill("nowhere")
    expect(page.get_by_text("No customers match")).to_be_visible()

    search.fill("")
    page.get_by_role("button", name="Select with phone").click()
    expect(page.get_by_test_id("selection-count")).to_contain_text("(all with a phone)")
    selected, _ = count_of(selection_text(page))
    assert selected == _whatsapp_reachable(db)


def test_a_search_without_accents_finds_the_accented_names_and_back(page: Page, db: Engine) -> None:
    _add_customer(db, "Hans", "Muller", "hans.muller@example.com", "12", PLACES[:1])
    with db.connect() as conn:
        muellers = conn.execute(
            text(
                "SELECT count(DISTINCT u.id) FROM users u JOIN bookings b ON b.user_id = u.id "
                "JOIN places p ON p.id = b.place_id WHERE p.name = ANY(:places) "
                "AND u.gdpr_marketing_consent AND u.last_name IN ('Müller', 'Muller') "
                "AND (u.email IS NOT NULL OR u.phone_e164 IS NOT NULL) "
                "AND NOT EXISTS (SELECT 1 FROM marketing_suppressions s JOIN users o "
                "ON o.id = s.owner_id WHERE s.user_id = u.id AND o.email = :owner)"
            ),
            {"places": list(PLACES), "owner": DEMO},
        ).scalar_one()
    assert muellers > 1  # the demo's Müllers and Hans Muller
    _open_customers_step(page)
    search = page.get_by_label("Search customers")
    for term in ("muller", "Müller"):
        search.fill(term)
        expect(
            page.get_by_role("button", name=re.compile(f"^Select all {muellers} matching"))
        ).to_be_visible()
        expect(page.get_by_role("cell", name=re.compile("^Hans Muller"))).to_be_visible()
    expect(page.get_by_role("cell", name=re.compile(r"Müller\b")).first).to_be_visible()
    shot(page, "31-search-ignores-accents")
