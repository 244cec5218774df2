"""The staff side in a real browser: a manager's approval, and a handoff between departments.

The requests are raised through the actions (the portal test raises them through the
form); everything the approver and the agents do happens in the browser.
"""

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import Browser, Page, expect
from pytest_django.live_server_helper import LiveServer

from services import actions
from services.forms import RequestForm
from services.models import CatalogItem, FulfilmentTask, Queue, ServiceRequest
from tests.browser.test_portal_flow import look, signed_in
from tests.browser.test_smoke import demo_enterprise  # noqa: F401  (applied through usefixtures)

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("demo_enterprise")]

User = get_user_model()


def submit(username: str, item_slug: str, subject: str, answers: dict[str, Any]) -> ServiceRequest:
    """Raise a request as `username` would through the item's form."""
    item = CatalogItem.objects.prefetch_related("fields").get(slug=item_slug)
    data = {"subject": subject, "submission_key": f"browser-{item_slug}"}
    data.update({f"field_{key}": value for key, value in answers.items()})
    form = RequestForm(data=data, item=item)
    assert form.is_valid(), form.errors.as_json()
    service_request, _ = actions.service_request_submit(
        item=item,
        raised_by=User.objects.get(username=username),
        subject=subject,
        answers=form.answer_rows(),
        submission_key=data["submission_key"],
    )
    return service_request


