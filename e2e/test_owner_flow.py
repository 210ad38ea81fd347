"""The owner's flow without traps (issue 15), in Chromium against the real backend: autosave
that keeps every valid field and says what it did not save, no way to send to nobody,
"Select all N matching" that never acts on a stale or empty count, a schedule shown in the
zone it was chosen in, and the Outbox showing messages as customers receive them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from helpers import check_a11y, count_of, login, selection_text, shot, wait_for
from playwright.sync_api import APIRequestContext, Browser, Page, expect
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

DEMO = "demo@rebook.test"
PASSWORD = "rebook-demo"
SAVED = re.compile(r"^Saved \d\d:\d\d$")
SPRING_OFFER = "HX5b1e0c4d2a7f4e1c9b3d8a6f0e2c4b71"  # a demo template (channels/outbox.py)


@pytest.fixture(scope="module")
def db(database_url: str) -> Iterator[Engine]:
    engine = create_engine(make_url(database_url).set(drivername="postgresql+psycopg"))
    yield engine
    engine.dispose()


class Api:
    """The owner's API, as the web app calls it, to set a scene quickly."""

    def __init__(self, request: APIRequestContext) -> None:
        token = request.post(
            "/api/v1/auth/login", form={"username": DEMO, "password": PASSWORD}
        ).json()["access_token"]
        self.request = request
        self.headers = {"Authorization": f"Bearer {token}"}

    def places(self) -> dict[str, int]:
        places = self.request.get("/api/v1/owner/places", headers=self.headers).json()
        return {p["name"]: p["id"] for p in places}

    def create(self, name: str, place: str, **config: Any) -> int:
        response = self.request.post(
            "/api/v1/owner/campaigns",
            headers=self.headers,
            data={
                "name": name,
                "campaign_type": "messaging",
                "place_ids": [self.places()[place]],
                "messaging_config": {"channels": ["email"], **config},
            },
        )
        assert response.status == 201, response.text()
        return int(response.json()["id"])

    def get(self, campaign_id: int) -> dict[str, Any]:
        response = self.request.get(f"/api/v1/owner/campaigns/{campaign_id}", headers=self.headers)
        assert response.ok, response.text()
        body: dict[str, Any] = response.json()
        return body

    def add_everyone(self, campaign_id: int) -> None:
        response = self.request.post(
            f"/api/v1/owner/campaigns/{campaign_id}/recipients",
            headers=self.headers,
            data={"select_all": {"filter_by": "all"}},
        )
        assert response.ok, response.text()

    def pending(self, campaign_id: int) -> int:
        response = self.request.get(
            f"/api/v1/owner/campaigns/{campaign_id}/messaging-stats", headers=self.headers
        )
        return int(response.json()["pending"])

    def send_now(self, campaign_id: int) -> None:
        response = self.request.post(
            f"/api/v1/owner/campaigns/{campaign_id}/send?send_immediately=true",
            headers=self.headers,
        )
        assert response.ok, response.text()


def config_of(api: Api, campaign_id: int) -> dict[str, Any]:
    cfg: dict[str, Any] = api.get(campaign_id)["messaging_config"]
    return cfg


