"""The pages of the core: signing in and out, navigation by role, work and dashboards."""

import datetime as dt
import re

import pytest
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from esm.models import Department, DepartmentRole
from tests.esm.factories import (
    TEST_PASSWORD,
    BusinessCalendarFactory,
    DepartmentFactory,
    DepartmentRoleFactory,
    HolidayFactory,
    ProfileFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

AGENT, MANAGER = DepartmentRole.Role.AGENT, DepartmentRole.Role.MANAGER
SIGN_IN = reverse("login")


def signed_in(client, user):
    client.force_login(user)
    return client


# -- signing in and out ---------------------------------------------------------------------


def test_sign_in_page_renders_the_form_for_anonymous_visitors(client):
    response = client.get(SIGN_IN)

    assert response.status_code == 200
    assert set(response.context["form"].fields) == {"username", "password"}
    content = response.content.decode()
    assert 'name="username"' in content
    assert 'name="password"' in content
    assert "csrfmiddlewaretoken" in content


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get(reverse("home"))

    assert response.status_code == 302
    assert response.url == f"{SIGN_IN}?next=/"


@pytest.mark.parametrize("page", ["workspace", "dashboards"])
def test_anonymous_visitors_never_see_work_or_dashboards(client, page):
    response = client.get(reverse(page))

    assert response.status_code == 302
    assert response.url.startswith(SIGN_IN)


def test_signing_in_lands_on_the_portal(client, employee):
    response = client.post(SIGN_IN, {"username": "employee", "password": TEST_PASSWORD})

    assert response.status_code == 302
    assert response.url == reverse("home")
    assert client.session[SESSION_KEY] == str(employee.pk)
    assert client.get(reverse("home")).status_code == 200


def test_signing_in_follows_next(client, it_agent):
    response = client.post(
        SIGN_IN, {"username": "it_agent", "password": TEST_PASSWORD, "next": "/work/"}
    )

    assert response.url == "/work/"


def test_a_wrong_password_is_refused_and_signs_nobody_in(client, employee):
    response = client.post(SIGN_IN, {"username": "employee", "password": "not-the-password"})

    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert SESSION_KEY not in client.session
    assert client.get(reverse("home")).status_code == 302


def test_signed_in_people_visiting_sign_in_go_to_the_portal(client, employee):
    response = signed_in(client, employee).get(SIGN_IN)

    assert response.status_code == 302
    assert response.url == reverse("home")


def test_signing_out_by_get_is_refused_and_keeps_the_session(client, employee):
    signed_in(client, employee)

    response = client.get(reverse("logout"))

    assert response.status_code == 405
    assert client.session[SESSION_KEY] == str(employee.pk)


def test_signing_out_by_post_ends_the_session(client, employee):
    signed_in(client, employee)

    response = client.post(reverse("logout"))

    assert response.status_code == 302
    assert response.url == SIGN_IN
    assert SESSION_KEY not in client.session
    assert client.get(reverse("home")).status_code == 302


def test_every_page_offers_sign_out_as_a_form(client, employee):
    content = signed_in(client, employee).get(reverse("home")).content.decode()

    assert f'<form method="post" action="{reverse("logout")}">' in content


# -- password reset -------------------------------------------------------------------------


def test_password_reset_mails_a_working_link_to_a_known_address(client, employee):
    response = client.post(reverse("password_reset"), {"email": "employee@example.com"})

    assert response.status_code == 302
    assert response.url == reverse("password_reset_done")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["employee@example.com"]
    link = re.search(r"https?://[^/\s]+(/account/password/reset/[^/\s]+/[^/\s]+/)", message.body)
    assert link, message.body

    # The link works: it leads to the form that sets a new password, which then signs in.
    form_page = client.get(link.group(1), follow=True)
    assert form_page.status_code == 200
    assert form_page.context["validlink"] is True
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "a-brand-new-passphrase", "new_password2": "a-brand-new-passphrase"},
    )
    assert done.url == reverse("password_reset_complete")
    employee.refresh_from_db()
    assert employee.check_password("a-brand-new-passphrase")


@override_settings(PORTAL_BASE_URL="https://esm.example.com:8123/")
def test_password_reset_link_is_on_the_portal_base_url(client, employee):
    client.post(reverse("password_reset"), {"email": "employee@example.com"})

    [message] = mail.outbox
    assert "https://esm.example.com:8123/account/password/reset/" in message.body


def test_password_reset_for_an_unknown_address_sends_nothing_but_looks_the_same(client):
    response = client.post(reverse("password_reset"), {"email": "nobody@example.com"}, follow=True)

    assert response.redirect_chain == [(reverse("password_reset_done"), 302)]
    assert response.status_code == 200
    assert b"Check your e-mail" in response.content
    assert mail.outbox == []


