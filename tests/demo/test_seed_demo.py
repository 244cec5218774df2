"""`manage.py seed_demo` loads the demo enterprise once, and is safe to run again."""

import datetime as dt
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse

from esm import clock
from esm.models import (
    BusinessCalendar,
    Department,
    DepartmentRole,
    Holiday,
    Location,
    Profile,
    WorkingPeriod,
)
from services.models import CatalogItem
from services.reuse import origin_changes

pytestmark = pytest.mark.django_db

User = get_user_model()

DEMO_PASSWORD = "demo-passphrase-1"
CORE_MODELS = [
    User,
    Profile,
    Department,
    DepartmentRole,
    BusinessCalendar,
    WorkingPeriod,
    Holiday,
    Location,
]


def seed_demo(**options):
    out = StringIO()
    call_command("seed_demo", stdout=out, without_history=True, **options)
    return out.getvalue()


def counts():
    return {model.__name__: model.objects.count() for model in CORE_MODELS}


def roles_of(username):
    return set(
        DepartmentRole.objects.filter(user__username=username).values_list(
            "department__slug", "role"
        )
    )


@pytest.fixture
def seeded():
    return seed_demo(password=DEMO_PASSWORD)


def test_seed_demo_creates_the_service_departments(seeded):
    assert set(Department.objects.values_list("slug", flat=True)) >= {
        "it",
        "hr",
        "facilities",
        "finance",
    }
    assert not Department.objects.filter(head__isnull=True).exists()


def test_seed_demo_creates_calendars_with_exactly_one_default(seeded):
    default = BusinessCalendar.objects.get(is_default=True)

    assert BusinessCalendar.objects.count() >= 2
    assert default.working_periods.count() == 5
    assert default.holidays.exists()
    it = Department.objects.get(slug="it")
    assert it.calendar is not None
    assert it.calendar != default
    assert Department.objects.filter(calendar__isnull=True).exists()


def test_seed_demo_creates_people_in_every_role(seeded):
    alex = User.objects.get(username="alex")
    assert alex.profile.manager.username == "sam"
    assert roles_of("alex") == set()

    assert User.objects.get(username="erin").profile.is_executive

    for username, department in [("ivan", "it"), ("hana", "hr"), ("fiona", "facilities")]:
        assert roles_of(username) == {(department, DepartmentRole.Role.AGENT)}
    for username, department in [("iris", "it"), ("holly", "hr"), ("fred", "facilities")]:
        assert roles_of(username) == {(department, DepartmentRole.Role.MANAGER)}

    admin = User.objects.get(username="admin")
    assert admin.is_staff
    assert admin.is_active

    assert (
        not Profile.objects.filter(user__username__in=["alex", "ivan", "iris"])
        .filter(department__isnull=True)
        .exists()
    )


def test_seed_demo_prints_each_new_account_and_its_password(seeded):
    for username in ["alex", "erin", "ivan", "iris", "admin"]:
        assert username in seeded
    assert DEMO_PASSWORD in seeded
    # The caller chose the password: nothing was generated, nothing is secret to us.
    assert "with the password you gave" in seeded
    assert "shown only this once" not in seeded


def test_running_seed_demo_again_changes_nothing(seeded):
    before = counts()
    passwords = dict(User.objects.values_list("username", "password"))

    output = seed_demo()

    assert counts() == before
    assert dict(User.objects.values_list("username", "password")) == passwords
    assert "already loaded" in output
    assert DEMO_PASSWORD not in output
    assert BusinessCalendar.objects.filter(is_default=True).count() == 1


def test_seed_demo_without_a_password_still_gives_every_account_one():
    output = seed_demo()

    assert "generated passwords, shown only this once" in output
    alex = User.objects.get(username="alex")
    assert alex.has_usable_password()
    assert not alex.check_password(DEMO_PASSWORD)


@pytest.mark.parametrize("username", ["alex", "ivan", "iris", "erin", "admin"])
def test_demo_accounts_sign_in_with_the_given_password(client, seeded, username):
    response = client.post(reverse("login"), {"username": username, "password": DEMO_PASSWORD})

    assert response.status_code == 302
    assert response.url == reverse("home")


def test_seed_demo_with_a_new_password_resets_every_account(client, seeded):
    before = counts()

    output = seed_demo(password="another-passphrase-2")

    assert counts() == before
    assert "another-passphrase-2" in output
    assert client.login(username="alex", password="another-passphrase-2")
    assert not client.login(username="ivan", password=DEMO_PASSWORD)


def test_running_seed_demo_again_after_renaming_the_default_calendar_keeps_it(seeded):
    BusinessCalendar.objects.filter(is_default=True).update(name="Company calendar")
    before = counts()

    seed_demo()

    assert BusinessCalendar.objects.get(is_default=True).name == "Company calendar"
    assert counts() == before


def test_the_demo_has_a_copy_published_weeks_ago_that_its_origin_improved_since(seeded):
    published = CatalogItem.objects.get(copied_at__isnull=False, is_published=True)

    assert published.department.slug == "facilities"
    assert published.copied_from.department.slug == "it"
    assert published.copied_at < clock.now() - dt.timedelta(weeks=4)
    assert not published.open_parts.exists()
    assert [(c.key, c.change) for c in origin_changes(published)] == [("needed_by", "added")]


def test_the_demo_has_a_copy_still_waiting_for_its_department_to_name_its_parts(seeded):
    draft = CatalogItem.objects.get(copied_at__isnull=False, is_published=False)

    assert draft.department.slug == "facilities"
    assert draft.copied_from.department.slug == "finance"
    assert draft.open_parts.count() == 1


def test_running_seed_demo_again_copies_and_improves_nothing_twice(seeded):
    before = (
        CatalogItem.objects.count(),
        CatalogItem.objects.filter(fields__key="needed_by").count(),
    )

    seed_demo()

    after = (
        CatalogItem.objects.count(),
        CatalogItem.objects.filter(fields__key="needed_by").count(),
    )
    assert after == before
