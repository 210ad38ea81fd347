"""Select-all over a large audience (E2E_LARGE_AUDIENCE customers, 200 000 by default) stays
responsive and never ships the ids; the app works at a phone's width and from the keyboard."""

from __future__ import annotations

import json
import re
import time

import pytest
from helpers import check_a11y, count_of, login, shot
from playwright.sync_api import Browser, Page, Request, expect

from conftest import LARGE_AUDIENCE, PASSWORD, SCALE_OWNER, note

N = f"{LARGE_AUDIENCE:,}"


def start_wizard_to_customers(page: Page, name: str) -> None:
    page.get_by_role("button", name="New campaign").click()
    page.get_by_role("dialog").get_by_role("button", name=re.compile("^Messaging")).click()
    page.get_by_label("Campaign name").fill(name)
    page.get_by_role("button", name="Next", exact=True).click()
    expect(page.get_by_role("heading", name="Step 2 of 6: Places")).to_be_visible()
    page.get_by_role("button", name="Next", exact=True).click()
    expect(page.get_by_role("heading", name="Step 3 of 6: Channels")).to_be_visible()
    page.get_by_role("button", name="Next", exact=True).click()
    expect(page.get_by_role("heading", name="Step 4 of 6: Customers")).to_be_visible()


def timed(label: str, action, check) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    action()
    check()
    elapsed = time.perf_counter() - started
    note(f"{label}: {elapsed * 1000:.0f} ms")
    return elapsed


@pytest.mark.large_audience
def test_select_all_of_a_large_audience(page: Page) -> None:
    bodies: list[str] = []

    def on_request(request: Request) -> None:
        if "/recipients" in request.url and request.method == "POST":
            bodies.append(request.post_data or "")

    page.on("request", on_request)
    login(page, SCALE_OWNER, PASSWORD)
    count = page.get_by_test_id("selection-count")
    timed(
        f"customers step, first page of {N}",
        lambda: start_wizard_to_customers(page, "Large audience"),
        lambda: expect(count).to_contain_text(f"0 of {N} customers selected", timeout=30_000),
    )
    timed(
        f'select all → "{N} of {N} selected"',
        lambda: page.get_by_role("button", name="Select all", exact=True).click(),
        lambda: expect(count).to_contain_text(f"{N} of {N} customers selected"),
    )
    for n in (2, 3, 4):
        timed(
            f"page {n} of the customers",
            lambda: page.get_by_role("button", name="Next page").click(),
            lambda n=n: expect(page.get_by_text(re.compile(f"^Page {n} of"))).to_be_visible(),
        )
    expect(page.locator("tbody").get_by_role("checkbox").first).to_be_checked()
    timed(
        "untick one while all are selected",
        lambda: page.locator("tbody").get_by_role("checkbox").first.uncheck(),
        lambda: expect(count).to_contain_text(f"{LARGE_AUDIENCE - 1:,} of {N} customers selected"),
    )
    timed(
        "search (debounced) for one customer",
        lambda: page.get_by_label("Search customers").fill("customer000123"),
        lambda: expect(page.get_by_text(re.compile(r"· 1 customers?$"))).to_be_visible(),
    )
    page.get_by_label("Search customers").fill("")
    shot(page, "11-large-audience-selected")
    timed(
        f"save {LARGE_AUDIENCE - 1:,} recipients (resolved on the server)",
        lambda: page.get_by_role("button", name="Next", exact=True).click(),
        lambda: expect(page.get_by_role("heading", name="Step 5 of 6: Message")).to_be_visible(
            timeout=120_000
        ),
    )
    assert bodies, "the selection was saved"
    assert all(len(body) < 2_000 for body in bodies), [len(b) for b in bodies]
    select_all = json.loads(bodies[0])["select_all"]
    assert select_all["filter_by"] == "all"
    assert len(select_all["exclude_user_ids"]) == 1
    selected, total = count_of(f"{LARGE_AUDIENCE - 1:,} of {N} customers selected")
    assert (selected, total) == (LARGE_AUDIENCE - 1, LARGE_AUDIENCE)


