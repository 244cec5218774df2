"""Invariants of the enterprise core: the append-only event log and the model constraints."""

import datetime as dt
import importlib
from types import SimpleNamespace

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from esm.events import event_record
from esm.models import (
    AppendOnlyError,
    BusinessCalendar,
    DepartmentRole,
    Event,
    EventKind,
    Profile,
    WorkingPeriod,
)
from tests.esm.factories import (
    BusinessCalendarFactory,
    DepartmentRoleFactory,
    ProfileFactory,
    UserFactory,
)

# The PostgreSQL trigger raises SQLSTATE 23001 (restrict_violation): psycopg maps it to
# RestrictViolation, an IntegrityError, which Django re-raises as its own IntegrityError.
RESTRICT_VIOLATION = "23001"

pytestmark = pytest.mark.django_db


@pytest.fixture
def event(it_department, it_agent):
    return event_record(
        subject=it_department,
        kind=EventKind.CLAIMED,
        actor=it_agent,
        department=it_department,
        payload={"queue": "it"},
    )


def _row(event):
    return Event.objects.filter(pk=event.pk).values().get()


@pytest.fixture
def postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip(f"the append-only trigger exists on PostgreSQL only, not {connection.vendor}")


# -- the event log is append-only ---------------------------------------------------------


def test_saving_a_recorded_event_again_is_refused(event):
    before = _row(event)
    event.kind = EventKind.RESOLVED

    with pytest.raises(AppendOnlyError):
        event.save()

    assert _row(event) == before


def test_deleting_a_recorded_event_is_refused(event):
    before = _row(event)

    with pytest.raises(AppendOnlyError):
        event.delete()

    assert _row(event) == before


def test_updating_events_through_a_queryset_is_refused(event):
    before = _row(event)

    with pytest.raises(AppendOnlyError):
        Event.objects.filter(pk=event.pk).update(kind=EventKind.RESOLVED)

    assert _row(event) == before


def test_deleting_events_through_a_queryset_is_refused(event):
    before = _row(event)

    with pytest.raises(AppendOnlyError):
        Event.objects.all().delete()

    assert Event.objects.count() == 1
    assert _row(event) == before


def test_bulk_updating_events_is_refused(event):
    before = _row(event)
    event.kind = EventKind.RESOLVED

    # bulk_update opens its own atomic block without a savepoint: give it one.
    with pytest.raises(AppendOnlyError), transaction.atomic():
        Event.objects.bulk_update([event], ["kind"])

    assert _row(event) == before


def test_saving_a_new_event_over_an_existing_id_is_refused(event, it_department):
    before = _row(event)
    impostor = Event(
        pk=event.pk,
        subject_type="esm.department",
        subject_id=it_department.pk,
        kind=EventKind.RESOLVED,
    )

    try:
        with pytest.raises(AppendOnlyError), transaction.atomic():
            impostor.save()
    finally:
        assert _row(event) == before


def _execute_raw(sql, params):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_database_refuses_a_raw_update_of_an_event(postgresql_only, event):
    before = _row(event)

    with pytest.raises(IntegrityError, match="append-only") as refused:
        _execute_raw("UPDATE esm_event SET kind = %s WHERE id = %s", ["resolved", event.pk])

    assert refused.value.__cause__.sqlstate == RESTRICT_VIOLATION
    assert _row(event) == before


def test_database_refuses_a_raw_delete_of_an_event(postgresql_only, event):
    before = _row(event)

    with pytest.raises(IntegrityError, match="append-only") as refused:
        _execute_raw("DELETE FROM esm_event WHERE id = %s", [event.pk])

    assert refused.value.__cause__.sqlstate == RESTRICT_VIOLATION
    assert _row(event) == before


def test_database_still_accepts_new_events_by_raw_insert(postgresql_only, event):
    columns = ", ".join(
        field.column for field in Event._meta.concrete_fields if not field.primary_key
    )
    _execute_raw(
        f"INSERT INTO esm_event ({columns}) SELECT {columns} FROM esm_event WHERE id = %s",  # noqa: S608
        [event.pk],
    )

    assert Event.objects.count() == 2


class _PostgresqlEditorStandIn:
    """Records what a migration asks a PostgreSQL schema editor to execute."""

    connection = SimpleNamespace(vendor="postgresql")

    def __init__(self):
        self.executed = []

    def execute(self, sql, params=()):
        self.executed.append((sql, params))


