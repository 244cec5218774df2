"""The README's first tour, followed step by step in a real browser.

The steps below are quoted from the README: if either the tour or the demo changes, this
test fails until the two agree again.
"""

import datetime as dt
import re
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, expect
from pytest_django.live_server_helper import LiveServer

from services.models import Queue, ServiceRequest
from tests.browser.test_portal_flow import reference_on, service_request_for, signed_in
from tests.browser.test_smoke import demo_enterprise  # noqa: F401  (applied through usefixtures)
from tests.browser.test_workspace_flow import open_task_in_queue

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("demo_enterprise")]

README = Path(__file__).resolve().parents[2] / "README.md"
# What the README's tour says, in order; the test below does each of them.
STEPS = [
    'Sign in as `alex` and search the portal for "onboarding"',
    "**New hire onboarding**: it asks for a laptop model only once you say a laptop is",
    "Sign in as `sam`, Alex's manager: **Approvals** in the navigation shows",
    "Approve Alex's.",
    "the request says who has it now: the employee record, the",
    "IT account and the desk booking were made automatically, and it waits for IT and",
    "Facilities to pick up their parts.",
    "The promise says when we aim to finish.",
    "Sign in as `ivan`: in **Queues**, open **IT Service Desk**, search for the",
    "request's reference and open **Prepare the laptop**. Claim it, then resolve it with a",
    "Then sign in as `fiona` and do the same in **Workplace** for",
    "**Set up the desk: screen, dock and chair**.",
    "As `alex`, the request is resolved once the last automatic steps have run",
    "Rate it.",
]


def _tour() -> str:
    text = README.read_text()
    start = text.index("## A first tour")
    return text[start : text.index("\n## ", start + 1)]


def test_the_readme_tells_the_tour_this_test_follows() -> None:
    tour = _tour()

    missing = [step for step in STEPS if step not in tour]
    assert missing == []
    positions = [tour.index(step) for step in STEPS]
    assert positions == sorted(positions)


def _work(browser: Browser, live_server: LiveServer, who: str, queue: str, step: str, ref: str):
    with signed_in(browser, live_server, who) as page:
        open_task_in_queue(page, Queue.objects.get(name=queue), ref)
        expect(page.get_by_role("heading", level=1)).to_contain_text(step)
        page.get_by_role("button", name="Claim").click()
        expect(page.locator(".lead")).to_contain_text("You are working on it")
        page.get_by_label("Resolution note").fill(f"{step}: done and checked.")
        page.get_by_role("button", name="Resolve").click()
        expect(page.locator(".messages")).to_contain_text("Task resolved.")


def test_the_first_tour(browser: Browser, live_server: LiveServer) -> None:
    # 1. Ask.
    with signed_in(browser, live_server, "alex") as alex:
        alex.get_by_role("searchbox", name="Search services and articles").fill("onboarding")
        alex.get_by_role("button", name="Search").click()
        alex.get_by_role("link", name="New hire onboarding").click()
        laptop_model = alex.get_by_label("Laptop model")
        expect(laptop_model).to_be_hidden()
        alex.get_by_role("group", name="Laptop needed?").get_by_label("Yes").check()
        expect(laptop_model).to_be_visible()
        alex.get_by_label("Subject").fill("New hire in Sales: first week in January")
        expect(alex.locator("#suggestions")).to_contain_text("Your new hire's first week")
        alex.get_by_label("New hire's first name").fill("Riley")
        alex.get_by_label("New hire's last name").fill("Chen")
        start = timezone.localdate() + dt.timedelta(days=21)
        alex.get_by_label("Start date").fill(start.isoformat())
        alex.get_by_label("Location").select_option("London HQ")
        laptop_model.select_option("MacBook Pro 14")
        alex.get_by_role("button", name="Submit request").click()
        reference = reference_on(alex)

    # 2. Approve.
    with signed_in(browser, live_server, "sam") as sam:
        approvals = sam.get_by_role("navigation", name="Main").get_by_role(
            "link", name=re.compile("Approvals")
        )
        expect(approvals).to_contain_text(re.compile(r"\d+"))  # how many wait
        approvals.click()
        card = sam.locator("section.approval").filter(has=sam.get_by_role("link", name=reference))
        card.get_by_role("button", name="Approve").click()
        expect(sam.locator(".messages")).to_contain_text(f"{reference} approved.")

    # 3. Follow.
    with signed_in(browser, live_server, "alex") as alex:
        alex.goto(f"{live_server.url}/requests/{reference}/")
        where = alex.get_by_role("region", name="Where it stands")
        expect(where).to_contain_text("Waiting for IT and Facilities to pick it up.")
        expect(where).to_contain_text("We aim to finish by")
        progress = alex.get_by_role("region", name="Progress")
        for automatic in ("Create the employee record", "Create the IT account", "Book a desk"):
            expect(progress.locator("li").filter(has_text=automatic)).to_contain_text("Done")

    # 4. Work.
    _work(browser, live_server, "ivan", "IT Service Desk", "Prepare the laptop", reference)
    _work(
        browser,
        live_server,
        "fiona",
        "Workplace",
        "Set up the desk: screen, dock and chair",
        reference,
    )

    # 5. Close.
    with signed_in(browser, live_server, "alex") as alex:
        alex.goto(f"{live_server.url}/requests/{reference}/")
        expect(alex.get_by_role("region", name="Where it stands")).to_contain_text("Resolved")
        rating = alex.get_by_role("group", name="From 5 (great) to 1 (poor)")
        rating.get_by_label("5", exact=True).check()
        alex.get_by_role("button", name="Send rating").click()
        expect(alex.get_by_role("heading", name="Your rating")).to_be_visible()

    service_request = service_request_for(reference)
    assert service_request.state == ServiceRequest.State.RESOLVED
    assert service_request.rating.score == 5
