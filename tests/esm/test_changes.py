"""Changes made in the Django admin and on the portal's pages write their events."""

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from esm.admin_site import ChangesRecordedMixin
from esm.models import Department, DepartmentRole, Event, EventKind
from esm.provisioning import provisioning_client_new, token_hash
from services.models import CatalogItem, FormField
from tests.esm.admin_forms import admin_form_data
from tests.services.factories import CatalogItemFactory, FormFieldFactory

pytestmark = pytest.mark.django_db

User = get_user_model()


def _events(**filters):
    return list(Event.objects.filter(**filters).order_by("id"))


def _post(client, url, changes):
    page = client.get(url)
    assert page.status_code == 200
    data = admin_form_data(page) | changes
    answer = client.post(url, data)
    assert answer.status_code == 302, (
        answer.context["adminform"].form.errors if answer.context else answer
    )
    return answer


def test_every_model_admin_on_the_site_records_its_changes():
    unrecorded = [
        model._meta.label
        for model, model_admin in admin.site._registry.items()
        if not isinstance(model_admin, ChangesRecordedMixin)
    ]

    assert unrecorded == []


def test_a_superuser_giving_themselves_an_hr_role_is_recorded_and_flagged(
    client, superuser, hr_department
):
    CatalogItemFactory(department=hr_department, is_confidential=True)
    client.force_login(superuser)
    url = reverse("admin:auth_user_change", args=[superuser.pk])

    _post(
        client,
        url,
        {
            "department_roles-TOTAL_FORMS": "1",
            "department_roles-0-department": str(hr_department.pk),
            "department_roles-0-role": "agent",
            "department_roles-0-source": "by_hand",
            "department_roles-0-user": str(superuser.pk),
        },
    )

    assert DepartmentRole.objects.filter(user=superuser, department=hr_department).exists()
    [granted] = _events(kind=EventKind.ROLE_GRANTED)
    assert (granted.subject_type, granted.subject_id) == ("auth.user", superuser.pk)
    assert granted.actor == superuser
    assert granted.department == hr_department
    assert granted.to_value == "agent"
    assert granted.payload == {
        "via": "admin",
        "source": "by_hand",
        "confidential_access": True,
        "self_granted": True,
    }


def test_removing_a_role_in_the_admin_records_its_revocation(
    client, superuser, it_agent, it_department
):
    client.force_login(superuser)
    url = reverse("admin:auth_user_change", args=[it_agent.pk])
    role = DepartmentRole.objects.get(user=it_agent)

    _post(client, url, {"department_roles-0-id": str(role.pk), "department_roles-0-DELETE": "on"})

    assert not DepartmentRole.objects.filter(user=it_agent).exists()
    [revoked] = _events(kind=EventKind.ROLE_REVOKED)
    assert (revoked.subject_id, revoked.from_value, revoked.department) == (
        it_agent.pk,
        "agent",
        it_department,
    )
    assert "self_granted" not in revoked.payload


def test_making_someone_superuser_is_recorded_as_a_change_of_admin_rights(
    client, superuser, employee
):
    client.force_login(superuser)

    _post(
        client,
        reverse("admin:auth_user_change", args=[employee.pk]),
        {"is_staff": "on", "is_superuser": "on", "first_name": "Emma"},
    )

    [rights] = _events(kind=EventKind.ADMIN_RIGHTS_CHANGED)
    assert rights.subject_id == employee.pk
    assert rights.payload["fields"] == ["is_staff", "is_superuser"]
    assert rights.payload["changes"] == {"is_staff": [False, True], "is_superuser": [False, True]}
    assert rights.payload["superuser_granted"] is True
    [updated] = _events(kind=EventKind.PERSON_UPDATED)
    assert updated.payload["changes"] == {"first_name": ["Employee", "Emma"]}


def test_a_catalog_item_changed_in_the_admin_records_fields_and_values(client, superuser):
    item = CatalogItemFactory(name="Laptop")
    client.force_login(superuser)

    _post(
        client,
        reverse("admin:services_catalogitem_change", args=[item.pk]),
        {"name": "Laptop, 14 inch"},
    )

    [changed] = _events(kind=EventKind.CONFIG_CHANGED)
    assert (changed.subject_type, changed.subject_id) == ("services.catalogitem", item.pk)
    assert changed.actor == superuser
    assert changed.department == item.department
    assert changed.payload["fields"] == ["name"]
    assert changed.payload["changes"] == {"name": ["Laptop", "Laptop, 14 inch"]}


def test_saving_an_unchanged_page_writes_no_event(client, superuser):
    item = CatalogItemFactory()
    client.force_login(superuser)

    _post(client, reverse("admin:services_catalogitem_change", args=[item.pk]), {})

    assert _events() == []


