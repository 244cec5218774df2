"""The department managers' knowledge sharing rollup: the same figures as the live
definition (`services.knowledge_sharing`), a row per department and per contributor, a
refresh safe to repeat, and a department's rows in the panel's order."""

from __future__ import annotations

import datetime as dt

import pytest

from esm import clock
from esm.models import Department, DepartmentRole
from reporting.models import SharingFigures
from reporting.sharing import figures, sharing_of_department, sharing_refresh
from services.knowledge_sharing import (
    knowledge_sharing_by_department,
    knowledge_sharing_by_person,
    recent,
)
from services.models import ArticleView
from tests.esm.factories import DepartmentRoleFactory, ProfileFactory, UserFactory
from tests.services.factories import ArticleFactory, CatalogItemFactory, ConsultFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
IN_PERIOD = NOW - dt.timedelta(days=10)
AGENT, MANAGER = DepartmentRole.Role.AGENT, DepartmentRole.Role.MANAGER


@pytest.fixture(autouse=True)
def _now():
    with clock.travel(NOW):
        yield


def person(username, *, home, role=None):
    user = UserFactory(username=username, first_name=username.title())
    ProfileFactory(user=user, department=home)
    if role is not None:
        DepartmentRoleFactory(user=user, department=home, role=role)
    return user


@pytest.fixture
def people(it_department, hr_department, sales_department):
    """By hand, over the last 90 days:

    - Ana (IT agent) wrote an article that Sam (Sales) and Hal (HR agent) read: 1 written,
      2 deflections, 2 colleagues helped.
    - Bob (IT manager) answered a consult Hank (HR) asked: 1 answered, 1 helped.
    - Dan (IT, no role) wrote an article Sam read: IT's, but Dan is not staff, so only IT's
      totals count it.
    - Carl (IT agent) shared nothing. Hope (HR agent) answered a consult Sam asked: HR's.

    IT: 2 written, 3 deflections, 1 answered, 3 colleagues helped (Sam, Hal, Hank).
    """
    it, hr, sales = it_department, hr_department, sales_department
    ana, bob = person("ana", home=it, role=AGENT), person("bob", home=it, role=MANAGER)
    carl, dan = person("carl", home=it, role=AGENT), person("dan", home=it)
    hal, hank = person("hal", home=hr, role=AGENT), person("hank", home=hr)
    hope, sam = person("hope", home=hr, role=AGENT), person("sam", home=sales)
    item = CatalogItemFactory(department=it)
    with clock.travel(IN_PERIOD):
        anas, dans = (
            ArticleFactory(author=ana, department=it),
            ArticleFactory(author=dan, department=it),
        )
        for article, reader in ((anas, sam), (anas, hal), (dans, sam)):
            ArticleView.objects.create(article=article, user=reader, catalog_item=item)
    with clock.travel(IN_PERIOD):
        ConsultFactory(asked_by=hank, answered_by=bob, from_department=hr, to_department=it)
        ConsultFactory(asked_by=sam, answered_by=hope, from_department=sales, to_department=hr)
    return {"ana": ana, "bob": bob, "carl": carl, "dan": dan, "hope": hope}


def as_tuple(sharing):
    return (
        sharing.articles_written,
        sharing.deflections,
        sharing.consults_answered,
        sharing.colleagues_helped,
    )


def test_a_refresh_writes_every_department_and_each_contributor_with_the_live_figures(
    people, it_department
):
    since, until = recent()

    sharing_refresh()

    departments = {row.department_id: row for row in SharingFigures.objects.filter(person=None)}
    assert set(departments) == set(Department.objects.values_list("pk", flat=True))
    assert as_tuple(departments[it_department.pk]) == (2, 3, 1, 3)
    live = knowledge_sharing_by_department(
        department_ids=list(departments), since=since, until=until
    )
    assert {pk: as_tuple(row) for pk, row in departments.items()} == {
        pk: as_tuple(sharing) for pk, sharing in live.items()
    }
    contributors = {row.person: row for row in SharingFigures.objects.filter(department=None)}
    assert set(contributors) == {people["ana"], people["bob"], people["hope"]}
    assert as_tuple(contributors[people["ana"]]) == (1, 2, 0, 2)
    live = knowledge_sharing_by_person(
        people=[person.pk for person in contributors], since=since, until=until
    )
    assert {p.pk: as_tuple(row) for p, row in contributors.items()} == {
        pk: as_tuple(sharing) for pk, sharing in live.items()
    }
    assert {(row.since, row.until) for row in SharingFigures.objects.all()} == {(since, until)}


def test_a_refresh_again_replaces_the_figures_and_drops_who_no_longer_shared(people, it_department):
    sharing_refresh()
    sharing_refresh()
    assert SharingFigures.objects.filter(department=it_department).count() == 1

    with clock.travel(NOW + dt.timedelta(days=85)):
        sharing_refresh()

    # Ten plus 85 days on, the article and the consults are out of the 90 days.
    assert not SharingFigures.objects.filter(person__isnull=False).exists()
    ours = SharingFigures.objects.get(department=it_department)
    assert as_tuple(ours) == (0, 0, 0, 0)
    assert ours.until == NOW + dt.timedelta(days=85)
    assert SharingFigures.objects.filter(person=None).count() == Department.objects.count()


def test_a_departments_rows_are_its_own_then_its_staff_by_contribution_then_name(
    people, it_department, hr_department
):
    # Cleo, an IT agent, gave exactly what Bob gave (a consult answered for someone of no
    # department): the tie goes by name.
    cleo = person("cleo", home=it_department, role=AGENT)
    with clock.travel(IN_PERIOD):
        ConsultFactory(
            asked_by=UserFactory(username="nobody"),
            answered_by=cleo,
            from_department=hr_department,
            to_department=it_department,
        )
    sharing_refresh()

    rows = list(sharing_of_department(it_department))

    assert rows[0].department == it_department
    assert [row.person for row in rows[1:]] == [people["ana"], people["bob"], cleo]
    assert as_tuple(figures(rows[1])) == (1, 2, 0, 2)
