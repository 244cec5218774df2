"""The demo's fulfilment plans run end to end on the real actions."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.management import call_command

from demo.data import load
from services import actions
from services.automation import registry
from services.forms import RequestForm
from services.models import (
    AutomationRun,
    Badge,
    CatalogItem,
    DeskBooking,
    DirectoryAccount,
    EmployeeRecord,
    OneTimeLink,
    PlanStep,
    ServiceRequest,
    StepRun,
)
from valuestreams.models import HandoffTarget, StageStep, ValueStream

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    call_command("seed_demo", password="demo-pass-123", without_history=True, stdout=StringIO())
    return {user.username: user for user in get_user_model().objects.all()}


def _raise(item_slug, user, answers, *, on_behalf_of=None):
    item = CatalogItem.objects.get(slug=item_slug)
    data = {"subject": f"{item.name} please", "submission_key": f"test-{item_slug}"}
    data |= {f"field_{key}": value for key, value in answers.items()}
    form = RequestForm(data=data, item=item)
    assert form.is_valid(), form.errors
    service_request, _ = actions.service_request_submit(
        item=item,
        raised_by=user,
        requester=on_behalf_of,
        subject=data["subject"],
        answers=form.answer_rows(),
        submission_key=data["submission_key"],
    )
    return service_request


def test_every_plan_step_names_a_registered_action(demo):
    keys = {action.key for action in registry.all_actions()}
    for step in PlanStep.objects.filter(kind="automated"):
        assert step.action in keys, step


def test_new_hire_onboarding_runs_across_hr_it_and_facilities(
    demo, django_capture_on_commit_callbacks
):
    sam, ivan = demo["sam"], demo["ivan"]
    with django_capture_on_commit_callbacks(execute=True):
        service_request = _raise(
            "new-hire-onboarding",
            sam,
            {
                "first_name": "Kim",
                "last_name": "Tan",
                "start_date": "2027-01-04",
                "role": "Account Executive",
                "location": "London HQ",
                "laptop_needed": "yes",
                "laptop_model": "MacBook Air 13",
            },
        )
    approval = service_request.approvals.get(state="pending")
    with django_capture_on_commit_callbacks(execute=True):
        actions.approval_decide(approval=approval, user=approval.approver, approve=True)

    states = dict(
        StepRun.objects.filter(run__service_request=service_request).values_list(
            "step_key", "state"
        )
    )
    # IT prepares the laptop while Facilities sets up the desk: two people, in parallel.
    assert states["laptop"] == StepRun.State.WITH_PEOPLE
    assert states["workstation"] == StepRun.State.WITH_PEOPLE
    # The welcome pack and the word to the manager wait until everything is ready.
    assert all(
        state == StepRun.State.SUCCEEDED
        for key, state in states.items()
        if key not in ("laptop", "workstation", "welcome-pack", "tell-manager")
    ), states
    assert states["welcome-pack"] == StepRun.State.WAITING
    assert EmployeeRecord.objects.filter(service_request=service_request).exists()
    assert DirectoryAccount.objects.filter(username__startswith="kim.tan").count() == 1
    assert DeskBooking.objects.filter(service_request=service_request).count() == 1
    assert Badge.objects.filter(service_request=service_request).count() == 1

    laptop = service_request.tasks.get(state="queued", department__slug="it")
    workstation = service_request.tasks.get(state="queued", department__slug="facilities")
    with django_capture_on_commit_callbacks(execute=True):
        actions.task_resolve(task=laptop, agent=ivan, resolution="MacBook ready at the desk")
    with django_capture_on_commit_callbacks(execute=True):
        actions.task_resolve(
            task=workstation, agent=demo["fiona"], resolution="Screen and dock in place"
        )
    service_request.refresh_from_db()

    assert service_request.state == ServiceRequest.State.RESOLVED
    assert AutomationRun.objects.get(service_request=service_request).state == "done"
    assert any("Ready for day one" in message.subject for message in mail.outbox)


def test_password_reset_is_fully_automated(demo, django_capture_on_commit_callbacks):
    alex = demo["alex"]
    with django_capture_on_commit_callbacks(execute=True):
        service_request = _raise("password-reset", alex, {"system": "VPN", "locked_out": "no"})
    service_request.refresh_from_db()

    assert service_request.state == ServiceRequest.State.RESOLVED
    assert not service_request.tasks.exists()
    assert OneTimeLink.objects.filter(account__person=alex).count() == 1
    assert any("/directory/links/" in message.body for message in mail.outbox)


def _step_states(service_request):
    return dict(
        StepRun.objects.filter(run__service_request=service_request).values_list(
            "step_key", "state"
        )
    )


def test_offboarding_waits_for_hr_then_closes_the_leavers_access(
    demo, django_capture_on_commit_callbacks
):
    sam, holly, ivan, alex = demo["sam"], demo["holly"], demo["ivan"], demo["alex"]
    with django_capture_on_commit_callbacks(execute=True):
        service_request = _raise(
            "offboarding",
            sam,
            {"leaver": "alex", "last_day": "2026-11-20", "equipment": ["Laptop"]},
        )
    assert DirectoryAccount.objects.get(person=alex).active  # nothing closes before HR agrees
    approval = service_request.approvals.get(state="pending")
    with django_capture_on_commit_callbacks(execute=True):
        actions.approval_decide(approval=approval, user=holly, approve=True)

    states = _step_states(service_request)
    assert states["last-day"] == states["disable-account"] == StepRun.State.SUCCEEDED
    assert states["recover-laptop"] == StepRun.State.WITH_PEOPLE
    assert DirectoryAccount.objects.get(person=alex).active is False
    laptop = service_request.tasks.get(state="queued")
    with django_capture_on_commit_callbacks(execute=True):
        actions.task_resolve(task=laptop, agent=ivan, resolution="Laptop returned")
    service_request.refresh_from_db()
    assert service_request.state == ServiceRequest.State.RESOLVED


def test_desk_move_books_the_new_desk_from_the_move_date(demo, django_capture_on_commit_callbacks):
    alex = demo["alex"]
    with django_capture_on_commit_callbacks(execute=True):
        service_request = _raise(
            "desk-move",
            alex,
            {"from_location": "London HQ", "to_location": "Manchester", "move_date": "2027-02-01"},
        )

    booking = DeskBooking.objects.get(service_request=service_request)
    assert (booking.desk.location.slug, str(booking.starts_on)) == ("manchester", "2027-02-01")
    assert _step_states(service_request) == {
        "new-desk": StepRun.State.SUCCEEDED,
        "move-equipment": StepRun.State.WITH_PEOPLE,
    }
    assert service_request.tasks.get().department.slug == "it"


def test_every_task_the_history_resolves_has_a_note_that_fits_its_work():
    """Resolution notes are chosen by plan step, then item: every human step and every
    item without a plan has its own, so a heating repair never reads "badge printed"."""
    history, plans = load("history"), load("plans")["plans"]
    human_steps = {
        step["key"]
        for plan in plans.values()
        for step in plan["steps"]
        if step.get("kind") == "human"
    }
    items = {item["slug"] for item in load("catalog")["items"]}

    assert human_steps - history["step_resolutions"].keys() == set()
    assert items - plans.keys() - history["item_resolutions"].keys() == set()


def test_the_demo_streams_map_their_plans_step_for_step(demo):
    """Onboarding, offboarding, desk moves and parental leave are streams whose stages hold
    every step of their item's plan exactly once; onboarding crosses three departments with
    stages side by side, and its handoff targets sit at department boundaries."""
    streams = {stream.slug: stream for stream in ValueStream.objects.prefetch_related("items")}
    assert set(streams) == {"onboarding", "offboarding", "desk-move", "parental-leave"}
    for stream in streams.values():
        plan = set(
            PlanStep.objects.filter(item__in=stream.items.all()).values_list("pk", flat=True)
        )
        mapped = list(
            StageStep.objects.filter(stage__stream=stream).values_list("plan_step", flat=True)
        )
        assert sorted(mapped) == sorted(plan), stream
    onboarding = streams["onboarding"].stages.all()
    assert {stage.department.slug for stage in onboarding} == {"hr", "it", "facilities"}
    assert onboarding.filter(parallel_group=2).count() >= 3
    for target in HandoffTarget.objects.select_related("from_stage", "to_stage"):
        target.full_clean()
