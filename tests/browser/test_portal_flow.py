"""The portal end to end in a real browser: an employee asks, an agent works it, the
employee sees the answer and rates it. (The onboarding form, its conditional field and its
refusal are followed in test_journey_end_to_end.py.)

Each person gets a browser context of their own, as if on their own machine.
"""

import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import Browser, Page, expect
from pytest_django.live_server_helper import LiveServer

from services import actions
from services.models import FulfilmentTask, ServiceRequest, pk_from_reference
from tests.browser.accessibility import blocking_violations
from tests.browser.conftest import DEFAULT_TIMEOUT_MS
from tests.browser.test_smoke import (
    ARTIFACTS,
    DEMO_PASSWORD,
    demo_enterprise,  # noqa: F401  (the smoke test's fixture, applied through usefixtures)
    sign_in,
)

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("demo_enterprise")]

User = get_user_model()
REFERENCE = re.compile(r"REQ-\d{6}")


@contextmanager
def signed_in(browser: Browser, live_server: LiveServer, username: str) -> Iterator[Page]:
    """A page in a fresh browser context (its own cookies), signed in as `username`."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    try:
        page = context.new_page()
        sign_in(page, live_server, username=username, password=DEMO_PASSWORD)
        expect(page).to_have_url(f"{live_server.url}/")
        yield page
    finally:
        context.close()


def look(page: Page, name: str) -> None:
    """Save the page as it is now under .artifacts/, and check it with axe-core: no serious
    or critical accessibility violation."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / name, full_page=True)
    assert blocking_violations(page) == []


def reference_on(page: Page) -> str:
    """The REQ reference of the request page the browser is on."""
    expect(page).to_have_url(re.compile(r"/requests/REQ-\d{6}/$"))
    match = REFERENCE.search(page.url)
    assert match is not None
    return match.group()


def service_request_for(reference: str) -> ServiceRequest:
    return ServiceRequest.objects.get(pk=pk_from_reference(reference))


def only_unclaimed_task_in_its_queue(task: FulfilmentTask) -> None:
    """Have the IT manager take the rest of the queue, so "Take next" can only give `task`.

    The demo queues hold other work, some of it more urgent than a fresh request; which of
    them is most urgent is the SLA's business, not this test's.
    """
    manager = User.objects.get(username="iris")
    others = FulfilmentTask.objects.filter(
        queue=task.queue, state=FulfilmentTask.State.QUEUED, assignee__isnull=True
    ).exclude(pk=task.pk)
    for other in others:
        actions.task_assign(task=other, assignee=manager, by=manager)


def test_agent_takes_replies_and_resolves_then_the_employee_rates_it(
    browser: Browser, live_server: LiveServer
) -> None:
    with signed_in(browser, live_server, "alex") as alex:
        alex.goto(f"{live_server.url}/catalog/report-an-it-problem/")
        alex.get_by_label("Subject").fill("Salesforce logs me out every few minutes")
        alex.get_by_label("What is affected?").select_option("An application")
        alex.get_by_label("What happened?").fill("Since Monday, every few minutes.")
        alex.get_by_role("button", name="Submit request").click()
        reference = reference_on(alex)
        # No approval and no fulfilment plan: it goes straight to IT's queue.
        expect(alex.get_by_role("region", name="Where it stands")).to_contain_text(
            "Waiting for IT to pick it up."
        )

    task = FulfilmentTask.objects.select_related("queue").get(
        service_request=service_request_for(reference)
    )
    only_unclaimed_task_in_its_queue(task)

    with signed_in(browser, live_server, "ivan") as ivan:
        ivan.get_by_role("navigation", name="Main").get_by_role("link", name="Queues").click()
        expect(ivan.get_by_role("heading", level=1)).to_have_text("Queues")
        ivan.get_by_role("link", name=task.queue.name, exact=True).click()
        expect(ivan.get_by_role("heading", level=1)).to_have_text(task.queue.name)
        look(ivan, "queue.png")
        ivan.get_by_role("button", name="Take next").click()

        expect(ivan).to_have_url(f"{live_server.url}/tasks/{task.pk}/")
        expect(ivan.locator(".messages")).to_contain_text(f"{reference} is yours.")
        expect(ivan.get_by_role("heading", level=1)).to_contain_text(reference)
        expect(ivan.locator(".lead")).to_contain_text("You are working on it")
        ivan.get_by_label("Reply to the employee").fill(
            "Hi Alex, I have unlocked your Salesforce account: sign in again and choose a "
            "new password when it asks."
        )
        ivan.get_by_role("button", name="Send reply").click()
        expect(ivan.locator(".messages")).to_contain_text("Reply sent to the employee.")
        expect(ivan.locator(".comment")).to_contain_text("I have unlocked your Salesforce account")
        look(ivan, "task.png")
        ivan.get_by_label("Resolution note").fill("Account unlocked after three failed sign-ins.")
        ivan.get_by_role("button", name="Resolve").click()
        expect(ivan.locator(".messages")).to_contain_text("Task resolved.")
        expect(ivan.get_by_role("heading", name="Done", level=2)).to_be_visible()

    with signed_in(browser, live_server, "alex") as alex:
        alex.get_by_role("navigation", name="Main").get_by_role("link", name="My requests").click()
        row = alex.get_by_role("row").filter(has=alex.get_by_role("link", name=reference))
        expect(row).to_contain_text("Resolved")
        row.get_by_role("link", name=reference).click()

        expect(alex.get_by_role("region", name="Where it stands")).to_contain_text(
            "Resolved by IT."
        )
        resolution = alex.locator(".card").filter(
            has=alex.get_by_role("heading", name="Resolution")
        )
        expect(resolution).to_contain_text("Account unlocked after three failed sign-ins.")
        conversation = alex.locator(".card").filter(
            has=alex.get_by_role("heading", name="Conversation")
        )
        expect(conversation).to_contain_text("Ivan Ito")
        expect(conversation).to_contain_text("I have unlocked your Salesforce account")
        rating = alex.get_by_role("group", name="From 5 (great) to 1 (poor)")
        rating.get_by_label("4", exact=True).check()
        alex.get_by_label("Anything to add?").fill("Quick, thank you.")
        alex.get_by_role("button", name="Send rating").click()

        expect(alex.get_by_role("heading", name="Your rating")).to_be_visible()
        expect(alex.get_by_text("4/5 · Quick, thank you.")).to_be_visible()
        expect(alex.locator(".timeline")).to_contain_text("Rated 4/5 by you")
        look(alex, "request-detail.png")

    assert service_request_for(reference).rating.score == 4
