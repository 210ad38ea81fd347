"""Small helpers shared by the end-to-end tests."""

from __future__ import annotations

import re
import time
from pathlib import Path

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
_axe = Axe()


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


# Moderate rules a person noticed (issue 15): they fail the check too.
ALSO_FAILING = {"heading-order", "label-content-name-mismatch"}


def check_a11y(page: Page, name: str) -> None:
    """axe-core on the current page: no serious or critical violations, nor the moderate
    ones in ALSO_FAILING."""
    # A button that was just re-enabled fades from its disabled colour (transition-colors);
    # axe would measure the contrast of that in-between colour, which no user ever reads.
    # Only transitions: a spinner's animation never ends, a cancelled one rejects.
    page.evaluate(
        """() => Promise.all(document.getAnimations()
            .filter((a) => a instanceof CSSTransition)
            .map((a) => a.finished.catch(() => null)))"""
    )
    results = _axe.run(page)
    bad = [
        v
        for v in results.response["violations"]
        if v.get("impact") in ("serious", "critical") or v["id"] in ALSO_FAILING
    ]
    details = "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(n["target"][0] if n["target"] else "?" for n in v["nodes"][:5])
        for v in bad
    )
    assert not bad, f"axe found serious/critical violations on {name}:\n{details}"


def login(page: Page, email: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Campaigns", level=1)).to_be_visible()


def selection_text(page: Page) -> str:
    return page.get_by_test_id("selection-count").inner_text()


def count_of(text: str) -> tuple[int, int]:
    match = re.search(r"([\d,]+) of ([\d,]+) customers selected", text)
    assert match, text
    return int(match[1].replace(",", "")), int(match[2].replace(",", ""))


def wait_for(predicate, timeout: float = 30, interval: float = 0.5) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False
