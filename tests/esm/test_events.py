"""`event_record` appends one row in the caller's transaction, or refuses."""

import pytest
from django.contrib.auth.models import AnonymousUser

from esm.events import EventOutsideTransaction, event_record, events_record
from esm.models import Department, Event, EventKind
from tests.esm.factories import DepartmentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def subject(it_department):
    """Any saved model can be the subject of an event; a department is the simplest."""
    return it_department


def test_event_record_writes_one_row_describing_the_change(
    subject, it_agent, it_department, hr_department
):
    event = event_record(
        subject=subject,
        kind=EventKind.HANDED_OFF,
        actor=it_agent,
        department=it_department,
        from_department=it_department,
        to_department=hr_department,
        from_value="queued",
        to_value="handed_off",
        reference="REQ-000042",
        payload={"reason": "needs HR approval", "attempt": 2},
        is_confidential=True,
    )

    assert Event.objects.count() == 1
    stored = Event.objects.get()
    assert stored.pk == event.pk
    assert stored.subject_type == "esm.department"
    assert stored.subject_id == subject.pk
    assert stored.kind == EventKind.HANDED_OFF
    assert stored.actor == it_agent
    assert stored.department == it_department
    assert stored.from_department == it_department
    assert stored.to_department == hr_department
    assert (stored.from_value, stored.to_value) == ("queued", "handed_off")
    assert stored.reference == "REQ-000042"
    assert stored.payload == {"reason": "needs HR approval", "attempt": 2}
    assert stored.is_confidential is True
    assert stored.occurred_at is not None


def test_event_record_defaults_to_an_open_event_without_payload_or_departments(subject):
    event_record(subject=subject, kind=EventKind.SUBMITTED)

    stored = Event.objects.get()
    assert stored.is_confidential is False
    assert stored.payload == {}
    assert stored.department is None
    assert stored.from_department is None
    assert stored.to_department is None
    assert (stored.from_value, stored.to_value, stored.reference) == ("", "", "")


@pytest.mark.parametrize("actor", [None, AnonymousUser()], ids=["system", "anonymous"])
def test_event_record_stores_no_actor_for_the_system_or_anonymous_visitors(subject, actor):
    event_record(subject=subject, kind=EventKind.SUBMITTED, actor=actor)

    assert Event.objects.get().actor is None


def test_events_are_found_by_their_subject(subject, hr_department):
    first = event_record(subject=subject, kind=EventKind.SUBMITTED)
    second = event_record(subject=subject, kind=EventKind.COMMENTED)
    event_record(subject=hr_department, kind=EventKind.SUBMITTED)

    assert list(Event.objects.for_subject(subject)) == [first, second]


@pytest.mark.django_db(transaction=True)
def test_event_record_refuses_to_run_outside_a_transaction():
    subject = DepartmentFactory(name="IT", slug="it")

    with pytest.raises(EventOutsideTransaction, match="outside a transaction"):
        event_record(subject=subject, kind=EventKind.SUBMITTED)

    assert not Event.objects.exists()


def test_event_record_refuses_an_unsaved_subject():
    unsaved = Department(name="Legal", slug="legal")

    with pytest.raises(ValueError, match="Save the subject"):
        event_record(subject=unsaved, kind=EventKind.SUBMITTED)

    assert not Event.objects.exists()
    assert not Department.objects.filter(slug="legal").exists()


def test_event_record_refuses_a_detail_an_event_does_not_have(subject):
    with pytest.raises(TypeError, match="no deparment"):
        event_record(subject=subject, kind=EventKind.SUBMITTED, deparment=None)  # type: ignore[call-arg]

    assert not Event.objects.exists()


def test_events_record_appends_each_event_with_its_details_in_order(
    subject, it_department, hr_department
):
    events_record(
        [
            (subject, EventKind.STEP_PENDING, {"department": it_department, "to_value": "pending"}),
            (hr_department, EventKind.STEP_PENDING, {"reference": "REQ-000007"}),
        ]
    )

    stored = list(Event.objects.order_by("pk"))
    assert [(e.subject_id, e.department, e.to_value, e.reference) for e in stored] == [
        (subject.pk, it_department, "pending", ""),
        (hr_department.pk, None, "", "REQ-000007"),
    ]


@pytest.mark.django_db(transaction=True)
def test_events_record_refuses_to_run_outside_a_transaction():
    department = DepartmentFactory()

    with pytest.raises(EventOutsideTransaction):
        events_record([(department, EventKind.STEP_PENDING, {})])

    assert not Event.objects.exists()
