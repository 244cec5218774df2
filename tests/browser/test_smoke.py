"""Smoke test in a real browser: the demo employee signs in and lands on the portal."""

import io
import re
from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from tests.browser.accessibility import blocking_violations

pytestmark = pytest.mark.browser

DEMO_PASSWORD = "browser-smoke-test-password"
ARTIFACTS = Path(__file__).resolve().parents[2] / ".artifacts"


@pytest.fixture
def demo_enterprise(transactional_db: None) -> None:
    """The demo enterprise, committed, so the live server's own connection sees it."""
    call_command("seed_demo", password=DEMO_PASSWORD, without_history=True, stdout=io.StringIO())


def sign_in(page: Page, live_server: LiveServer, *, username: str, password: str) -> None:
    page.goto(f"{live_server.url}/account/sign-in/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_demo_employee_signs_in_and_lands_on_the_portal(
    page: Page, live_server: LiveServer, demo_enterprise: None
) -> None:
    sign_in(page, live_server, username="alex", password=DEMO_PASSWORD)

    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("what do you need?")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Portal")).to_be_visible()
    # Alex is an employee: no queues or admin in the navigation; dashboards, as everyone.
    expect(nav.get_by_role("link", name="Dashboards")).to_be_visible()
    for label in ("Queues", "Team", "Admin"):
        expect(nav.get_by_role("link", name=label)).to_have_count(0)

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "portal-home.png", full_page=True)


def test_wrong_password_shows_an_error_and_stays_on_sign_in(
    page: Page, live_server: LiveServer, demo_enterprise: None
) -> None:
    sign_in(page, live_server, username="alex", password="not-the-password")

    expect(page).to_have_url(re.compile(r"/account/sign-in/$"))
    expect(page.get_by_role("alert")).to_contain_text("correct username and password")
    expect(page.get_by_role("navigation", name="Main")).to_have_count(0)
    # The error is announced and the form stays labelled for assistive technology.
    assert blocking_violations(page) == []
