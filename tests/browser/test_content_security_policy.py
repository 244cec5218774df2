"""The pages that run scripts (charts, htmx forms, the workspace, Swagger UI) and draw SVG
work under the Content-Security-Policy: Chromium reports no violation on any of them."""

import pytest
from playwright.sync_api import Page
from pytest_django.live_server_helper import LiveServer

from tests.browser.test_smoke import DEMO_PASSWORD, demo_enterprise, sign_in  # noqa: F401

pytestmark = pytest.mark.browser

PAGES = {
    "erin": [
        "/dashboards/executive-outcomes/",
        "/reporting/portfolio/",
        "/reporting/collaboration/",
        "/api/docs/",
    ],
    "alex": ["/catalog/new-hire-onboarding/", "/catalog/password-reset/"],
    "ivan": ["/queues/it-service-desk/", "/work/"],
    "admin": ["/admin/", "/admin/services/catalogitem/add/", "/admin/esm/event/"],
}


def _violations(page: Page) -> list[str]:
    found: list[str] = []
    page.on(
        "console",
        lambda message: (
            found.append(f"{page.url}: {message.text}")
            if "Content Security Policy" in message.text
            else None
        ),
    )
    return found


@pytest.mark.parametrize("username", sorted(PAGES))
def test_no_page_breaks_the_policy(
    page: Page,
    live_server: LiveServer,
    demo_enterprise: None,  # noqa: F811
    username: str,
) -> None:
    violations = _violations(page)
    sign_in(page, live_server, username=username, password=DEMO_PASSWORD)

    for path in PAGES[username]:
        response = page.goto(f"{live_server.url}{path}")
        assert response is not None, path
        assert response.status == 200, path
        page.wait_for_load_state("networkidle")

    assert violations == []