def test_password_reset_pages_are_open_to_anonymous_visitors(client):
    assert client.get(reverse("password_reset")).status_code == 200
    assert client.get(reverse("password_reset_done")).status_code == 200


# -- navigation -----------------------------------------------------------------------------


@pytest.fixture
def staff_member(db):
    return UserFactory(username="staff_member", is_staff=True)


EVERYONE = ["Portal", "My requests"]
# Approvals only for people who approve: here the employee's manager (direct reports); the
# other personas approve nothing yet (tests/services/test_views.py covers the other ways).
# Dashboards for every active person: each reads the reports written for their audiences.
NAVIGATION = {
    "employee": [*EVERYONE, "Dashboards"],
    "manager": [*EVERYONE, "Approvals", "Dashboards"],
    "outsider": [*EVERYONE, "Dashboards"],
    "it_agent": [*EVERYONE, "Queues", "Team", "Value streams", "Journeys", "Dashboards"],
    "hr_agent": [*EVERYONE, "Queues", "Team", "Value streams", "Journeys", "Dashboards"],
    "department_manager": [
        *EVERYONE,
        "Queues",
        "Team",
        "Overview",
        "Value streams",
        "Journeys",
        "Dashboards",
    ],
    "executive": [*EVERYONE, "Value streams", "Journeys", "Dashboards"],
    "superuser": [*EVERYONE, "Value streams", "Journeys", "Dashboards", "Audit log", "Admin"],
    "staff_member": [*EVERYONE, "Value streams", "Journeys", "Dashboards", "Audit log", "Admin"],
}
NAV_LINKS = {
    "Approvals": "/approvals/",
    "Queues": "/queues/",
    "Team": "/work/",
    "Overview": "/departments/overview/",
    "Value streams": "/streams/",
    "Journeys": "/journeys/",
    "Dashboards": "/dashboards/",
    "Audit log": "/audit/",
    "Admin": "/admin/",
}


@pytest.mark.parametrize(("persona", "labels"), NAVIGATION.items(), ids=list(NAVIGATION))
def test_navigation_shows_what_each_persona_roles_give_them(request, client, persona, labels):
    request.getfixturevalue("employee")  # the manager's direct report
    response = signed_in(client, request.getfixturevalue(persona)).get(reverse("home"))

    assert [item.label for item in response.context["nav_items"]] == labels
    content = response.content.decode()
    for label, url in NAV_LINKS.items():
        assert (f'href="{url}"' in content) is (label in labels), label


def test_the_sign_in_page_shows_no_navigation(client):
    response = client.get(SIGN_IN)

    assert response.context["nav_items"] == []
    assert 'class="mainnav"' not in response.content.decode()


# -- the work page --------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["employee", "manager", "executive", "outsider", "superuser"])
def test_work_page_is_forbidden_to_people_without_a_department_role(request, client, persona):
    response = signed_in(client, request.getfixturevalue(persona)).get(reverse("workspace"))

    assert response.status_code == 403


def test_work_page_shows_the_agent_team_and_business_hours(
    client, it_agent, it_department, hr_agent
):
    BusinessCalendarFactory(name="Company hours", is_default=True, time_zone="Europe/London")
    colleague = UserFactory(first_name="Grace", last_name="Hopper")
    DepartmentRoleFactory(user=colleague, department=it_department, role=MANAGER)

    response = signed_in(client, it_agent).get(reverse("workspace"))

    assert response.status_code == 200
    assert [department.name for department in response.context["departments"]] == ["IT"]
    content = response.content.decode()
    assert escape(it_agent.get_full_name()) in content
    assert "Grace Hopper" in content
    assert escape(hr_agent.get_full_name()) not in content
    assert "Company hours · Europe/London" in content
    for weekday in ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]:
        assert f"{weekday} 09:00-17:00" in content
    assert "Saturday" not in content


def test_work_page_shows_the_department_own_calendar_and_upcoming_holidays(
    client, department_manager, it_department
):
    BusinessCalendarFactory(name="Company hours", is_default=True)
    own = BusinessCalendarFactory(name="IT extended hours", time_zone="America/New_York")
    HolidayFactory(calendar=own, date=timezone.localdate() + dt.timedelta(days=30), name="Away day")
    HolidayFactory(calendar=own, date=timezone.localdate() - dt.timedelta(days=30), name="Past day")
    Department.objects.filter(pk=it_department.pk).update(calendar=own)

    response = signed_in(client, department_manager).get(reverse("workspace"))

    content = response.content.decode()
    assert "IT extended hours · America/New_York" in content
    assert "Company hours" not in content
    assert "Away day" in content
    assert "Past day" not in content


# -- dashboards -----------------------------------------------------------------------------
# The dashboards are reporting's pages (tests/reporting/test_dashboards.py); here only that
# the navigation's entry opens for everyone it is offered to.