def test_autosave_saves_every_valid_field_while_one_is_invalid(page: Page) -> None:
    """1. An unknown variable in the subject and a WhatsApp text over 1,600 characters are
    named as not saved; every other edit is saved meanwhile, and the preview follows."""
    page.on("dialog", lambda dialog: dialog.accept())
    api = Api(page.request)
    # WhatsApp as free text (for customers inside their 24-hour window): its text box.
    campaign_id = api.create(
        "E2E autosave",
        "Glow Salon Shoreditch",
        channels=["email", "whatsapp"],
        whatsapp_message="Hello",
    )
    login(page, DEMO, PASSWORD)
    page.goto(f"/campaigns/{campaign_id}/edit?step=5")
    expect(page.get_by_role("heading", name="Step 5 of 6: Message")).to_be_visible()
    status = page.get_by_test_id("save-status")
    subject = page.get_by_role("textbox", name="Subject", exact=True)
    whatsapp = page.get_by_role("textbox", name="WhatsApp message", exact=True)

    subject.fill("Hello {{ fist_name }}")
    expect(status).to_have_text(
        "Not saved: Subject has an unknown variable {{ fist_name }}", timeout=5_000
    )
    whatsapp.fill("Hi {{ first_name }}, 20 % off at {{ place_name }} this week.")
    assert wait_for(
        lambda: (
            config_of(api, campaign_id).get("whatsapp_message")
            == "Hi {{ first_name }}, 20 % off at {{ place_name }} this week."
        ),
        timeout=10,
    ), "the WhatsApp text is saved while the subject is not"
    assert config_of(api, campaign_id).get("email_subject") is None
    expect(page.get_by_test_id("message-preview")).to_contain_text(
        "20 % off at Glow Salon Shoreditch", timeout=20_000
    )
    check_a11y(page, "autosave: not saved")
    shot(page, "20-autosave-not-saved")

    subject.fill("Hello {{ first_name }}")
    whatsapp.fill("x" * 1601)
    expect(status).to_have_text("Not saved: WhatsApp message too long", timeout=5_000)
    assert wait_for(
        lambda: config_of(api, campaign_id).get("email_subject") == "Hello {{ first_name }}",
        timeout=10,
    ), "the corrected subject is saved while the WhatsApp text is too long"

    whatsapp.fill("Back to a short text")
    expect(status).to_have_text(SAVED, timeout=10_000)
    page.reload()
    expect(subject).to_have_value("Hello {{ first_name }}")
    expect(whatsapp).to_have_value("Back to a short text")


def test_edits_survive_a_reload_and_an_expired_login(page: Page) -> None:
    """1. An edit made a moment before a reload, and one made after the login expired, are
    both there afterwards (and saved); the login page says the session expired."""
    page.on("dialog", lambda dialog: dialog.accept())
    api = Api(page.request)
    campaign_id = api.create("E2E keep edits", "Studio Lumière")
    login(page, DEMO, PASSWORD)

    page.goto(f"/campaigns/{campaign_id}/edit?step=3")
    whatsapp_box = page.get_by_role("checkbox", name=re.compile("^WhatsApp"))
    whatsapp_box.check()
    page.reload()  # before the autosave's 800 ms
    expect(page.get_by_role("heading", name="Step 3 of 6: Channels")).to_be_visible()
    expect(whatsapp_box).to_be_checked()
    assert wait_for(lambda: config_of(api, campaign_id)["channels"] == ["email", "whatsapp"])

    page.goto(f"/campaigns/{campaign_id}/edit?step=1")
    description = page.get_by_label("Description (optional)")
    expect(description).to_be_visible()
    page.evaluate("() => localStorage.setItem('rebook.token', 'expired')")
    description.fill("For the regulars who have not been back since summer")
    expect(page).to_have_url(re.compile(r"/login\?next="), timeout=10_000)
    expect(page.get_by_text(re.compile("Your session expired"))).to_be_visible()
    page.get_by_label("Email").fill(DEMO)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Step 1 of 6: Basic info")).to_be_visible()
    expect(description).to_have_value("For the regulars who have not been back since summer")
    expect(page.get_by_test_id("save-status")).to_have_text(SAVED, timeout=10_000)
    assert (
        api.get(campaign_id)["description"]
        == "For the regulars who have not been back since summer"
    )


def test_no_way_to_send_to_nobody(page: Page) -> None:
    """2. Jumping from step 2 to step 6 of a campaign without customers shows a checklist
    with the audience missing and a link to step 4; Review stays disabled."""
    api = Api(page.request)
    campaign_id = api.create(
        "E2E nobody",
        "Glow Salon Shoreditch",
        email_subject="Hello {{ first_name }}",
        email_body="<p>See you soon</p>",
    )
    login(page, DEMO, PASSWORD)
    page.goto(f"/campaigns/{campaign_id}/edit?step=2")
    page.get_by_role("navigation", name="Wizard steps").get_by_role(
        "button", name=re.compile("Step 6")
    ).click()
    expect(page.get_by_role("heading", name="Step 6 of 6: Schedule & send")).to_be_visible()
    checklist = page.get_by_test_id("send-checklist")
    audience = checklist.locator("li[data-ok=false]").filter(has_text="Audience")
    expect(audience).to_contain_text("add at least one recipient")
    for ready in ("Sender", "Subject", "Content", "Schedule"):
        expect(checklist.locator("li[data-ok=true]").filter(has_text=ready)).to_have_count(1)
    review = page.get_by_role("button", name="Review and send")
    expect(review).to_be_disabled()
    check_a11y(page, "step 6 with the checklist")
    shot(page, "21-send-checklist")

    audience.get_by_role("button", name="Fix in step 4").click()
    expect(page.get_by_role("heading", name="Step 4 of 6: Customers")).to_be_visible()
    page.get_by_role("button", name="Select all", exact=True).click()
    page.get_by_role("button", name="Next", exact=True).last.click()
    page.get_by_role("navigation", name="Wizard steps").get_by_role(
        "button", name=re.compile("Step 6")
    ).click()
    expect(checklist.locator("li[data-ok=false]")).to_have_count(0)
    expect(review).to_be_enabled()