def test_append_only_trigger_migration_survives_postgresql_parameter_merging():
    """Django's PostgreSQL schema editor merges parameters client-side unless given
    params=None, so a bare % in the plpgsql body would break `migrate` on PostgreSQL.
    Runs on every vendor, so a SQLite-only run still catches it."""
    migration = importlib.import_module("esm.migrations.0002_event_append_only_trigger")
    editor = _PostgresqlEditorStandIn()

    migration.create_trigger(None, editor)
    migration.drop_trigger(None, editor)

    assert editor.executed
    for sql, params in editor.executed:
        if params is not None:
            sql % tuple(params)  # what the driver's formatting does first; raises on a bare %


# -- constraints ----------------------------------------------------------------------------


def _insert(factory, **fields):
    """Create a row in a savepoint, so a refused insert leaves the test transaction usable."""
    with transaction.atomic():
        return factory(**fields)


def test_only_one_business_calendar_is_the_default():
    default = BusinessCalendarFactory(name="Company", is_default=True)

    with pytest.raises(IntegrityError):
        _insert(BusinessCalendarFactory, name="Another", is_default=True)

    assert list(BusinessCalendar.objects.filter(is_default=True)) == [default]
    assert not BusinessCalendar.objects.filter(name="Another").exists()


def test_any_number_of_calendars_may_be_non_default():
    BusinessCalendarFactory(name="Company", is_default=True)
    BusinessCalendarFactory(name="IT")
    BusinessCalendarFactory(name="Facilities")

    assert BusinessCalendar.objects.filter(is_default=False).count() == 2


def test_a_second_default_calendar_fails_validation_with_a_message():
    BusinessCalendarFactory(name="Company", is_default=True)
    second = BusinessCalendar(name="Another", is_default=True)

    with pytest.raises(ValidationError):
        second.full_clean()

    assert BusinessCalendar.objects.count() == 1


@pytest.mark.parametrize(
    ("starts_at", "ends_at"),
    [(dt.time(17), dt.time(9)), (dt.time(9), dt.time(9))],
    ids=["ends-before-start", "empty"],
)
def test_a_working_period_must_start_before_it_ends(starts_at, ends_at):
    calendar = BusinessCalendarFactory(office_hours=False)

    with pytest.raises(IntegrityError):
        _insert(
            WorkingPeriod.objects.create,
            calendar=calendar,
            weekday=WorkingPeriod.Weekday.MONDAY,
            starts_at=starts_at,
            ends_at=ends_at,
        )

    assert not calendar.working_periods.exists()


def test_a_backwards_working_period_fails_validation():
    calendar = BusinessCalendarFactory(office_hours=False)
    period = WorkingPeriod(calendar=calendar, weekday=0, starts_at=dt.time(17), ends_at=dt.time(9))

    with pytest.raises(ValidationError):
        period.full_clean()

    assert not calendar.working_periods.exists()


def test_a_person_holds_one_role_of_a_kind_per_department(it_agent, it_department):
    with pytest.raises(IntegrityError):
        _insert(
            DepartmentRoleFactory,
            user=it_agent,
            department=it_department,
            role=DepartmentRole.Role.AGENT,
        )

    assert DepartmentRole.objects.filter(user=it_agent).count() == 1


def test_a_person_may_hold_different_roles_and_departments(it_agent, it_department, hr_department):
    DepartmentRoleFactory(user=it_agent, department=it_department, role=DepartmentRole.Role.MANAGER)
    DepartmentRoleFactory(user=it_agent, department=hr_department, role=DepartmentRole.Role.AGENT)

    assert DepartmentRole.objects.filter(user=it_agent).count() == 3


def test_nobody_manages_themselves():
    person = UserFactory()
    profile = ProfileFactory(user=person)

    with pytest.raises(IntegrityError), transaction.atomic():
        Profile.objects.filter(pk=profile.pk).update(manager=person)

    profile.refresh_from_db()
    assert profile.manager is None


def test_a_profile_managing_itself_fails_validation():
    person = UserFactory()
    profile = ProfileFactory(user=person)
    profile.manager = person

    with pytest.raises(ValidationError):
        profile.full_clean()

    assert Profile.objects.get(pk=profile.pk).manager is None


def test_a_profile_without_a_manager_is_allowed():
    profile = ProfileFactory(manager=None)

    assert Profile.objects.get(pk=profile.pk).manager is None
