"""One journey through the whole product in a real browser, as its people live it.

An employee finds "New hire onboarding" by searching, fills its conditional form and
follows the request across departments; an IT agent takes the laptop, asks Facilities a
question and hands the work over; a Facilities agent answers and resolves; the employee
rates it; the HR manager reads the value-stream map and the journey map; the executive
refreshes the executive dashboard and drills into the watermelon the ratings make.

Every page on the way is saved under `.artifacts/journeys/` and checked with axe-core: no
serious or critical accessibility violation is allowed on any of them.
"""

import datetime as dt
import re

import pytest
from django.contrib.auth import get_user_model
from django.db.models import Avg, Count
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect
from pytest_django.live_server_helper import LiveServer

from services import actions
from services.models import Approval, ExperienceRating, FulfilmentTask, Queue, ServiceRequest
from tests.browser.accessibility import PageLog
from tests.browser.test_portal_flow import (
    only_unclaimed_task_in_its_queue,
    reference_on,
    service_request_for,
    signed_in,
)
from tests.browser.test_smoke import (
    ARTIFACTS,
    demo_enterprise,  # noqa: F401  (the ratings' fixture's)
)
from tests.browser.test_workspace_flow import submit

pytestmark = pytest.mark.browser

User = get_user_model()

SERVICE = "Joining and leaving"  # the service "New hire onboarding" delivers
EARLIER_REQUESTERS = ["sam", "felix", "fatima", "fred"]  # people with a manager to approve
SUBJECT = "New hire in Sales: Jordan's first week"
EMPLOYEE_COMMENT = "Everything arrived on time, but I had to chase three teams to learn it."


@pytest.fixture
def kept_promises_poorly_rated(demo_enterprise: None) -> None:  # noqa: F811
    """Four onboardings this month, each resolved at once (well inside the promise) and
    rated 2 of 5 with a comment: with the journey's own rating, the five ratings the
    watermelon rule needs at the least, whatever the demo's own requests add."""
    hr_agent = User.objects.get(username="hana")
    for number, username in enumerate(EARLIER_REQUESTERS, start=1):
        requester = User.objects.get(username=username)
        service_request = submit(
            username,
            "new-hire-onboarding",
            f"New starter {number} in Operations",
            {
                "first_name": "Sasha",
                "last_name": f"Novak {number}",
                "start_date": (timezone.localdate() + dt.timedelta(days=14)).isoformat(),
                "location": "Manchester",
                "laptop_needed": "no",
            },
        )
        approval = service_request.approvals.get(state=Approval.State.PENDING)
        actions.approval_decide(approval=approval, user=approval.approver, approve=True)
        actions.service_request_resolve(
            service_request=service_request, user=hr_agent, resolution="All set for day one."
        )
        actions.service_request_rate(
            service_request=service_request,
            user=requester,
            score=2,
            comment=f"Onboarding {number}: nobody told us what was happening until day one.",
        )


def open_in_queue(page: Page, queue: Queue, reference: str, title: str) -> None:
    """From the navigation to `queue`, then to the task `title` of the request `reference`
    (a request may have several tasks in one queue: its work and a question to answer)."""
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Queues").click()
    page.get_by_role("link", name=queue.name, exact=True).click()
    page.get_by_label("Search").fill(reference)
    page.get_by_role("button", name="Filter").click()
    page.locator("tr.task-row").filter(has_text=title).get_by_role("link", name=reference).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"{reference} · {title}")


