"""Writes of the services app: state rules, events, idempotency, approvals."""

import datetime as dt
import threading

import pytest
from django.db import connection, transaction
from django.utils import timezone

from esm import clock
from esm.models import DepartmentRole, Event, EventKind
from services import actions
from services.actions import ActionRefused
from services.actions._base import request_lock
from services.models import Approval, ApprovalStep, Comment, ServiceRequest
from tests.esm.factories import DepartmentRoleFactory, UserFactory
from tests.services.factories import ApprovalStepFactory, CatalogItemFactory

pytestmark = pytest.mark.django_db

State = ServiceRequest.State


def _submit(item, user, key="form-1", **extra):
    return actions.service_request_submit(
        item=item,
        raised_by=user,
        subject="Please help",
        answers=[{"key": "a", "label": "A", "kind": "text", "value": "x", "display": "x"}],
        submission_key=key,
        **extra,
    )


def _events(service_request):
    return list(Event.objects.for_subject(service_request).values_list("kind", flat=True))


def test_submit_without_approval_goes_straight_to_the_department_queue(employee):
    item = CatalogItemFactory(default_priority="high")

    service_request, created = _submit(item, employee)

    assert created
    assert service_request.reference == f"REQ-{service_request.pk:06d}"
    assert service_request.state == State.IN_PROGRESS
    assert service_request.priority == "high"
    assert service_request.department == item.department
    assert _events(service_request) == [EventKind.SUBMITTED, EventKind.QUEUED]
    task = service_request.tasks.get()
    assert (task.state, task.queue.department, task.priority) == ("queued", item.department, "high")
    assert _events(task) == [EventKind.QUEUED]
    event = Event.objects.filter(kind=EventKind.SUBMITTED).get()
    assert (event.actor, event.reference, event.department) == (
        employee,
        service_request.reference,
        item.department,
    )


def test_the_same_form_submitted_twice_creates_one_request(employee):
    item = CatalogItemFactory()

    first, created_first = _submit(item, employee, key="same")
    second, created_second = _submit(item, employee, key="same")

    assert (created_first, created_second) == (True, False)
    assert first.pk == second.pk
    assert ServiceRequest.objects.count() == 1
    assert first.tasks.count() == 1
    assert _events(first) == [EventKind.SUBMITTED, EventKind.QUEUED]


def test_different_forms_create_different_requests(employee):
    item = CatalogItemFactory()

    _submit(item, employee, key="one")
    _submit(item, employee, key="two")

    assert ServiceRequest.objects.count() == 2


def test_confidential_item_marks_the_request_and_its_events(employee, hr_department):
    item = CatalogItemFactory(department=hr_department, is_confidential=True)

    service_request, _ = _submit(item, employee)

    assert service_request.is_confidential
    assert Event.objects.count() == 3
    assert all(Event.objects.values_list("is_confidential", flat=True))


def test_on_behalf_request_belongs_to_the_requester(employee, manager):
    item = CatalogItemFactory(allow_on_behalf=True)

    service_request, _ = _submit(item, manager, requester=employee)

    assert (service_request.requester, service_request.raised_by) == (employee, manager)
    assert Event.objects.get(kind=EventKind.SUBMITTED).payload["on_behalf_of"] == employee.pk


def test_approvals_run_in_sequence_then_the_request_goes_to_its_department(
    employee, manager, hr_department
):
    hr_manager = UserFactory(username="hr_boss")
    DepartmentRoleFactory(user=hr_manager, department=hr_department, role="manager")
    item = CatalogItemFactory()
    ApprovalStepFactory(item=item, position=1)
    ApprovalStepFactory(
        item=item,
        position=2,
        approver=ApprovalStep.Approver.DEPARTMENT_ROLE,
        department=hr_department,
        role=DepartmentRole.Role.MANAGER,
    )

    service_request, _ = _submit(item, employee)
    first, second = service_request.approvals.all()
    assert service_request.state == State.AWAITING_APPROVAL
    assert (first.state, first.approver) == (Approval.State.PENDING, manager)
    assert second.state == Approval.State.WAITING

    actions.approval_decide(approval=first, user=manager, approve=True)
    second.refresh_from_db()
    assert second.state == Approval.State.PENDING

    actions.approval_decide(approval=second, user=hr_manager, approve=True, comment="Fine")
    service_request.refresh_from_db()
    assert service_request.state == State.IN_PROGRESS
    assert service_request.tasks.count() == 1
    assert _events(service_request) == [
        EventKind.SUBMITTED,
        EventKind.APPROVAL_REQUESTED,
        EventKind.APPROVED,
        EventKind.APPROVAL_REQUESTED,
        EventKind.APPROVED,
        EventKind.QUEUED,
    ]


