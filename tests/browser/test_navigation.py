"""The navigation on a phone: every entry stays inside the bar and the screen."""

import pytest
from playwright.sync_api import Browser, expect
from pytest_django.live_server_helper import LiveServer

from tests.browser.test_smoke import DEMO_PASSWORD, demo_enterprise, sign_in  # noqa: F401

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def test_the_navigation_fits_a_390_pixel_screen(
    browser: Browser,
    live_server: LiveServer,
    demo_enterprise: None,  # noqa: F811
) -> None:
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    # Iris manages IT: the longest navigation (approvals, queues, team, overview, dashboards).
    sign_in(page, live_server, username="iris", password=DEMO_PASSWORD)
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Overview")).to_be_visible()

    bar = page.locator("header.topbar").bounding_box()
    assert bar is not None
    links = nav.get_by_role("link")
    assert links.count() >= 7
    for index in range(links.count()):
        box = links.nth(index).bounding_box()
        assert box is not None
        assert box["x"] >= 0, index
        assert box["x"] + box["width"] <= PHONE["width"], index
        assert bar["y"] <= box["y"], index
        assert box["y"] + box["height"] <= bar["y"] + bar["height"], index
    sign_out = page.get_by_role("button", name="Sign out")
    expect(sign_out).to_be_in_viewport()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    context.close()
