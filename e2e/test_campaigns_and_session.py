"""The other campaign types on the campaigns page, and an expired session that returns the
owner to login and then back to where they were."""

from __future__ import annotations

import re

from helpers import check_a11y, login, shot
from playwright.sync_api import Page, expect

DEMO = "demo@rebook.test"
PASSWORD = "rebook-demo"


def test_offer_campaigns_are_created_and_edited(page: Page) -> None:
    login(page, DEMO, PASSWORD)
    page.get_by_role("button", name="New campaign").click()
    page.get_by_role("dialog").get_by_role("button", name=re.compile("^Price reduction")).click()
    form = page.get_by_role("dialog", name="New price reduction campaign")
    form.get_by_role("button", name="Create campaign").click()
    expect(form.get_by_text("Give the campaign a name.")).to_be_visible()
    expect(form.get_by_text("Choose at least one place.")).to_be_visible()
    check_a11y(page, "offer campaign form")
    form.get_by_label("Name").fill("Winter 15 % off")
    form.get_by_label("Studio Lumière").check()
    form.get_by_label("Discount (%)").fill("15")
    form.get_by_role("button", name="Create campaign").click()
    row = page.get_by_test_id("campaign-row").filter(has_text="Winter 15 % off")
    expect(row).to_contain_text("Price reduction · 15 % off · Studio Lumière")
    expect(row).to_contain_text("Draft")

    row.get_by_role("button", name="Edit").click()
    form = page.get_by_role("dialog", name="Edit price reduction campaign")
    form.get_by_label("Status").select_option("active")
    form.get_by_role("button", name="Save").click()
    expect(row).to_contain_text("Active")

    shot(page, "14-offer-campaigns")
    page.get_by_label("Type").select_option("messaging")
    expect(page.get_by_test_id("campaign-row").filter(has_text="Winter 15 % off")).to_have_count(0)


def test_expired_session_returns_to_login_then_back(page: Page) -> None:
    login(page, DEMO, PASSWORD)
    page.get_by_role("link", name="Outbox").click()
    expect(page.get_by_role("heading", name="Outbox", level=1)).to_be_visible()
    # The token goes bad (expired, or the secret rotated): the next API call answers 401.
    page.evaluate("localStorage.setItem('rebook.token', 'expired-token')")
    page.reload()
    expect(page).to_have_url(re.compile(r"/login\?next=%2Foutbox"))
    expect(page.get_by_text(re.compile("Your session expired"))).to_be_visible()
    page.get_by_label("Email").fill(DEMO)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Outbox", level=1)).to_be_visible()

    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile("/login"))
    page.goto("/campaigns")
    expect(page).to_have_url(re.compile(r"/login\?next=%2Fcampaigns"))


def test_email_settings_set_where_replies_go(page: Page) -> None:
    login(page, DEMO, PASSWORD)
    page.get_by_role("link", name="Settings").click()
    expect(page.get_by_role("heading", name="Email settings", level=1)).to_be_visible()
    form = page.get_by_role("form", name="Studio Lumière")
    form.get_by_label("Replies to Studio Lumière go to").fill("bonjour@studio-lumiere.example")
    form.get_by_role("button", name="Save").click()
    expect(form.get_by_text("Saved")).to_be_visible()
    check_a11y(page, "email settings")
    shot(page, "15-email-settings")
    page.reload()
    expect(page.get_by_label("Replies to Studio Lumière go to")).to_have_value(
        "bonjour@studio-lumiere.example"
    )