def test_a_rejection_ends_the_request_and_skips_later_steps(employee, manager):
    item = CatalogItemFactory()
    ApprovalStepFactory(item=item, position=1)
    ApprovalStepFactory(item=item, position=2)
    service_request, _ = _submit(item, employee)
    first = service_request.approvals.first()

    actions.approval_decide(approval=first, user=manager, approve=False, comment="No budget")

    service_request.refresh_from_db()
    assert service_request.state == State.REJECTED
    assert service_request.resolution == "No budget"
    assert not service_request.tasks.exists()
    assert list(service_request.approvals.values_list("state", flat=True)) == [
        Approval.State.REJECTED,
        Approval.State.SKIPPED,
    ]


def test_a_decided_approval_cannot_be_decided_again(employee, manager):
    item = CatalogItemFactory()
    ApprovalStepFactory(item=item)
    service_request, _ = _submit(item, employee)
    approval = service_request.approvals.get()
    actions.approval_decide(approval=approval, user=manager, approve=True)
    events_before = Event.objects.count()

    with pytest.raises(ActionRefused):
        actions.approval_decide(approval=approval, user=manager, approve=False, comment="no")

    approval.refresh_from_db()
    assert approval.state == Approval.State.APPROVED
    assert Event.objects.count() == events_before


def test_manager_step_without_a_manager_on_record_is_skipped(outsider):
    item = CatalogItemFactory()
    ApprovalStepFactory(item=item)

    service_request, _ = _submit(item, outsider)

    assert service_request.state == State.IN_PROGRESS
    assert service_request.approvals.get().state == Approval.State.SKIPPED


def test_cancel_while_open_and_not_after_resolution(employee, it_agent):
    open_request, _ = _submit(CatalogItemFactory(), employee, key="a")
    done_request, _ = _submit(CatalogItemFactory(), employee, key="b")
    actions.service_request_resolve(service_request=done_request, user=it_agent, resolution="ok")

    actions.service_request_cancel(service_request=open_request, user=employee, reason="Not needed")
    with pytest.raises(ActionRefused):
        actions.service_request_cancel(service_request=done_request, user=employee)

    open_request.refresh_from_db()
    done_request.refresh_from_db()
    assert open_request.state == State.CANCELLED
    assert open_request.tasks.get().state == "cancelled"
    assert done_request.state == State.RESOLVED
    assert done_request.tasks.get().state == "done"


def test_reopen_within_the_window_only(employee, it_agent):
    with clock.travel(dt.datetime(2026, 11, 2, 10, 0, tzinfo=dt.UTC)):
        service_request, _ = _submit(CatalogItemFactory(), employee)
        actions.service_request_resolve(
            service_request=service_request, user=it_agent, resolution="Done"
        )

    with (
        clock.travel(dt.datetime(2026, 11, 9, 10, 1, tzinfo=dt.UTC)),
        pytest.raises(ActionRefused, match="within 7 days"),
    ):
        actions.service_request_reopen(
            service_request=service_request, user=employee, reason="Still broken"
        )
    service_request.refresh_from_db()
    assert service_request.state == State.RESOLVED

    with clock.travel(dt.datetime(2026, 11, 9, 9, 59, tzinfo=dt.UTC)):
        actions.service_request_reopen(
            service_request=service_request, user=employee, reason="Still broken"
        )
    service_request.refresh_from_db()
    assert service_request.state == State.IN_PROGRESS
    assert service_request.resolved_at is None
    assert Comment.objects.get().body == "Still broken"
    assert _events(service_request)[-2:] == [EventKind.REOPENED, EventKind.COMMENTED]
    assert list(service_request.tasks.values_list("state", flat=True)) == ["done", "queued"]


def test_rating_needs_a_resolved_request_and_happens_once(employee, it_agent):
    service_request, _ = _submit(CatalogItemFactory(), employee)

    with pytest.raises(ActionRefused):
        actions.service_request_rate(service_request=service_request, user=employee, score=4)
    actions.service_request_resolve(service_request=service_request, user=it_agent, resolution="")
    rating = actions.service_request_rate(
        service_request=service_request, user=employee, score=2, comment="Slow"
    )
    with pytest.raises(ActionRefused, match="rated already"):
        actions.service_request_rate(service_request=service_request, user=employee, score=5)

    assert (rating.score, rating.comment) == (2, "Slow")
    assert Event.objects.filter(kind=EventKind.RATED).get().payload == {"score": 2}


def test_rating_outside_one_to_five_is_refused(employee, it_agent):
    service_request, _ = _submit(CatalogItemFactory(), employee)
    actions.service_request_resolve(service_request=service_request, user=it_agent, resolution="")

    with pytest.raises(ActionRefused):
        actions.service_request_rate(service_request=service_request, user=employee, score=6)