def open_task_in_queue(page: Page, queue: Queue, reference: str) -> None:
    """From the navigation to the queue, then to the request's task, found by its reference."""
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Queues").click()
    page.get_by_role("link", name=queue.name, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(queue.name)
    # Demo queues are busy: look the request up rather than hope it is on the first page.
    page.get_by_label("Search").fill(reference)
    page.get_by_role("button", name="Filter").click()
    row = page.locator("tr.task-row")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(reference)
    row.get_by_role("link", name=reference).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(reference)


def test_manager_approves_onboarding_and_its_plan_reaches_it(
    browser: Browser, live_server: LiveServer
) -> None:
    service_request = submit(
        "alex",
        "new-hire-onboarding",
        "Riley Chen joins Sales in January",
        {
            "first_name": "Riley",
            "last_name": "Chen",
            "start_date": "2027-01-11",
            "location": "Manchester",
            "laptop_needed": "yes",
            "laptop_model": "ThinkPad X1 Carbon",
        },
    )
    reference = service_request.reference
    assert service_request.state == ServiceRequest.State.AWAITING_APPROVAL

    with signed_in(browser, live_server, "sam") as sam:
        sam.get_by_role("navigation", name="Main").get_by_role("link", name="Approvals").click()
        card = sam.locator("section.approval").filter(has=sam.get_by_role("link", name=reference))
        expect(card).to_contain_text("New hire onboarding for Alex Morgan")
        expect(card.locator("dl.answers")).to_contain_text("ThinkPad X1 Carbon")
        # Rejecting needs a reason: the error shows beside the comment, nothing is decided.
        card.get_by_role("button", name="Reject").click()
        card = sam.locator("section.approval").filter(has=sam.get_by_role("link", name=reference))
        expect(card.locator(".error")).to_contain_text("Say why")
        look(sam, "approval-refused.png")
        service_request.refresh_from_db()
        assert service_request.state == ServiceRequest.State.AWAITING_APPROVAL

        card.get_by_label("Comment").fill("Welcome Riley: the headcount is in this year's plan.")
        card.get_by_role("button", name="Approve").click()
        expect(sam.locator(".messages")).to_contain_text(f"{reference} approved.")
        expect(sam.get_by_role("link", name=reference)).to_have_count(0)

    with signed_in(browser, live_server, "alex") as alex:
        alex.goto(f"{live_server.url}/requests/{reference}/")
        # An HR item whose plan's open steps are IT's and Facilities': they have it now.
        expect(alex.get_by_role("region", name="Where it stands")).to_contain_text(
            "Waiting for IT and Facilities to pick it up. Next:"
        )
        approvals = alex.locator(".card").filter(has=alex.get_by_role("heading", name="Approvals"))
        expect(approvals).to_contain_text("Sam Patel (Alex Morgan's manager): Approved")
        expect(approvals).not_to_contain_text("by Sam Patel")
        expect(approvals).to_contain_text("the headcount is in this year's plan")

        # The plan ran its automated steps; the laptop waits for a person in IT.
        progress = alex.get_by_role("region", name="Progress")
        expect(progress).to_contain_text("Create the employee record")
        expect(progress).to_contain_text("Waiting to be picked up in IT")

    # Facilities sets up the workstation meanwhile, in parallel with IT's laptop.
    tasks = FulfilmentTask.objects.select_related("queue__department").filter(
        service_request=service_request
    )
    assert {(t.step_key, t.queue.department.slug) for t in tasks} == {
        ("laptop", "it"),
        ("workstation", "facilities"),
    }
    task = tasks.get(step_key="laptop")
    assert task.title == "Prepare the laptop"
    with signed_in(browser, live_server, "ivan") as ivan:
        open_task_in_queue(ivan, task.queue, reference)
        expect(ivan.locator(".lead")).to_contain_text("Unclaimed")
        expect(ivan.locator(".facts")).to_contain_text("ThinkPad X1 Carbon")


def test_facilities_hands_off_to_it_and_it_sees_the_task_in_its_queue(
    browser: Browser, live_server: LiveServer
) -> None:
    service_request = submit(
        "alex",
        "report-a-facilities-issue",
        "Meeting room screen will not show laptops",
        {
            "office": "London HQ",
            "where": "Third floor, room 3.12",
            "details": "The wall screen says 'no signal' with every laptop we plug in.",
            "urgency": "Stops me working",
        },
    )
    reference = service_request.reference
    facilities_task = FulfilmentTask.objects.select_related("queue").get(
        service_request=service_request
    )
    it_queue = Queue.objects.filter(department__slug="it").order_by("-is_default", "name").first()
    assert it_queue is not None
    reason = "The screen works; the room's display adapter needs IT to re-pair it."

    with signed_in(browser, live_server, "fiona") as fiona:
        open_task_in_queue(fiona, facilities_task.queue, reference)
        fiona.get_by_role("button", name="Claim").click()
        expect(fiona.locator(".lead")).to_contain_text("You are working on it")
        fiona.get_by_label("Hand off to").select_option(
            label=f"{it_queue.department.name}: {it_queue.name}"
        )
        fiona.get_by_label("Reason").fill(reason)
        fiona.get_by_role("button", name="Hand off").click()
        expect(fiona.locator(".messages")).to_contain_text("Handed off.")
        expect(fiona.get_by_role("heading", name="Handed off", level=2)).to_be_visible()
        # The header and the card say where it went, when, by whom and why.
        expect(fiona.locator(".lead")).not_to_contain_text("working on it")
        expect(fiona.locator(".lead")).to_contain_text(f"Handed off to {it_queue.name} by you")
        ending = fiona.locator("#ending")
        expect(ending).to_contain_text(f"To {it_queue.name} ({it_queue.department.name})")
        expect(ending).to_contain_text("By you")
        expect(ending).to_contain_text(reason)
        look(fiona, "task-handed-off-by-facilities.png")

        # It has left Facilities' queue.
        fiona.get_by_role("link", name=facilities_task.queue.name, exact=True).click()
        fiona.get_by_label("Search").fill(reference)
        fiona.get_by_role("button", name="Filter").click()
        expect(fiona.get_by_text("No open task matches.")).to_be_visible()

    with signed_in(browser, live_server, "ivan") as ivan:
        open_task_in_queue(ivan, it_queue, reference)
        expect(ivan.locator(".notice")).to_contain_text("Handed over by Facilities")
        expect(ivan.locator(".notice")).to_contain_text(reason)
        expect(ivan.locator(".lead")).to_contain_text("Unclaimed")
        look(ivan, "task-handed-off.png")

    received = FulfilmentTask.objects.get(service_request=service_request, queue=it_queue)
    assert received.handed_off_from_id == facilities_task.pk
    facilities_task.refresh_from_db()
    assert facilities_task.state == FulfilmentTask.State.HANDED_OFF
