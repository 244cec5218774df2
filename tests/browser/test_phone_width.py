"""On a 390-pixel phone, no page body scrolls sideways, and axe-core finds no serious or
critical accessibility violation on it.

Employees raise and follow requests from their phones, so every portal page must fit; the
staff pages must stay usable, their wide tables scrolling inside their own box.

The whole page counts, the navigation bar included (it wraps below its breakpoint). The
pages are the ones people reach from the navigation, so the same visit checks each with
axe: a phone's layout is where hidden labels and cramped contrast show first.
"""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from playwright.sync_api import Browser, Page
from pytest_django.live_server_helper import LiveServer

from journeys.models import Touchpoint
from services import actions
from services.models import CatalogItem
from tests.browser.accessibility import blocking_violations
from valuestreams.models import HandoffTarget, Stage

pytestmark = pytest.mark.browser

PASSWORD = "browser-phone-test-password"
PHONE = {"width": 390, "height": 844}

PAGE_WIDTH = "() => document.documentElement.scrollWidth"
# The visible controls that stick out of the screen sideways with no box of their own to
# scroll them into view (a wide table's links inside its scrolling box are reachable).
CONTROLS_OFF_SCREEN = """() => {
    const width = document.documentElement.clientWidth;
    const inScrollBox = (element) => {
        for (let box = element.parentElement; box; box = box.parentElement) {
            const scrolls = ["auto", "scroll"].includes(getComputedStyle(box).overflowX);
            if (scrolls && box.scrollWidth > box.clientWidth) {
                return true;
            }
        }
        return false;
    };
    const controls = "a[href], button, input:not([type=hidden]), select, textarea, summary";
    return [...document.querySelectorAll(controls)]
        .filter((control) => control.getClientRects().length > 0)
        .filter((control) => {
            const box = control.getBoundingClientRect();
            return (box.left < 0 || box.right > width + 1) && !inScrollBox(control);
        })
        .map((control) => control.outerHTML.slice(0, 100));
}"""


@pytest.fixture
def cases(transactional_db: None) -> dict[str, str]:
    """The demo enterprise, with a request of Alex's waiting for Sam's approval and one in
    IT's queue, committed so the live server's own connection sees them."""
    call_command("seed_demo", password=PASSWORD, without_history=True, stdout=io.StringIO())
    alex = get_user_model().objects.get(username="alex")
    waiting, _ = actions.service_request_submit(
        item=CatalogItem.objects.get(slug="software-access"),
        raised_by=alex,
        subject="Figma for the customer portal project's design reviews",
        answers=[],
        submission_key="phone-approval",
    )
    queued, _ = actions.service_request_submit(
        item=CatalogItem.objects.get(slug="report-an-it-problem"),
        raised_by=alex,
        subject="Salesforce logs me out every few minutes since the update on Monday",
        answers=[],
        submission_key="phone-queued",
    )
    return {
        "waiting": waiting.reference,
        "queued": queued.reference,
        "task": str(queued.tasks.get().pk),
    }


def _phone(browser: Browser, live_server: LiveServer, username: str) -> Page:
    page = browser.new_context(viewport=PHONE).new_page()
    page.goto(f"{live_server.url}/account/sign-in/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/**")
    return page


def _faults(page: Page, live_server: LiveServer, paths: list[str]) -> list[str]:
    """What is wrong with each of `paths` on the phone: a body wider than the screen, a
    control out of reach, and the serious or critical axe violations."""
    faults = []
    for path in paths:
        response = page.goto(f"{live_server.url}{path}")
        assert response is not None
        assert response.status == 200, path
        width = page.evaluate(PAGE_WIDTH)
        if width > PHONE["width"]:
            faults.append(f"{path}: {width} pixels wide")
        faults.extend(
            f"{path}: out of reach: {html}" for html in page.evaluate(CONTROLS_OFF_SCREEN)
        )
        faults.extend(blocking_violations(page))
    return faults