def test_comment_records_whether_it_is_internal(employee, it_agent):
    service_request, _ = _submit(CatalogItemFactory(), employee)

    actions.comment_add(service_request=service_request, author=employee, body="Any news?")
    actions.comment_add(
        service_request=service_request, author=it_agent, body="Waiting on vendor", is_internal=True
    )

    assert list(
        Event.objects.filter(kind=EventKind.COMMENTED).values_list("to_value", flat=True)
    ) == [Comment.PUBLIC, Comment.INTERNAL]


def test_no_comments_on_closed_requests(employee):
    service_request, _ = _submit(CatalogItemFactory(), employee)
    actions.service_request_cancel(service_request=service_request, user=employee)

    with pytest.raises(ActionRefused):
        actions.comment_add(service_request=service_request, author=employee, body="Hello?")

    assert not Comment.objects.exists()


def test_every_transition_bumps_the_version(employee, it_agent):
    service_request, _ = _submit(CatalogItemFactory(), employee)

    resolved = actions.service_request_resolve(
        service_request=service_request, user=it_agent, resolution=""
    )

    assert resolved.version == service_request.version + 1
    assert resolved.resolved_at <= timezone.now()


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_concurrent_identical_submissions_create_one_request():
    employee = UserFactory(username="racer")
    item = CatalogItemFactory()
    barrier = threading.Barrier(2)
    results, errors = [], []

    def submit():
        try:
            barrier.wait()
            results.append(_submit(item, employee, key="double-click"))
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert ServiceRequest.objects.count() == 1
    assert {service_request.pk for service_request, _ in results} == {
        ServiceRequest.objects.get().pk
    }
    assert sorted(created for _, created in results) == [False, True]
    assert dt.timedelta(0) <= timezone.now() - ServiceRequest.objects.get().submitted_at


def test_resolved_requests_close_once_the_reopen_window_has_passed(employee, it_agent):
    with clock.travel(dt.datetime(2026, 11, 2, 10, 0, tzinfo=dt.UTC)):
        old, _ = _submit(CatalogItemFactory(), employee, key="old")
        actions.service_request_resolve(service_request=old, user=it_agent, resolution="ok")
    with clock.travel(dt.datetime(2026, 11, 8, 10, 0, tzinfo=dt.UTC)):
        recent, _ = _submit(CatalogItemFactory(), employee, key="recent")
        actions.service_request_resolve(service_request=recent, user=it_agent, resolution="ok")

    with clock.travel(dt.datetime(2026, 11, 9, 10, 1, tzinfo=dt.UTC)):
        closed = actions.service_requests_close_sweep()
        again = actions.service_requests_close_sweep()

    assert (closed, again) == ([old.pk], [])
    old.refresh_from_db()
    recent.refresh_from_db()
    assert (old.state, recent.state) == (State.CLOSED, State.RESOLVED)
    assert _events(old)[-1] == EventKind.CLOSED
    with pytest.raises(ActionRefused):
        actions.comment_add(service_request=old, author=employee, body="Hello?")


def test_a_named_person_approves_when_the_step_names_them(employee, outsider):
    item = CatalogItemFactory()
    ApprovalStepFactory(item=item, approver=ApprovalStep.Approver.PERSON, person=outsider)

    service_request, _ = _submit(item, employee)
    approval = service_request.approvals.get()

    assert (approval.state, approval.approver) == (Approval.State.PENDING, outsider)
    assert approval.label == outsider.get_full_name()
    actions.approval_decide(approval=approval, user=outsider, approve=True)
    service_request.refresh_from_db()
    assert service_request.state == State.IN_PROGRESS


@pytest.mark.django_db(transaction=True)
def test_a_request_is_locked_only_inside_a_transaction_and_read_afresh(employee):
    """`request_lock` reads the request as it is now, every field as the ORM reads it, and
    refuses to run where its lock would end with the statement."""
    service_request, _ = actions.service_request_submit(
        item=CatalogItemFactory(), raised_by=employee, subject="VPN", answers=[], submission_key="k"
    )
    ServiceRequest.objects.filter(pk=service_request.pk).update(subject="VPN, again")

    with pytest.raises(transaction.TransactionManagementError):
        request_lock(service_request)
    with transaction.atomic():
        locked = request_lock(service_request)
    fresh = ServiceRequest.objects.get(pk=service_request.pk)
    fields = [field.attname for field in ServiceRequest._meta.concrete_fields]
    assert [getattr(locked, name) for name in fields] == [getattr(fresh, name) for name in fields]
    assert locked.subject == "VPN, again"
    with pytest.raises(ServiceRequest.DoesNotExist), transaction.atomic():
        request_lock(ServiceRequest(pk=fresh.pk + 1000))