def test_a_group_given_permissions_records_them(client, superuser):
    group = Group.objects.create(name="Catalog editors")
    permission = Permission.objects.get(codename="change_catalogitem")
    client.force_login(superuser)

    _post(
        client,
        reverse("admin:auth_group_change", args=[group.pk]),
        {"permissions": [str(permission.pk)]},
    )

    [changed] = _events(kind=EventKind.CONFIG_CHANGED, subject_type="auth.group")
    assert changed.payload["fields"] == ["permissions"]
    assert changed.payload["changes"]["permissions"] == [[], [str(permission)]]


def test_deleting_in_the_admin_records_the_deletion_before_the_row_goes(client, superuser):
    department = Department.objects.create(name="Legal", slug="legal")
    client.force_login(superuser)

    answer = client.post(
        reverse("admin:esm_department_delete", args=[department.pk]), {"post": "yes"}
    )

    assert answer.status_code == 302
    assert not Department.objects.filter(pk=department.pk).exists()
    [deleted] = _events(kind=EventKind.CONFIG_DELETED)
    assert (deleted.subject_type, deleted.subject_id) == ("esm.department", department.pk)
    assert deleted.payload == {"via": "admin", "name": "Legal"}


def test_deleting_in_the_admin_counts_the_rows_the_cascade_removes(client, superuser):
    item = CatalogItemFactory(name="Laptop")
    FormFieldFactory.create_batch(2, item=item)
    client.force_login(superuser)

    answer = client.post(
        reverse("admin:services_catalogitem_delete", args=[item.pk]), {"post": "yes"}
    )

    assert answer.status_code == 302
    assert not FormField.objects.exists()
    [deleted] = _events(kind=EventKind.CONFIG_DELETED)
    assert (deleted.subject_type, deleted.subject_id) == ("services.catalogitem", item.pk)
    assert deleted.payload["removed"] == {"services.formfield": 2}


def test_deleting_selected_records_each_record_with_what_went_with_it(client, superuser):
    laptop, phone = CatalogItemFactory(name="Laptop"), CatalogItemFactory(name="Phone")
    FormFieldFactory.create_batch(2, item=laptop)
    client.force_login(superuser)

    answer = client.post(
        reverse("admin:services_catalogitem_changelist"),
        {"action": "delete_selected", "_selected_action": [laptop.pk, phone.pk], "post": "yes"},
    )

    assert answer.status_code == 302
    assert not CatalogItem.objects.filter(pk__in=[laptop.pk, phone.pk]).exists()
    removed = {e.subject_id: e.payload.get("removed") for e in _events(kind="config_deleted")}
    assert removed == {laptop.pk: {"services.formfield": 2}, phone.pk: None}


def test_rotating_a_provisioning_token_records_who_rotated_it_never_the_token(client, superuser):
    provisioning_client, _ = provisioning_client_new(name="Entra ID")
    provisioning_client.save()
    old_hash = provisioning_client.token_hash
    client.force_login(superuser)

    answer = client.post(
        reverse("admin:esm_provisioningclient_changelist"),
        {"action": "rotate_token", "_selected_action": [provisioning_client.pk]},
        follow=True,
    )

    [shown] = [str(m) for m in answer.context["messages"]]
    token = shown.rsplit(": ", 1)[1]
    provisioning_client.refresh_from_db()
    assert provisioning_client.token_hash == token_hash(token) != old_hash
    [rotated] = _events(kind=EventKind.CONFIG_CHANGED)
    assert (rotated.subject_type, rotated.subject_id, rotated.actor) == (
        "esm.provisioningclient",
        provisioning_client.pk,
        superuser,
    )
    assert rotated.payload == {
        "via": "token_rotate",
        "name": "Entra ID",
        "fields": ["token_hash"],
        "changes": {},
    }
    recorded = str(rotated.payload)
    assert token not in recorded
    assert provisioning_client.token_hash not in recorded


def _password_page(user):
    return reverse("admin:auth_user_password_change", args=[user.pk])


def test_a_password_set_in_the_admin_is_recorded_for_whom_and_by_whom_without_it(
    client, superuser, employee
):
    client.force_login(superuser)

    answer = client.post(
        _password_page(employee),
        {
            "password1": "A-new-secret-42",
            "password2": "A-new-secret-42",
            "set_usable_password": "true",
        },
    )

    assert answer.status_code == 302
    employee.refresh_from_db()
    assert employee.check_password("A-new-secret-42")
    [changed] = _events(kind=EventKind.PERSON_UPDATED)
    assert (changed.subject_id, changed.actor) == (employee.pk, superuser)
    assert changed.payload == {
        "via": "admin",
        "fields": ["password"],
        "password": "set",
        "password_set_for_another": True,
    }
    assert "A-new-secret-42" not in str(changed.payload)
    assert employee.password not in str(changed.payload)


def test_a_refused_password_change_records_nothing_and_changes_nothing(client, superuser, employee):
    before = employee.password
    client.force_login(superuser)

    answer = client.post(
        _password_page(employee),
        {"password1": "A-new-secret-42", "password2": "Another-42", "set_usable_password": "true"},
    )

    assert answer.status_code == 200
    employee.refresh_from_db()
    assert employee.password == before
    assert _events() == []