def test_select_all_matching_never_acts_on_a_stale_or_empty_count(page: Page, db: Engine) -> None:
    """3. "Select all 0 matching" cannot be pressed; while a search settles the button shows
    no count of another term; a replaced selection is said so and can be brought back."""
    api = Api(page.request)
    campaign_id = api.create("E2E select all", "Glow Salon Shoreditch")
    login(page, DEMO, PASSWORD)
    page.goto(f"/campaigns/{campaign_id}/edit?step=4")
    count = page.get_by_test_id("selection-count")
    expect(count).to_contain_text("customers selected")
    page.get_by_role("button", name="Select all", exact=True).click()
    _, total = count_of(selection_text(page))
    expect(count).to_contain_text(f"{total:,} of {total:,} customers selected")

    search = page.get_by_label("Search customers")
    search.fill("zzzz-nobody")
    nobody = page.get_by_role("button", name=re.compile("^Select all 0 matching"))
    expect(nobody).to_be_visible()
    expect(nobody).to_be_disabled()
    expect(count).to_contain_text(f"{total:,} of {total:,} customers selected")

    with db.connect() as conn:
        name = conn.execute(
            text(
                "SELECT u.last_name FROM users u JOIN bookings b ON b.user_id = u.id "
                "JOIN places p ON p.id = b.place_id WHERE p.name = 'Glow Salon Shoreditch' "
                "AND u.gdpr_marketing_consent AND u.email IS NOT NULL LIMIT 1"
            )
        ).scalar_one()
    search.fill(name.lower())
    # Right after typing, the button either waits or shows the count of this term.
    label = page.get_by_role("group", name="Bulk selection").get_by_role("button").first
    first_label = label.inner_text()
    assert first_label.startswith(f"Counting matches for “{name.lower()}”") or re.match(
        rf"Select all \d+ matching “{name.lower()}”", first_label
    ), first_label
    assert "0 matching" not in first_label
    select_some = page.get_by_role(
        "button", name=re.compile(f"^Select all \\d+ matching “{name.lower()}”")
    )
    expect(select_some).to_be_enabled()
    matching = int(re.search(r"Select all (\d+)", select_some.inner_text())[1])  # type: ignore[index]
    assert 0 < matching < total
    select_some.click()
    expect(count).to_contain_text(f"{matching:,} of {total:,} customers selected")
    expect(page.get_by_text(f"Replaced a selection of {total:,} customers.")).to_be_visible()
    check_a11y(page, "select all replaced")
    page.get_by_role("button", name="Undo").click()
    expect(count).to_contain_text(f"{total:,} of {total:,} customers selected")