def test_every_portal_page_fits_a_phone(
    browser: Browser, live_server: LiveServer, cases: dict[str, str]
) -> None:
    alex = _phone(browser, live_server, "alex")
    pages = [
        "/",
        "/?q=password",
        "/catalog/software-access/",
        "/catalog/report-an-it-problem/",
        "/catalog/new-hire-onboarding/",
        "/knowledge/reset-your-password-yourself/",
        "/account/password/change/",
        "/requests/",
        f"/requests/{cases['waiting']}/",
        f"/requests/{cases['queued']}/",
        "/approvals/",
    ]
    assert _faults(alex, live_server, pages) == []
    sam = _phone(browser, live_server, "sam")
    assert _faults(sam, live_server, ["/approvals/", f"/requests/{cases['waiting']}/"]) == []


def test_the_signed_out_pages_fit_a_phone(
    browser: Browser, live_server: LiveServer, db: None
) -> None:
    page = browser.new_context(viewport=PHONE).new_page()
    assert _faults(page, live_server, ["/account/sign-in/", "/account/password/reset/"]) == []


def test_staff_pages_fit_a_phone_with_tables_scrolling_in_their_box(
    browser: Browser, live_server: LiveServer, cases: dict[str, str]
) -> None:
    ivan = _phone(browser, live_server, "ivan")
    pages = [
        "/queues/",
        "/queues/it-service-desk/",
        f"/tasks/{cases['task']}/",
        f"/requests/{cases['queued']}/",
        "/work/",
        "/knowledge/",
        "/catalog/new-hire-onboarding/plan/",
    ]
    assert _faults(ivan, live_server, pages) == []
    iris = _phone(browser, live_server, "iris")  # manages IT
    assert _faults(iris, live_server, ["/departments/it/overview/"]) == []


def test_value_stream_pages_fit_a_phone(
    browser: Browser, live_server: LiveServer, cases: dict[str, str]
) -> None:
    holly = _phone(browser, live_server, "holly")  # owns the onboarding stream
    stage = Stage.objects.filter(stream__slug="onboarding").first()
    target = HandoffTarget.objects.filter(stream__slug="onboarding").first()
    assert stage is not None
    assert target is not None
    pages = [
        "/streams/onboarding/copis/",
        "/streams/onboarding/edit/",
        "/streams/onboarding/stages/",
        f"/streams/onboarding/stages/{stage.pk}/",
        "/streams/onboarding/handoffs/",
        f"/streams/onboarding/handoffs/{target.pk}/",
    ]
    assert _faults(holly, live_server, pages) == []


def test_measured_pages_fit_a_phone_with_their_drawings_scrolling_in_their_box(
    browser: Browser, live_server: LiveServer, cases: dict[str, str]
) -> None:
    holly = _phone(browser, live_server, "holly")  # owns the onboarding stream and journey
    touchpoint = Touchpoint.objects.filter(stage__journey__slug="new-hire-first-90-days").first()
    assert touchpoint is not None
    pages = [
        "/streams/",
        "/streams/onboarding/",
        "/streams/onboarding/cases/",
        "/journeys/",
        "/journeys/new-hire-first-90-days/",
        f"/journeys/new-hire-first-90-days/touchpoints/{touchpoint.pk}/",
        "/journeys/new-hire-first-90-days/edit/",
        "/journeys/new-hire-first-90-days/stages/",
    ]
    assert _faults(holly, live_server, pages) == []


def test_dashboards_fit_a_phone_with_their_cards_stacked(
    browser: Browser, live_server: LiveServer, cases: dict[str, str]
) -> None:
    erin = _phone(browser, live_server, "erin")  # an executive, owner of the executive report
    pages = [
        "/dashboards/",
        "/dashboards/executive-outcomes/",
        "/dashboards/executive-outcomes/print/",
        "/reporting/portfolio/",
        "/reporting/portfolio/joining-and-leaving/",
        "/reporting/collaboration/",
    ]
    assert _faults(erin, live_server, pages) == []
    iris = _phone(browser, live_server, "iris")  # manages IT
    assert _faults(iris, live_server, ["/dashboards/", "/dashboards/department-flow/"]) == []
    ivan = _phone(browser, live_server, "ivan")  # works IT's queues
    assert _faults(ivan, live_server, ["/dashboards/queue-activity/"]) == []