def test_phone_width_and_keyboard(browser: Browser, base_url: str) -> None:
    context = browser.new_context(base_url=base_url, viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        # Log in with the keyboard only.
        page.goto("/login")
        expect(page.get_by_label("Email")).to_be_visible()
        page.keyboard.press("Tab")
        expect(page.get_by_label("Email")).to_be_focused()
        page.keyboard.type("demo@rebook.test")
        page.keyboard.press("Tab")
        page.keyboard.type(PASSWORD)
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", name="Campaigns", level=1)).to_be_visible()
        check_a11y(page, "campaigns at phone width")
        shot(page, "12-phone-campaigns")

        # The wizard: Enter submits each step; the customers table scrolls inside its box.
        page.get_by_role("button", name="New campaign").click()
        page.keyboard.press("Escape")
        expect(page.get_by_role("dialog")).to_have_count(0)
        page.get_by_role("button", name="New campaign").focus()
        page.keyboard.press("Enter")
        page.get_by_role("dialog").get_by_role("button", name=re.compile("^Messaging")).focus()
        page.keyboard.press("Enter")
        page.get_by_label("Campaign name").fill("Phone check")
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", name="Step 2 of 6: Places")).to_be_visible()
        page.get_by_role("button", name="Next", exact=True).click()
        page.get_by_role("button", name="Next", exact=True).click()
        expect(page.get_by_test_id("selection-count")).to_contain_text("customers selected")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page scrolls sideways at a phone's width ({width}px)"
        check_a11y(page, "customers at phone width")
        shot(page, "13-phone-customers")

        # Step 6 at a phone's width: the summary table keeps its columns apart.
        page.get_by_role("button", name="Select all", exact=True).click()
        page.get_by_role("button", name="Next", exact=True).click()
        expect(page.get_by_role("heading", name="Step 5 of 6: Message")).to_be_visible()
        page.get_by_role("textbox", name="Subject", exact=True).fill("Phone {{ first_name }}")
        editor = page.get_by_role("textbox", name="Message", exact=True)
        editor.click()
        editor.press_sequentially("Hello from a phone")
        page.get_by_role("button", name="Next", exact=True).click()
        expect(page.get_by_role("heading", name="Step 6 of 6: Schedule & send")).to_be_visible()
        expect(page.get_by_test_id("send-checklist")).to_be_visible()
        cells = page.get_by_role("row", name=re.compile("^Email")).get_by_role("cell")
        first, second = cells.nth(0).bounding_box(), cells.nth(1).bounding_box()
        assert first
        assert second
        assert first["x"] + first["width"] <= second["x"] + 1, "the channel runs into its count"
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"step 6 scrolls sideways at a phone's width ({width}px)"
        check_a11y(page, "step 6 at phone width")
        shot(page, "13b-phone-step-6")
        page.get_by_role("button", name="Review and send").click()
        dialog = page.get_by_role("dialog", name="Send this campaign now?")
        expect(dialog.get_by_role("button", name="Send now")).to_be_enabled()
        check_a11y(page, "send dialog at phone width")
        page.keyboard.press("Escape")
        expect(dialog).to_have_count(0)
        # Focus comes back to the button that opened the dialog, not to <body>.
        expect(page.get_by_role("button", name="Review and send")).to_be_focused()

        # The finished demo campaign's recipients modal at a phone's width.
        page.goto("/campaigns")
        page.get_by_test_id("campaign-row").filter(has_text="Autumn welcome back").get_by_role(
            "link", name="Autumn welcome back"
        ).click()
        expect(page.get_by_role("heading", level=1, name="Autumn welcome back")).to_be_visible()
        check_a11y(page, "finished campaign at phone width")
        page.get_by_role("button", name="View recipients").click()
        modal = page.get_by_role("dialog", name=re.compile("^Recipients of"))
        table = modal.get_by_test_id("recipients-table")
        expect(table).to_be_visible()
        sent = table.locator("tbody").get_by_text("Sent", exact=True).first
        expect(sent).to_be_visible()
        box = sent.bounding_box()
        assert box
        assert box["x"] + box["width"] <= 390, f"the status is cut off: {box}"
        check_a11y(page, "recipients modal at phone width")
        shot(page, "13c-phone-recipients")
    finally:
        context.close()
