"""A kept query is built once with `NOW` and read at the time of each run."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db.models import CharField, F, Value
from django.db.models.functions import Concat

from esm import kept_queries
from esm.models import Department, Profile
from services.models import FulfilmentTask
from tests.esm.factories import DepartmentFactory, ProfileFactory, UserFactory
from tests.services.factories import FulfilmentTaskFactory

pytestmark = pytest.mark.django_db

DUE = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)


def _due_by_now_created_since(since: dt.datetime) -> kept_queries.SqlWithParams:
    tasks = FulfilmentTask.objects.filter(resolution_due_at__lte=kept_queries.NOW)
    return (
        tasks.filter(created_at__gte=since)
        .order_by("pk")
        .values_list("pk", flat=True)
        .query.sql_with_params()
    )


def test_the_same_query_reads_each_runs_now_and_keeps_its_other_times():
    task = FulfilmentTaskFactory(resolution_due_at=DUE)
    query = _due_by_now_created_since(task.created_at - dt.timedelta(days=1))

    before = kept_queries.rows_at(FulfilmentTask, query, now=DUE - dt.timedelta(minutes=1))
    after = kept_queries.rows_at(FulfilmentTask, query, now=DUE)

    assert (before, after) == ([], [(task.pk,)])
    # Only the mark is replaced: a time of the query's own stays as it was written.
    later = _due_by_now_created_since(task.created_at + dt.timedelta(days=1))
    assert kept_queries.rows_at(FulfilmentTask, later, now=DUE) == []


# Relations of every kind: a nullable foreign key (head), a one-to-one seen from the side
# without the key (the head's profile), a foreign key beyond it, and one that is never null.
HEADS = ("head__profile__department", "head__profile__location", "calendar")


def _fields(instance):
    if instance is None:
        return None
    return {
        field.attname: getattr(instance, field.attname)
        for field in type(instance)._meta.concrete_fields
    }


def _departments_kept(**filters):
    departments = Department.objects.filter(**filters).annotate(
        label=Concat(F("name"), Value(" / "), F("slug"), output_field=CharField())
    )
    return kept_queries.kept_instances(departments, HEADS)


def test_kept_rows_are_the_instances_select_related_reads(django_assert_num_queries):
    """Every field as the ORM reads it (a datetime or date from SQLite's text, a boolean
    from its integer), every relation filled in or None, the one-to-one both ways."""
    home = DepartmentFactory(name="Home")
    head = UserFactory(last_login=DUE)
    ProfileFactory(user=head, department=home, start_date=dt.date(2024, 5, 6), is_executive=True)
    headless = DepartmentFactory(name="Headless")
    no_profile = DepartmentFactory(name="Unprofiled", head=UserFactory())
    headed = DepartmentFactory(name="Headed", head=head)
    kept = _departments_kept(pk__in=[headless.pk, no_profile.pk, headed.pk])

    with django_assert_num_queries(1):
        read = {department.name: department for department in kept_queries.instances_at(kept)}
        reached = {
            name: [
                department.label,
                department.calendar,
                department.head,
                department.head and department.head.profile,
                department.head and department.head.profile.department,
                department.head and department.head.profile.location,
            ]
            for name, department in read.items()
            if name != "Unprofiled"
        }
        assert read["Headed"].head.profile.user is read["Headed"].head
    expected = {
        department.name: department
        for department in Department.objects.select_related(*HEADS).filter(
            pk__in=[headless.pk, no_profile.pk, headed.pk]
        )
    }

    assert set(read) == set(expected)
    for name, department in read.items():
        assert _fields(department) == _fields(expected[name])
        assert _fields(department.calendar) == _fields(expected[name].calendar)
        assert _fields(department.head) == _fields(expected[name].head)
    assert reached["Headless"][2:] == [None, None, None, None]
    assert reached["Headed"][0] == f"Headed / {headed.slug}"
    assert _fields(reached["Headed"][3]) == _fields(head.profile)
    assert reached["Headed"][4] == home
    assert reached["Headed"][5] is None
    assert read["Headed"]._state.db == "default"
    assert not read["Headed"]._state.adding
    # A one-to-one with no row behind it reads as the ORM's does: it does not exist.
    with django_assert_num_queries(0), pytest.raises(Profile.DoesNotExist):
        _ = read["Unprofiled"].head.profile


def test_kept_rows_read_the_keys_of_each_run_in_place_of_their_marks():
    first, second, third = (DepartmentFactory(name=name) for name in ("One", "Two", "Three"))
    one = _departments_kept(pk=kept_queries.ID)
    two = _departments_kept(pk__in=kept_queries.ids(2))

    assert [d.name for d in kept_queries.instances_at(one, keys={kept_queries.ID: second.pk})] == [
        "Two"
    ]
    marks = dict(zip(kept_queries.ids(2), [third.pk, first.pk], strict=True))
    assert sorted(d.name for d in kept_queries.instances_at(two, keys=marks)) == ["One", "Three"]
    assert kept_queries.instances_at(one, keys={kept_queries.ID: 0}) == []


def test_a_text_key_and_an_instant_of_the_runs_own_take_the_place_of_their_marks():
    """`TEXT_ID` and `AT` are replaced as `ID` is, the instant written as the database's
    compiler writes one (text on SQLite), and `AT` apart from `NOW`."""
    _, two = (DepartmentFactory(name=name) for name in ("One", "Two"))
    kept = _departments_kept(name=kept_queries.TEXT_ID)
    assert [d.pk for d in kept_queries.instances_at(kept, keys={kept_queries.TEXT_ID: "Two"})] == [
        two.pk
    ]
    task = FulfilmentTaskFactory(resolution_due_at=DUE)
    query = (
        FulfilmentTask.objects.filter(
            resolution_due_at__gte=kept_queries.AT, created_at__lte=kept_queries.NOW
        )
        .values_list("pk")
        .query.sql_with_params()
    )

    def due_from(since: dt.datetime) -> list[tuple[int]]:
        keys = {kept_queries.AT: since}
        return kept_queries.rows_at(FulfilmentTask, query, now=task.created_at, keys=keys)

    assert due_from(DUE) == [(task.pk,)]
    assert due_from(DUE + dt.timedelta(microseconds=1)) == []
    # Left in place, a mark matches no row.
    assert kept_queries.instances_at(kept) == []


def test_a_kept_update_changes_the_rows_of_each_runs_keys_at_its_now():
    """Built once with marks, it runs as `QuerySet.update` would with each run's values,
    and says how many rows it changed."""
    due, later = (FulfilmentTaskFactory(resolution_due_at=DUE) for _ in range(2))
    query = kept_queries.kept_update(
        FulfilmentTask.objects.filter(pk=kept_queries.ID, resolution_due_at__lte=kept_queries.NOW),
        version=F("version") + 1,
        updated_at=kept_queries.NOW,
    )
    before = DUE - dt.timedelta(minutes=1)

    assert (
        kept_queries.updated_at(FulfilmentTask, query, now=before, keys={kept_queries.ID: due.pk})
        == 0
    )
    assert (
        kept_queries.updated_at(FulfilmentTask, query, now=DUE, keys={kept_queries.ID: due.pk}) == 1
    )

    changed, untouched = (FulfilmentTask.objects.get(pk=task.pk) for task in (due, later))
    assert (changed.version, changed.updated_at) == (due.version + 1, DUE)
    assert (untouched.version, untouched.updated_at) == (later.version, later.updated_at)