@pytest.fixture
def london_page(browser: Browser, base_url: str) -> Iterator[Page]:
    """An owner whose computer is set to London."""
    context = browser.new_context(
        base_url=base_url, viewport={"width": 1280, "height": 900}, timezone_id="Europe/London"
    )
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def test_schedule_is_shown_in_the_zone_it_was_chosen_in(london_page: Page) -> None:
    """4. The zone starts at the owner's own (London), not the first place's (Paris); 10:00
    there stays 10:00 Europe/London on the campaign page, and the explanation under the
    picker gives the other place's local time, not UTC."""
    page = london_page
    page.on("dialog", lambda dialog: dialog.accept())
    api = Api(page.request)
    places = api.places()
    response = page.request.post(
        "/api/v1/owner/campaigns",
        headers=api.headers,
        data={
            "name": "E2E London ten",
            "campaign_type": "messaging",
            "place_ids": [places["Studio Lumière"], places["Glow Salon Shoreditch"]],
            "messaging_config": {
                "channels": ["email"],
                "email_subject": "Hello {{ first_name }}",
                "email_body": "<p>See you soon</p>",
            },
        },
    )
    campaign_id = int(response.json()["id"])
    api.add_everyone(campaign_id)
    login(page, DEMO, PASSWORD)
    page.goto(f"/campaigns/{campaign_id}/edit?step=6")
    page.get_by_label(re.compile("^Schedule for later")).check()
    expect(page.get_by_label("Time zone", exact=True)).to_have_value("Europe/London")
    when = (datetime.now(ZoneInfo("Europe/London")) + timedelta(days=2)).replace(hour=10, minute=0)
    page.get_by_label("Date and time", exact=True).fill(when.strftime("%Y-%m-%dT%H:%M"))
    hint = page.get_by_text(re.compile("The time is read in Europe/London"))
    expect(hint).to_contain_text("at 10:00 there")
    paris = when.astimezone(ZoneInfo("Europe/Paris")).strftime("%H:%M")
    expect(hint).to_contain_text(f"{paris} in Europe/Paris (Studio Lumière)")
    expect(hint).not_to_contain_text("UTC")
    page.get_by_role("button", name="Review and schedule").click()
    confirm = page.get_by_role("dialog", name="Schedule this campaign?")
    confirm.get_by_role("button", name="Schedule", exact=True).click()
    expect(page.get_by_role("heading", level=1, name="E2E London ten")).to_be_visible()
    expect(page.get_by_test_id("scheduled-for")).to_contain_text("10:00 (Europe/London)")
    assert config_of(api, campaign_id)["scheduled_time_zone"] == "Europe/London"


def test_outbox_shows_messages_as_customers_receive_them(page: Page) -> None:
    """7. The email in a sandboxed frame with its From and its unsubscribe link; the WhatsApp
    message as a chat bubble."""
    api = Api(page.request)
    campaign_id = api.create(
        "E2E outbox look",
        "Bella Cucina Brooklyn",
        channels=["email", "whatsapp"],
        email_subject="Outbox look for {{ first_name }}",
        email_body="<p>Hello {{ first_name }}, <strong>two for one</strong> on Tuesdays.</p>",
        # The demo account's approved "Spring offer": free text reaches only customers who
        # wrote in the last 24 hours, and the demo's customers have not.
        whatsapp_content_sid=SPRING_OFFER,
        whatsapp_content_variables={"1": "{{ first_name }}", "2": "{{ place_name }}"},
    )
    api.add_everyone(campaign_id)
    api.send_now(campaign_id)
    assert wait_for(lambda: api.pending(campaign_id) == 0, timeout=90), "the worker delivered"
    login(page, DEMO, PASSWORD)
    page.goto("/outbox")
    page.get_by_label("Channel").select_option("email")
    item = page.get_by_test_id("outbox-list").locator("li").filter(has_text="Outbox look for")
    item.first.get_by_role("button").first.click()
    frame = item.first.get_by_test_id("outbox-email-frame")
    expect(frame).to_be_visible()
    assert frame.get_attribute("sandbox") == ""
    body = page.frame_locator("[data-testid=outbox-email-frame]").locator("body")
    expect(body.locator("strong")).to_have_text("two for one")
    expect(body.get_by_role("link", name="Unsubscribe")).to_be_visible()
    expect(item.first).to_contain_text("From")
    expect(item.first).to_contain_text("Bella Cucina Brooklyn <no-reply@rebook.test>")
    check_a11y(page, "outbox email")
    shot(page, "22-outbox-email")

    page.get_by_label("Channel").select_option("whatsapp")
    bubble_item = page.get_by_test_id("outbox-list").locator("li").filter(has_text="Spring is here")
    expect(bubble_item.first).to_be_visible()
    bubble_item.first.get_by_role("button").first.click()
    bubble = bubble_item.first.get_by_test_id("outbox-whatsapp-bubble")
    expect(bubble).to_contain_text(
        re.compile(r"Hi \S+! Spring is here at Bella Cucina Brooklyn: enjoy 20% off")
    )
    check_a11y(page, "outbox whatsapp")
    shot(page, "23-outbox-whatsapp")
