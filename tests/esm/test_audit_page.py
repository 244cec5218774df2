"""The audit page: who changed what, from the event log, for the portal's administrators."""

import datetime as dt

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from esm import clock
from esm.events import event_record
from esm.models import EventKind
from tests.esm.factories import DepartmentFactory, UserFactory
from tests.services.factories import CatalogItemFactory, ServiceRequestFactory

pytestmark = pytest.mark.django_db

URL = reverse("audit_log")


@pytest.fixture
def admin_user(db):
    """A staff administrator: may use the admin, in no department, not HR."""
    return UserFactory(username="staff_admin", is_staff=True)


def _record(subject, kind, actor=None, **details):
    with transaction.atomic():
        return event_record(subject=subject, kind=kind, actor=actor, **details)


def _changed(item, actor, before, after):
    return _record(
        item,
        EventKind.CONFIG_CHANGED,
        actor,
        department=item.department,
        payload={
            "via": "admin",
            "name": item.name,
            "fields": ["name"],
            "changes": {"name": [before, after]},
        },
    )


@pytest.mark.parametrize("persona", ["employee", "it_agent", "department_manager", "executive"])
def test_the_audit_is_refused_to_everyone_but_administrators(client, request, persona):
    client.force_login(request.getfixturevalue(persona))

    assert client.get(URL).status_code == 403


def test_the_audit_is_for_staff_administrators_and_linked_from_their_navigation(
    client, admin_user, employee
):
    client.force_login(admin_user)
    page = client.get(URL)

    assert page.status_code == 200
    assert f'href="{URL}"' in page.content.decode()
    client.force_login(employee)
    assert f'href="{URL}"' not in client.get(reverse("my_requests")).content.decode()


def test_an_empty_log_says_so(client, admin_user):
    client.force_login(admin_user)

    assert "Nothing has been recorded yet." in client.get(URL).content.decode()


def test_a_missed_target_says_which_target_in_words(client, superuser):
    service_request = ServiceRequestFactory()
    _record(
        service_request,
        EventKind.SLA_BREACHED,
        department=service_request.department,
        reference=service_request.reference,
        to_value="end_to_end",
    )
    client.force_login(superuser)

    html = client.get(URL).content.decode()

    assert "The end-to-end target was missed" in html
    assert "— → end_to_end" not in html


def test_a_row_says_when_who_and_what_changed_with_a_link_for_a_superuser(client, superuser):
    item = CatalogItemFactory(name="Laptop, 14 inch")
    _changed(item, superuser, "Laptop", "Laptop, 14 inch")
    client.force_login(superuser)

    html = client.get(URL).content.decode()

    assert "Laptop, 14 inch" in html
    assert "Laptop →" in html
    assert reverse("admin:services_catalogitem_change", args=[item.pk]) in html
    assert superuser.username in html


def test_a_self_granted_hr_role_is_flagged(client, admin_user, hr_department):
    _record(
        admin_user,
        EventKind.ROLE_GRANTED,
        admin_user,
        department=hr_department,
        to_value="agent",
        payload={
            "via": "admin",
            "source": "by_hand",
            "confidential_access": True,
            "self_granted": True,
        },
    )
    _changed(CatalogItemFactory(), admin_user, "A", "B")
    client.force_login(admin_user)

    flagged = client.get(URL, {"flagged": "on"})

    html = flagged.content.decode()
    assert html.count('class="flagged"') == 1
    assert "opens confidential cases" in html
    assert "to themselves" in html
    assert "agent of HR" in html


def test_break_glass_sign_ins_and_passwords_set_for_others_are_flagged(
    client, admin_user, superuser, employee
):
    _record(
        superuser,
        EventKind.BREAK_GLASS_SIGN_IN,
        superuser,
        payload={"via": "password", "address": "203.0.113.7"},
    )
    _record(
        employee,
        EventKind.PERSON_UPDATED,
        superuser,
        payload={
            "via": "admin",
            "fields": ["password"],
            "password": "set",
            "password_set_for_another": True,
        },
    )
    _record(
        superuser,
        EventKind.PERSON_UPDATED,
        superuser,
        payload={"via": "admin", "fields": ["password"], "password": "set"},
    )
    client.force_login(admin_user)

    html = client.get(URL, {"flagged": "on"}).content.decode()

    assert html.count('class="flagged"') == 2
    assert "break-glass sign-in" in html
    assert "Signed in with a password from 203.0.113.7" in html
    assert "password set by someone else" in html
    assert "Password changed (no value is recorded)" in html


