"""Audiences from booking history (issue 18), in Chromium against the real backend: the owner
picks "Haven't visited in 90 days", sees why each customer is in it, selects them all and
sends; the recipients are exactly the customers the database says."""

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

# The database's own answers, from the raw tables: consenting customers of the demo owner's
# places reachable on a channel, whose last completed visit there was over 90 days ago and
# who have no upcoming booking (TRUTH), or who booked a service by name (BOOKED).
REACHABLE = """
WITH mine AS (SELECT p.id FROM places p JOIN users o ON o.id = p.owner_id WHERE o.email = :owner),
owner AS (SELECT id FROM users WHERE email = :owner)
SELECT u.id FROM users u
WHERE u.role = 'customer' AND u.gdpr_marketing_consent
  AND ((u.email IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM marketing_suppressions s, owner
                        WHERE s.user_id = u.id AND s.owner_id = owner.id AND s.channel = 'email')
        AND NOT EXISTS (SELECT 1 FROM email_suppressions e WHERE e.address = lower(u.email)))
    OR (u.phone_e164 IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM marketing_suppressions s, owner
                        WHERE s.user_id = u.id AND s.owner_id = owner.id
                          AND s.channel = 'whatsapp')))
"""
TRUTH = (
    REACHABLE
    + """
  AND (SELECT max(b.starts_at) FROM bookings b
       WHERE b.user_id = u.id AND b.place_id IN (SELECT id FROM mine)
         AND b.status = 'completed') < now() - interval '90 days'
  AND NOT EXISTS (SELECT 1 FROM bookings b
                  WHERE b.user_id = u.id AND b.place_id IN (SELECT id FROM mine)
                    AND b.status = 'upcoming' AND b.starts_at > now())
"""
)
BOOKED = (
    REACHABLE
    + """
  AND EXISTS (SELECT 1 FROM bookings b JOIN services s ON s.id = b.service_id
              WHERE b.user_id = u.id AND b.place_id IN (SELECT id FROM mine)
                AND b.status IN ('completed', 'upcoming') AND s.name = :service)
"""
)


@pytest.fixture(scope="module")
def db(database_url: str) -> Iterator[Engine]:
    engine = create_engine(make_url(database_url).set(drivername="postgresql+psycopg"))
    yield engine
    engine.dispose()


def new_campaign(page: Page, name: str) -> tuple[int, dict[str, str]]:
    """A messaging draft at all the demo owner's places, made through the API; its id and
    the owner's headers."""
    token = page.request.post(
        "/api/v1/auth/login", form={"username": DEMO, "password": PASSWORD}
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    places = page.request.get("/api/v1/owner/places", headers=headers).json()
    created = page.request.post(
        "/api/v1/owner/campaigns",
        headers=headers,
        data={
            "name": name,
            "campaign_type": "messaging",
            "place_ids": [p["id"] for p in places],
            "messaging_config": {
                "channels": ["email"],
                "email_subject": "We miss you, {{ first_name }}",
                "email_body": "<p>It has been a while. Come back for 15 % off.</p>",
            },
        },
    )
    assert created.status == 201, created.text()
    return created.json()["id"], headers


def test_haven_t_visited_in_90_days_is_exactly_who_gets_it(page: Page, db: Engine) -> None:
    with db.connect() as conn:
        expected = {row[0] for row in conn.execute(text(TRUTH), {"owner": DEMO})}
    assert expected, "the demo data has lapsed customers"

    campaign_id, headers = new_campaign(page, "E2E we miss you")
    login(page, DEMO, PASSWORD)
    page.goto(f"/campaigns/{campaign_id}/edit?step=4")
    expect(page.get_by_test_id("selection-count")).to_contain_text("customers selected")
    preset = page.get_by_role("button", name=re.compile(r"^Haven't visited in 90 days"))
    expect(preset).to_contain_text(f"({len(expected):,})")
    preset.click()
    expect(preset).to_have_attribute("aria-pressed", "true")
    reasons = page.get_by_test_id("match-reasons").first
    expect(reasons).to_contain_text(re.compile(r"last visit \d+ days ago"))
    check_a11y(page, "customers step with an audience")
    shot(page, "audiences-01-preset")

    page.get_by_role("button", name=f"Select all {len(expected):,} in this audience").click()
    expect(page.get_by_test_id("selection-count")).to_contain_text(
        f"{len(expected):,} of", timeout=20_000
    )
    assert count_of(selection_text(page))[0] == len(expected)
    page.get_by_role("button", name="Next", exact=True).last.click()
    expect(page.get_by_role("heading", name="Step 5 of 6: Message")).to_be_visible()
    page.get_by_role("button", name="Next", exact=True).last.click()
    expect(page.get_by_role("heading", name="Step 6 of 6: Schedule & send")).to_be_visible()
    expect(page.get_by_test_id("summary-recipients")).to_have_text(f"{len(expected):,}")
    page.get_by_label(re.compile("^Send immediately")).check()
    page.get_by_role("button", name="Review and send").click()
    confirm = page.get_by_role("dialog", name="Send this campaign now?")
    confirm.get_by_role("button", name="Send now").click()
    expect(page.get_by_role("heading", level=1, name="E2E we miss you")).to_be_visible()
    shot(page, "audiences-02-sent")

    recipients: set[int] = set()
    page_no = 1
    while True:
        body = page.request.get(
            f"/api/v1/owner/campaigns/{campaign_id}/recipients",
            params={"limit": 200, "page": page_no},
            headers=headers,
        ).json()
        recipients |= {r["user_id"] for r in body["items"]}
        if page_no >= body["pagination"]["max_page"]:
            break
        page_no += 1
    assert recipients == expected
    recorded = page.request.get(f"/api/v1/owner/campaigns/{campaign_id}", headers=headers).json()
    assert recorded["audience"]["filters"] == {"no_visit_within_days": 90, "has_upcoming": False}


def test_a_service_filter_narrows_the_list_to_who_booked_it(page: Page, db: Engine) -> None:
    with db.connect() as conn:
        facial = len(conn.execute(text(BOOKED), {"owner": DEMO, "service": "Facial"}).all())
    campaign_id, _ = new_campaign(page, "E2E facials")
    login(page, DEMO, PASSWORD)
    page.goto(f"/campaigns/{campaign_id}/edit?step=4")
    listed = page.get_by_text(re.compile(r"^Page 1 of \d+ · [\d,]+ customers$"))
    everyone = int(re.findall(r"[\d,]+", listed.inner_text())[-1].replace(",", ""))
    assert 0 < facial < everyone, "the demo data has customers who never had a facial"

    page.get_by_text("Filter by booking history").click()
    services = page.get_by_role("group", name=re.compile("^Services booked"))
    services.get_by_role("checkbox", name="Facial").check()
    expect(listed).to_have_text(re.compile(rf"· {facial:,} customers$"))
    expect(page.get_by_test_id("match-reasons").first).to_have_text(re.compile(r"^booked Facial$"))
    check_a11y(page, "customers step filtered by a service")
    shot(page, "audiences-03-service")