@pytest.mark.parametrize("persona", ["employee", "it_agent", "executive", "outsider", "superuser"])
def test_dashboards_open_for_every_active_person(request, client, persona):
    response = signed_in(client, request.getfixturevalue(persona)).get(reverse("dashboards"))

    assert response.status_code == 200


# -- query counts do not grow with the data -------------------------------------------------


def _add_departments(count, *, viewer):
    """Departments with people, roles, a head, and (every other one) a calendar of their own."""
    start = Department.objects.count()
    for number in range(start, start + count):
        calendar = None
        if number % 2:
            calendar = BusinessCalendarFactory(name=f"Hours {number}")
            HolidayFactory(calendar=calendar, date=timezone.localdate() + dt.timedelta(days=9))
        department = DepartmentFactory(name=f"Dept {number}", slug=f"dept-{number}")
        people = [UserFactory() for _ in range(3)]
        for person in people:
            ProfileFactory(user=person, department=department)
        DepartmentRoleFactory(user=people[0], department=department, role=AGENT)
        DepartmentRoleFactory(user=people[1], department=department, role=MANAGER)
        DepartmentRoleFactory(user=viewer, department=department, role=AGENT)
        Department.objects.filter(pk=department.pk).update(head=people[1], calendar=calendar)


@pytest.fixture
def agent_of_every_department(db):
    BusinessCalendarFactory(name="Company hours", is_default=True)
    HolidayFactory(date=timezone.localdate() + dt.timedelta(days=3))
    user = UserFactory(username="busy_agent")
    ProfileFactory(user=user)
    return user


# Session, user, the viewer's roles, then each page's own reads (each department's team,
# calendar, periods and holidays are prefetched, not fetched per department).
# (The portal home has its own query-count tests in tests/services/test_views.py.)
# The navigation reads the roles and the approvals waiting: two queries on every page. The
# workspace's "Your knowledge sharing" reads the person's figures: three.
QUERY_BUDGET = {"workspace": 15}


@pytest.mark.parametrize("page", list(QUERY_BUDGET))
def test_page_query_count_does_not_grow_with_the_enterprise(
    client, page, agent_of_every_department, django_assert_max_num_queries
):
    signed_in(client, agent_of_every_department)

    _add_departments(3, viewer=agent_of_every_department)
    with django_assert_max_num_queries(QUERY_BUDGET[page]) as small:
        assert client.get(reverse(page)).status_code == 200

    _add_departments(27, viewer=agent_of_every_department)
    with django_assert_max_num_queries(QUERY_BUDGET[page]) as large:
        response = client.get(reverse(page))
    assert response.status_code == 200
    assert len(response.context["departments"]) >= 30

    assert len(large.captured_queries) == len(small.captured_queries)


# The portal's own error pages -----------------------------------------------------------


@pytest.mark.parametrize("debug", [False, True])
def test_unknown_address_shows_the_portals_not_found_page(client, employee, settings, debug):
    settings.DEBUG = debug
    client.force_login(employee)

    response = client.get("/no-such-page/")

    assert response.status_code == 404
    page = response.content.decode()
    assert "There is nothing here" in page
    assert 'class="mainnav"' in page
    assert f'href="{reverse("home")}"' in page
    assert "URLconf" not in page


@pytest.mark.parametrize("debug", [False, True])
def test_object_that_does_not_exist_shows_the_portals_not_found_page(
    client, employee, settings, debug
):
    settings.DEBUG = debug
    client.force_login(employee)

    response = client.get(reverse("request_detail", args=["REQ-999999"]))

    assert response.status_code == 404
    assert "There is nothing here" in response.content.decode()


@pytest.mark.parametrize("debug", [False, True])
def test_refused_page_shows_the_portals_forbidden_page(client, employee, settings, debug):
    settings.DEBUG = debug
    client.force_login(employee)

    response = client.get(reverse("queue_list"))

    assert response.status_code == 403
    page = response.content.decode()
    assert "You cannot do this" in page
    assert 'class="mainnav"' in page
    assert f'href="{reverse("home")}"' in page


def test_a_server_error_in_debug_keeps_djangos_technical_page(client, employee, settings):
    settings.DEBUG = True
    client.raise_request_exception = False
    client.force_login(employee)
    settings.ROOT_URLCONF = "tests.esm.broken_urls"

    response = client.get("/broken/")

    assert response.status_code == 500
    assert "Traceback" in response.content.decode()


def test_a_server_error_shows_the_portals_error_page_without_a_traceback(
    client, employee, settings
):
    settings.DEBUG = False
    client.raise_request_exception = False
    client.force_login(employee)
    settings.ROOT_URLCONF = "tests.esm.broken_urls"

    response = client.get("/broken/")

    assert response.status_code == 500
    page = response.content.decode()
    assert "Something went wrong on our side" in page
    assert "Traceback" not in page
    # Rendered without the request: no menu, no name, nothing that needs the database.
    assert 'class="mainnav"' not in page
    assert employee.username not in page