@pytest.mark.usefixtures("kept_promises_poorly_rated")
def test_a_new_hire_from_request_to_the_executive_dashboard(
    browser: Browser, live_server: LiveServer
) -> None:
    pages = PageLog(ARTIFACTS / "journeys")

    # The employee finds the item by searching and fills its conditional form.
    with signed_in(browser, live_server, "alex") as alex:
        pages.look(alex, "portal-home")
        alex.get_by_role("searchbox", name="Search services and articles").fill("onboarding")
        alex.get_by_role("button", name="Search").click()
        pages.look(alex, "search-results")
        alex.get_by_role("link", name="New hire onboarding").click()
        expect(alex.get_by_role("heading", level=1)).to_have_text("New hire onboarding")
        expect(alex.get_by_text("Needs approval from your manager")).to_be_visible()
        # The laptop model is asked only once a laptop is needed, and goes again on "No".
        laptop_needed = alex.get_by_role("group", name="Laptop needed?")
        laptop_model = alex.get_by_label("Laptop model")
        expect(laptop_model).to_be_hidden()
        laptop_needed.get_by_label("Yes").check()
        expect(laptop_model).to_be_visible()
        laptop_needed.get_by_label("No").check()
        expect(laptop_model).to_be_hidden()

        alex.get_by_label("Subject").fill(SUBJECT)
        # Typing the subject suggests knowledge articles (htmx) before anything is raised.
        expect(alex.locator("#suggestions")).to_contain_text("Your new hire's first week")
        alex.get_by_label("New hire's first name").fill("Jordan")
        alex.get_by_label("New hire's last name").fill("Lee")
        start = timezone.localdate() + dt.timedelta(days=21)
        alex.get_by_label("Start date").fill(start.isoformat())
        alex.get_by_label("Location").select_option("London HQ")
        laptop_needed.get_by_label("Yes").check()
        pages.look(alex, "catalog-item-form")
        alex.get_by_role("button", name="Submit request").click()

        # The server refuses the missing laptop model, says so beside it, and keeps the answers.
        expect(alex.get_by_role("alert")).to_contain_text("nothing has been sent yet")
        model_field = alex.locator(".field").filter(has=laptop_model)
        expect(model_field.locator(".error")).to_have_text("This field is required.")
        expect(alex.get_by_label("New hire's first name")).to_have_value("Jordan")
        expect(laptop_model).to_be_visible()
        assert not ServiceRequest.objects.filter(subject=SUBJECT).exists()
        pages.look(alex, "catalog-item-form-refused")
        laptop_model.select_option("MacBook Pro 14")
        alex.get_by_role("button", name="Submit request").click()

        reference = reference_on(alex)
        expect(alex.get_by_role("heading", level=1)).to_have_text(f"{reference} · {SUBJECT}")
        expect(alex.locator(".messages")).to_contain_text(f"Your request {reference} is submitted")
        where = alex.get_by_role("region", name="Where it stands")
        expect(where).to_contain_text("Awaiting approval")
        expect(where).to_contain_text("Waiting for approval from")
        answers = alex.locator("dl.answers")
        expect(answers).to_contain_text("MacBook Pro 14")
        expect(answers).to_contain_text("Jordan")
        pages.look(alex, "request-awaiting-approval")

    service_request = service_request_for(reference)
    approval = service_request.approvals.get(state=Approval.State.PENDING)
    actions.approval_decide(approval=approval, user=approval.approver, approve=True)

    # The employee follows it: the automatic steps are done, IT and Facilities have it.
    with signed_in(browser, live_server, "alex") as alex:
        alex.get_by_role("navigation", name="Main").get_by_role("link", name="My requests").click()
        row = alex.get_by_role("row").filter(has=alex.get_by_role("link", name=reference))
        expect(row).to_contain_text("New hire onboarding")
        expect(row).to_contain_text("In progress")
        pages.look(alex, "my-requests")
        row.get_by_role("link", name=reference).click()
        expect(alex.get_by_role("region", name="Where it stands")).to_contain_text(
            "Waiting for IT and Facilities to pick it up."
        )
        progress = alex.get_by_role("region", name="Progress")
        expect(progress.locator("li").filter(has_text="Book a desk")).to_contain_text("Done")
        expect(progress).to_contain_text("Waiting to be picked up in IT")
        pages.look(alex, "request-across-departments")

    laptop = FulfilmentTask.objects.select_related("queue").get(
        service_request=service_request, step_key="laptop"
    )
    only_unclaimed_task_in_its_queue(laptop)
    workplace = Queue.objects.get(name="Workplace")

    # IT takes the next task, the laptop, and asks Facilities where it goes.
    with signed_in(browser, live_server, "ivan") as ivan:
        ivan.get_by_role("navigation", name="Main").get_by_role("link", name="Queues").click()
        ivan.get_by_role("link", name=laptop.queue.name, exact=True).click()
        pages.look(ivan, "it-queue")
        ivan.get_by_role("button", name="Take next").click()
        expect(ivan).to_have_url(f"{live_server.url}/tasks/{laptop.pk}/")
        expect(ivan.locator(".lead")).to_contain_text("You are working on it")
        consults = ivan.locator("#consults")
        consults.get_by_label("Ask").select_option(label=f"Facilities: {workplace.name}")
        consults.get_by_label("Question").fill("Which desk is Jordan's? The laptop goes there.")
        consults.get_by_role("button", name="Ask and wait").click()
        expect(ivan.locator("#consults")).to_contain_text("Not picked up yet")
        pages.look(ivan, "it-task-consulting")

    # Facilities answers the question from its own queue.
    with signed_in(browser, live_server, "fiona") as fiona:
        open_in_queue(fiona, workplace, reference, "Question from IT: Prepare the laptop")
        fiona.get_by_label("Answer").fill("Desk 3.14 on the third floor, by the window.")
        fiona.get_by_role("button", name="Answer").click()
        expect(fiona.locator("#consult")).to_contain_text("Desk 3.14")
        pages.look(fiona, "facilities-consult-answered")

    # IT, with its answer, hands the laptop over to Facilities to install at the desk.
    with signed_in(browser, live_server, "ivan") as ivan:
        ivan.goto(f"{live_server.url}/tasks/{laptop.pk}/")
        expect(ivan.locator("#consults")).to_contain_text("Desk 3.14")
        ivan.get_by_label("Hand off to").select_option(label=f"Facilities: {workplace.name}")
        ivan.get_by_label("Reason").fill("Laptop imaged and enrolled: install it on desk 3.14.")
        ivan.get_by_role("button", name="Hand off").click()
        expect(ivan.locator(".messages")).to_contain_text("Handed off.")
        pages.look(ivan, "it-task-handed-off")

    # Facilities resolves both of its tasks: the laptop it received and the desk.
    with signed_in(browser, live_server, "fiona") as fiona:
        for title, note in (
            ("Prepare the laptop", "Laptop installed on desk 3.14 and switched on."),
            ("Set up the desk: screen, dock and chair", "Desk 3.14: screen, dock and chair."),
        ):
            open_in_queue(fiona, workplace, reference, title)
            fiona.get_by_role("button", name="Claim").click()
            fiona.get_by_label("Resolution note").fill(note)
            fiona.get_by_role("button", name="Resolve").click()
            expect(fiona.locator(".messages")).to_contain_text("Task resolved.")
        pages.look(fiona, "facilities-task-resolved")

    # The employee sees it resolved, and rates it.
    with signed_in(browser, live_server, "alex") as alex:
        alex.goto(f"{live_server.url}/requests/{reference}/")
        expect(alex.get_by_role("region", name="Where it stands")).to_contain_text("Resolved")
        pages.look(alex, "request-resolved")
        rating = alex.get_by_role("group", name="From 5 (great) to 1 (poor)")
        rating.get_by_label("2", exact=True).check()
        alex.get_by_label("Anything to add?").fill(EMPLOYEE_COMMENT)
        alex.get_by_role("button", name="Send rating").click()
        expect(alex.get_by_role("heading", name="Your rating")).to_be_visible()
        pages.look(alex, "request-rated")

    service_request.refresh_from_db()
    assert service_request.state == ServiceRequest.State.RESOLVED
    assert service_request.rating.score == 2

    # The HR manager, owner of the onboarding stream and journey, reads both maps.
    with signed_in(browser, live_server, "holly") as holly:
        nav = holly.get_by_role("navigation", name="Main")
        nav.get_by_role("link", name="Value streams").click()
        holly.get_by_role("link", name="Onboarding a new hire").click()
        expect(holly.get_by_role("heading", level=1)).to_contain_text("Onboarding")
        pages.look(holly, "value-stream-map")
        nav.get_by_role("link", name="Journeys").click()
        holly.get_by_role("link", name=re.compile("New hire")).first.click()
        expect(holly.get_by_role("heading", level=1)).to_contain_text("New hire")
        pages.look(holly, "journey-map")

    ratings = ExperienceRating.objects.filter(
        service_request__catalog_item__service__name=SERVICE
    ).aggregate(mean=Avg("score"), count=Count("pk"))
    rated = f"{ratings['mean']:.1f}"
    assert ratings["mean"] < 3.5  # the experience measure's act-at point: red inside

    # The executive refreshes today's figures and finds the watermelon: promises kept,
    # people unhappy; the drill-down shows the service's figures side by side.
    with signed_in(browser, live_server, "erin") as erin:
        erin.get_by_role("navigation", name="Main").get_by_role("link", name="Dashboards").click()
        erin.get_by_role("link", name="Outcomes across departments").click()
        erin.get_by_role("button", name="Refresh the figures now").click()
        melons = erin.locator(".rp-watermelon")
        melon = melons.filter(has=erin.get_by_role("heading", name=SERVICE))
        # Everything resolved at once, inside its promise: green outside.
        expect(melon).to_contain_text(
            f"Promises kept 100% of {ratings['count']} resolved, "
            f"yet rated {rated} of 5 by {ratings['count']} requesters."
        )
        expect(melon).to_contain_text(EMPLOYEE_COMMENT)
        pages.look(erin, "executive-dashboard")
        melon.get_by_role("link", name=SERVICE).click()
        expect(erin.get_by_role("heading", level=1)).to_have_text(SERVICE)
        figures = erin.locator(".card").filter(has=erin.get_by_role("heading", name="From the log"))
        expect(figures.locator("div").filter(has_text="Within the promise")).to_contain_text("100%")
        expect(figures).to_contain_text(f"{rated} of 5, {ratings['count']} rated")
        pages.look(erin, "watermelon-service")

    assert pages.violations == []