def test_a_deletion_says_what_went_with_it(client, admin_user):
    item = CatalogItemFactory(name="Laptop")
    _record(
        item,
        EventKind.CONFIG_DELETED,
        admin_user,
        payload={
            "via": "admin",
            "name": "Laptop",
            "removed": {"services.formfield": 2, "services.approvalstep": 1},
        },
    )
    client.force_login(admin_user)

    html = client.get(URL).content.decode()

    assert "Removed with it: 2 form fields, 1 approval step" in html


def test_filters_narrow_by_person_kind_record_and_days(client, admin_user, it_agent):
    mine, theirs = CatalogItemFactory(name="Mine"), CatalogItemFactory(name="Theirs")
    _changed(mine, admin_user, "M0", "M1")
    _changed(theirs, it_agent, "T0", "T1")
    _record(theirs, EventKind.CONFIG_DELETED, it_agent, payload={"via": "admin", "name": "Theirs"})
    client.force_login(admin_user)

    by_person = client.get(URL, {"who": "IT_AGENT"}).content.decode()
    by_kind = client.get(URL, {"kind": "config_deleted"}).content.decode()
    by_record = client.get(URL, {"subject": "esm.department"}).content.decode()
    tomorrow = (timezone.localdate(clock.now()) + dt.timedelta(days=2)).isoformat()
    by_days = client.get(URL, {"start": tomorrow}).content.decode()

    assert "T0 →" in by_person
    assert "M0 →" not in by_person
    assert by_kind.count('data-label="When"') == 1
    assert "Nothing in the log matches these filters" in by_record
    assert "Nothing in the log matches these filters" in by_days


def test_bad_filters_answer_400_and_list_nothing(client, admin_user):
    _changed(CatalogItemFactory(), admin_user, "A", "B")
    client.force_login(admin_user)

    for query in ({"who": "nobody-by-this-name"}, {"start": "yesterday"}, {"before": "x~y"}):
        page = client.get(URL, query)
        assert page.status_code == 400, query
        assert "A →" not in page.content.decode()


def test_a_confidential_case_shows_only_its_reference_to_an_administrator_outside_hr(
    client, admin_user, hr_agent, hr_department, employee
):
    item = CatalogItemFactory(department=hr_department, is_confidential=True)
    case = ServiceRequestFactory(
        catalog_item=item, requester=employee, subject="Grievance about my manager"
    )
    _record(
        case,
        EventKind.SUBMITTED,
        employee,
        department=hr_department,
        reference=case.reference,
        to_value="submitted",
        is_confidential=True,
        payload={"item": item.slug},
    )
    client.force_login(admin_user)

    html = client.get(URL).content.decode()
    by_requester = client.get(URL, {"who": employee.username}).content.decode()

    assert case.reference in html
    assert "only its department's staff" in html
    assert "Employee-Persona" not in html
    assert "Grievance" not in html
    assert item.slug not in html
    assert case.reference not in by_requester
    client.force_login(hr_agent)
    hr_agent.is_staff = True
    hr_agent.save(update_fields=["is_staff"])
    assert "Employee-Persona" in client.get(URL).content.decode()


def test_the_page_runs_a_constant_number_of_queries_whatever_the_log_holds(
    client, superuser, django_assert_max_num_queries
):
    client.force_login(superuser)
    department = DepartmentFactory()

    def fill(n):
        for index in range(n):
            person = UserFactory()
            item = CatalogItemFactory(department=department)
            _changed(item, person, f"old {index}", f"new {index}")
            _record(
                person,
                EventKind.PERSON_UPDATED,
                superuser,
                payload={
                    "via": "admin",
                    "fields": ["first_name"],
                    "changes": {"first_name": ["a", "b"]},
                },
            )

    fill(3)
    client.get(URL)
    with django_assert_max_num_queries(100) as small:
        assert client.get(URL).status_code == 200
    fill(30)
    with django_assert_max_num_queries(len(small.captured_queries)) as large:
        page = client.get(URL)
    assert page.status_code == 200
    assert 'rel="next"' in page.content.decode()
    assert len(large.captured_queries) == len(small.captured_queries)
