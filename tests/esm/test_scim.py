"""Directory provisioning over SCIM 2.0, with the requests Entra ID and Okta send.

The bodies are the providers' documented ones (Entra ID's "Develop a SCIM endpoint"
request examples, Okta's SCIM 2.0 reference), ids replaced by the portal's.
"""

import datetime as dt
import json
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from esm import clock, provisioning
from esm.models import DepartmentRole, DirectoryGroup, Event, EventKind, ProvisioningClient
from services import actions
from services.models import DirectoryAccount, FormField, ServiceRequest, StepRun
from tests.esm.factories import DepartmentRoleFactory, ProfileFactory, UserFactory
from tests.services.factories import CatalogItemFactory, FormFieldFactory, ServiceRequestFactory

User = get_user_model()

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
NOW = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def provider(db):
    client, token = provisioning.provisioning_client_new(name="Entra ID")
    client.save()
    return client, token


@pytest.fixture
def scim(client, provider):
    """Send SCIM requests with the provisioning client's token."""
    _, token = provider

    def send(method, path, body=None, *, token=token, raw=None):
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        kwargs = {"content_type": "application/scim+json"} if data is not None else {}
        call = getattr(client, method.lower())
        return call(f"/scim/v2/{path}", data, headers=headers, **kwargs)

    return send


@pytest.fixture
def offboarding_item(hr_department):
    """The demo's offboarding item, as demo/data/catalog.toml defines its form."""
    item = CatalogItemFactory(
        slug="offboarding", name="Offboarding", department=hr_department, allow_on_behalf=True
    )
    FormFieldFactory(item=item, key="leaver", kind=FormField.Kind.PERSON, required=True)
    FormFieldFactory(item=item, key="last_day", kind=FormField.Kind.DATE, required=True)
    FormFieldFactory(
        item=item,
        key="equipment",
        kind=FormField.Kind.MULTI_CHOICE,
        choices=["Laptop", "Phone", "Badge"],
    )
    FormFieldFactory(item=item, key="notes", kind=FormField.Kind.LONG_TEXT)
    return item


@pytest.fixture
def hr_is_confidential(hr_department):
    CatalogItemFactory(
        department=hr_department, service__department=hr_department, is_confidential=True
    )


def _entra_user(manager_id=None, department="IT"):
    enterprise = {"department": department, "employeeNumber": "701984"}
    if manager_id:
        enterprise["manager"] = {"value": str(manager_id)}
    return {
        "schemas": [USER, ENTERPRISE],
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": "ada.lovelace@example.com",
        "active": True,
        "emails": [{"primary": True, "type": "work", "value": "ada.lovelace@example.com"}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "Ada Lovelace", "familyName": "Lovelace", "givenName": "Ada"},
        "title": "Analyst",
        "roles": [],
        ENTERPRISE: enterprise,
    }


def _person(username="grace", **profile):
    user = UserFactory(username=username, first_name="Grace", last_name="Hopper")
    ProfileFactory(user=user, **profile)
    return user


def _events(kind):
    return list(Event.objects.filter(kind=kind).order_by("pk"))


def _error(response, status, scim_type=None):
    assert response.status_code == status, response.content
    body = response.json()
    assert body["schemas"] == [ERROR]
    assert body["status"] == str(status)
    if scim_type:
        assert body["scimType"] == scim_type


# --- Creating people ----------------------------------------------------------------------------


def test_entra_creates_a_person_with_department_manager_and_title(
    scim, provider, it_department, manager
):
    response = scim("POST", "Users", _entra_user(manager_id=manager.pk))

    assert response.status_code == 201, response.content
    assert response["Content-Type"] == "application/scim+json"
    person = User.objects.get(username="ada.lovelace@example.com")
    body = response.json()
    assert body["id"] == str(person.pk)
    assert body["meta"]["location"].endswith(f"/scim/v2/Users/{person.pk}")
    assert body[ENTERPRISE]["department"] == "IT"
    assert body[ENTERPRISE]["manager"]["value"] == str(manager.pk)
    assert (person.first_name, person.last_name, person.email, person.is_active) == (
        "Ada",
        "Lovelace",
        "ada.lovelace@example.com",
        True,
    )
    assert not person.has_usable_password()
    profile = person.profile
    assert profile.department == it_department
    assert profile.manager == manager
    assert profile.job_title == "Analyst"
    assert profile.external_id == "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"
    [created] = _events(EventKind.PERSON_CREATED)
    assert (created.subject_type, created.subject_id) == ("auth.user", person.pk)
    assert created.actor == provider[0].account
    assert created.department == it_department
    assert created.payload == {"client": "Entra ID", "active": True}


def test_okta_creates_a_person_and_its_extra_attributes_are_not_kept(scim, db):
    response = scim(
        "POST",
        "Users",
        {
            "schemas": [USER],
            "userName": "test.user@okta.local",
            "name": {"givenName": "Test", "familyName": "User"},
            "emails": [{"primary": True, "value": "test.user@okta.local", "type": "work"}],
            "displayName": "Test User",
            "locale": "en-US",
            "externalId": "00ujl29u0le5T6Aj10h7",
            "groups": [],
            "password": "1mz050nq",
            "active": True,
        },
    )

    assert response.status_code == 201, response.content
    person = User.objects.get(username="test.user@okta.local")
    assert person.profile.external_id == "00ujl29u0le5T6Aj10h7"
    assert person.profile.department is None
    assert not person.has_usable_password()


def test_a_department_the_portal_does_not_have_leaves_the_person_without_one(scim, db):
    response = scim("POST", "Users", _entra_user(department="Sales Engineering"))

    assert response.status_code == 201
    person = User.objects.get(username="ada.lovelace@example.com")
    assert person.profile.department is None
    [created] = _events(EventKind.PERSON_CREATED)
    assert created.payload["unmatched_department"] == "Sales Engineering"


def test_a_taken_user_name_is_a_uniqueness_conflict_and_creates_nothing(scim, db):
    _person(username="ada.lovelace@example.com")

    response = scim("POST", "Users", _entra_user())

    _error(response, 409, "uniqueness")
    assert User.objects.filter(username="ada.lovelace@example.com").count() == 1
    assert not _events(EventKind.PERSON_CREATED)


# --- Finding people -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        'userName eq "grace"',
        'userName eq "GRACE"',
        'externalId eq "ext-42"',
        'emails[type eq "work"].value eq "grace@example.com"',
        'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "IT"',
    ],
)
def test_providers_find_a_person_by_a_filter(scim, it_department, query):
    grace = _person(external_id="ext-42", department=it_department)
    grace.email = "grace@example.com"
    grace.save()
    _person(username="someone-else")

    response = scim("GET", f"Users?filter={query}&startIndex=1&count=100")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["totalResults"] == 1
    assert [found["userName"] for found in body["Resources"]] == ["grace"]


def test_a_filter_that_matches_nobody_answers_an_empty_list(scim, db):
    _person()

    response = scim("GET", 'Users?filter=userName eq "nobody"')

    assert response.json()["totalResults"] == 0
    assert response.json()["Resources"] == []


def test_listing_people_pages_and_hides_the_provisioning_accounts(
    scim, django_assert_max_num_queries, it_department, manager
):
    for n in range(5):
        _person(username=f"person-{n}", department=it_department, manager=manager)

    with django_assert_max_num_queries(6):
        response = scim("GET", "Users?startIndex=2&count=3")

    body = response.json()
    assert body["totalResults"] == 6  # five people and their manager, not the client's account
    assert (body["startIndex"], body["itemsPerPage"]) == (2, 3)


@pytest.mark.parametrize(
    "query",
    ['password eq "x"', "userName eq", 'userName zz "x"', "(", 'emails[type eq "work"'],
)
def test_a_bad_filter_is_an_invalid_filter_error(scim, db, query):
    _person()

    _error(scim("GET", f"Users?filter={query}"), 400, "invalidFilter")


# --- Changing people ----------------------------------------------------------------------------


def test_entra_replaces_the_work_email_and_family_name(scim, db):
    grace = _person()

    response = scim(
        "PATCH",
        f"Users/{grace.pk}",
        {
            "schemas": [PATCH],
            "Operations": [
                {
                    "op": "Replace",
                    "path": 'emails[type eq "work"].value',
                    "value": "updatedEmail@example.com",
                },
                {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"},
            ],
        },
    )

    assert response.status_code == 200, response.content
    grace.refresh_from_db()
    assert (grace.email, grace.last_name) == ("updatedEmail@example.com", "updatedFamilyName")
    [updated] = _events(EventKind.PERSON_UPDATED)
    assert updated.payload == {"client": "Entra ID", "fields": ["last_name", "email"]}


def test_entra_sets_and_removes_the_manager_and_department(scim, it_department, manager):
    grace = _person()

    scim(
        "PATCH",
        f"Users/{grace.pk}",
        {
            "schemas": [PATCH],
            "Operations": [
                {"op": "Add", "path": f"{ENTERPRISE}:manager", "value": str(manager.pk)},
                {"op": "Replace", "path": f"{ENTERPRISE}:department", "value": "it"},
            ],
        },
    )
    grace.profile.refresh_from_db()
    assert (grace.profile.manager, grace.profile.department) == (manager, it_department)

    scim(
        "PATCH",
        f"Users/{grace.pk}",
        {"schemas": [PATCH], "Operations": [{"op": "Remove", "path": f"{ENTERPRISE}:manager"}]},
    )
    grace.profile.refresh_from_db()
    assert grace.profile.manager is None
    assert [e.payload["fields"] for e in _events(EventKind.PERSON_UPDATED)] == [
        ["department", "manager"],
        ["manager"],
    ]


def test_okta_replaces_attributes_given_as_an_object_without_a_path(scim, db):
    grace = _person()

    response = scim(
        "PATCH",
        f"Users/{grace.pk}",
        {
            "schemas": [PATCH],
            "Operations": [
                {
                    "op": "replace",
                    "value": {
                        "id": str(grace.pk),
                        "name": {"givenName": "Amazing", "familyName": "Grace"},
                        "title": "Rear Admiral",
                    },
                }
            ],
        },
    )

    assert response.status_code == 200, response.content
    grace.refresh_from_db()
    assert (grace.first_name, grace.last_name, grace.profile.job_title) == (
        "Amazing",
        "Grace",
        "Rear Admiral",
    )


def test_put_replaces_the_person_and_clears_what_it_leaves_out(scim, it_department, manager):
    grace = _person(department=it_department, manager=manager, job_title="Engineer")

    response = scim(
        "PUT",
        f"Users/{grace.pk}",
        {
            "schemas": [USER],
            "id": str(grace.pk),
            "userName": "grace",
            "name": {"givenName": "Grace", "familyName": "Hopper"},
            "active": True,
        },
    )

    assert response.status_code == 200, response.content
    grace.refresh_from_db()
    assert (grace.email, grace.profile.department, grace.profile.manager) == ("", None, None)
    assert grace.profile.job_title == ""


def test_a_patch_that_changes_nothing_records_nothing(scim, db):
    grace = _person()

    scim(
        "PATCH",
        f"Users/{grace.pk}",
        {
            "schemas": [PATCH],
            "Operations": [{"op": "replace", "path": "userName", "value": "grace"}],
        },
    )

    assert not _events(EventKind.PERSON_UPDATED)


# --- Deactivating is offboarding ----------------------------------------------------------------

DEACTIVATIONS = {
    "entra": {
        "schemas": [PATCH],
        "Operations": [{"op": "Replace", "path": "active", "value": False}],
    },
    "entra, as a string": {
        "schemas": [PATCH],
        "Operations": [{"op": "Replace", "path": "active", "value": "False"}],
    },
    "okta": {"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": False}}]},
}


@pytest.mark.parametrize("body", DEACTIVATIONS.values(), ids=DEACTIVATIONS.keys())
def test_deactivating_a_person_raises_their_offboarding_request(
    scim, provider, offboarding_item, django_capture_on_commit_callbacks, body, sales_department
):
    grace = _person(department=sales_department)

    with clock.travel(NOW), django_capture_on_commit_callbacks(execute=True):
        response = scim("PATCH", f"Users/{grace.pk}", body)

    assert response.status_code == 200, response.content
    assert response.json()["active"] is False
    grace.refresh_from_db()
    assert grace.is_active is False
    [deactivated] = _events(EventKind.PERSON_DEACTIVATED)
    assert (deactivated.from_value, deactivated.to_value) == ("active", "inactive")
    assert deactivated.payload == {"client": "Entra ID", "via": "patch"}
    assert deactivated.department == sales_department
    [offboarding] = ServiceRequest.objects.filter(catalog_item=offboarding_item)
    assert offboarding.requester == grace
    assert offboarding.raised_by == provider[0].account
    answers = {row["key"]: row["value"] for row in offboarding.answers}
    assert answers["leaver"] == grace.pk
    assert answers["last_day"] == "2026-03-10"
    submitted = Event.objects.get(kind=EventKind.SUBMITTED, subject_id=offboarding.pk)
    assert submitted.payload["on_behalf_of"] == grace.pk


def test_a_second_deactivation_raises_nothing_new(
    scim, offboarding_item, django_capture_on_commit_callbacks
):
    grace = _person()
    deactivate = DEACTIVATIONS["okta"]

    with django_capture_on_commit_callbacks(execute=True):
        scim("PATCH", f"Users/{grace.pk}", deactivate)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        scim("PATCH", f"Users/{grace.pk}", deactivate)
        delete = scim("DELETE", f"Users/{grace.pk}")

    assert delete.status_code == 204
    assert callbacks == []
    assert len(_events(EventKind.PERSON_DEACTIVATED)) == 1
    assert ServiceRequest.objects.filter(catalog_item=offboarding_item).count() == 1


def test_deleting_a_person_deactivates_them_and_starts_offboarding(
    scim, offboarding_item, django_capture_on_commit_callbacks
):
    grace = _person()

    with django_capture_on_commit_callbacks(execute=True):
        response = scim("DELETE", f"Users/{grace.pk}")

    assert response.status_code == 204
    grace.refresh_from_db()
    assert grace.is_active is False
    assert _events(EventKind.PERSON_DEACTIVATED)[0].payload["via"] == "delete"
    assert ServiceRequest.objects.filter(catalog_item=offboarding_item, requester=grace).exists()


def test_a_leaver_whose_offboarding_is_already_open_gets_no_second_one(
    scim, offboarding_item, django_capture_on_commit_callbacks, manager
):
    grace = _person(manager=manager)
    by_manager = ServiceRequestFactory(
        catalog_item=offboarding_item,
        requester=manager,
        answers=[{"key": "leaver", "label": "Who", "kind": "person", "value": grace.pk}],
    )

    with django_capture_on_commit_callbacks(execute=True):
        scim("PATCH", f"Users/{grace.pk}", DEACTIVATIONS["entra"])

    assert list(ServiceRequest.objects.filter(catalog_item=offboarding_item)) == [by_manager]
    assert len(_events(EventKind.PERSON_DEACTIVATED)) == 1


def test_the_offboarding_handler_run_twice_raises_one_request(
    scim, offboarding_item, django_capture_on_commit_callbacks
):
    grace = _person()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        scim("PATCH", f"Users/{grace.pk}", DEACTIVATIONS["entra"])
    callbacks[0]()
    callbacks[0]()

    assert ServiceRequest.objects.filter(catalog_item=offboarding_item).count() == 1


def test_reactivating_a_person_records_it_and_raises_nothing(
    scim, offboarding_item, django_capture_on_commit_callbacks
):
    grace = _person()
    grace.is_active = False
    grace.save()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        scim(
            "PATCH",
            f"Users/{grace.pk}",
            {
                "schemas": [PATCH],
                "Operations": [{"op": "replace", "path": "active", "value": True}],
            },
        )

    grace.refresh_from_db()
    assert grace.is_active is True
    assert callbacks == []
    assert len(_events(EventKind.PERSON_REACTIVATED)) == 1


# --- Groups and roles ---------------------------------------------------------------------------


def test_entra_creates_a_group_named_for_a_role_and_its_members_get_the_role(
    scim, it_department, provider
):
    grace, ada = _person(), _person(username="ada")

    response = scim(
        "POST",
        "Groups",
        {
            "schemas": [
                GROUP,
                "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group",
            ],
            "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
            "displayName": "it:agent",
            "meta": {"resourceType": "Group"},
        },
    )
    assert response.status_code == 201, response.content
    group = DirectoryGroup.objects.get()
    assert (group.department, group.role) == (it_department, "agent")
    assert not DepartmentRole.objects.exists()

    response = scim(
        "PATCH",
        f"Groups/{group.pk}",
        {
            "schemas": [PATCH],
            "Operations": [
                {
                    "name": "addMember",
                    "op": "Add",
                    "path": "members",
                    "value": [{"$ref": None, "value": str(grace.pk)}, {"value": str(ada.pk)}],
                }
            ],
        },
    )
    assert response.status_code == 204, response.content
    assert set(DepartmentRole.objects.values_list("user__username", "department", "role")) == {
        ("grace", it_department.pk, "agent"),
        ("ada", it_department.pk, "agent"),
    }
    granted = _events(EventKind.ROLE_GRANTED)
    assert [(e.subject_id, e.to_value, e.department) for e in granted] == [
        (grace.pk, "agent", it_department),
        (ada.pk, "agent", it_department),
    ]
    assert granted[0].payload == {"client": "Entra ID", "group": "it:agent"}

    scim(
        "PATCH",
        f"Groups/{group.pk}",
        {
            "schemas": [PATCH],
            "Operations": [
                {
                    "name": "removeMember",
                    "op": "Remove",
                    "path": "members",
                    "value": [{"value": str(ada.pk)}],
                }
            ],
        },
    )
    assert list(DepartmentRole.objects.values_list("user__username", flat=True)) == ["grace"]
    [revoked] = _events(EventKind.ROLE_REVOKED)
    assert (revoked.subject_id, revoked.from_value) == (ada.pk, "agent")


def test_okta_renames_a_group_and_removes_a_member_by_filter(scim, it_department):
    grace = _person()
    created = scim(
        "POST",
        "Groups",
        {"schemas": [GROUP], "displayName": "it:manager", "members": [{"value": str(grace.pk)}]},
    ).json()
    assert DepartmentRole.objects.filter(user=grace, role="manager").exists()

    scim(
        "PATCH",
        f"Groups/{created['id']}",
        {
            "schemas": [PATCH],
            "Operations": [
                {"op": "replace", "value": {"id": created["id"], "displayName": "IT leads"}}
            ],
        },
    )
    scim(
        "PATCH",
        f"Groups/{created['id']}",
        {
            "schemas": [PATCH],
            "Operations": [{"op": "remove", "path": f'members[value eq "{grace.pk}"]'}],
        },
    )

    group = DirectoryGroup.objects.get()
    assert group.display_name == "IT leads"
    assert (group.department, group.role) == (
        it_department,
        "manager",
    )  # a rename keeps the mapping
    assert not group.members.exists()
    assert not DepartmentRole.objects.exists()


def test_entra_looks_a_group_up_by_name_without_its_members(scim, it_department):
    grace = _person()
    scim(
        "POST",
        "Groups",
        {"schemas": [GROUP], "displayName": "it:agent", "members": [{"value": str(grace.pk)}]},
    )

    response = scim("GET", 'Groups?excludedAttributes=members&filter=displayName eq "it:agent"')

    [found] = response.json()["Resources"]
    assert found["displayName"] == "it:agent"
    assert "members" not in found
    member_of = scim("GET", f"Users/{grace.pk}").json()["groups"]
    assert [g["display"] for g in member_of] == ["it:agent"]


def test_a_group_never_grants_a_role_in_a_confidential_department_by_accident(
    scim, hr_department, hr_is_confidential
):
    grace = _person()

    scim(
        "POST",
        "Groups",
        {"schemas": [GROUP], "displayName": "hr:agent", "members": [{"value": str(grace.pk)}]},
    )

    assert DirectoryGroup.objects.get().department == hr_department
    assert not DepartmentRole.objects.exists()
    assert not _events(EventKind.ROLE_GRANTED)


def test_a_group_allowed_into_a_confidential_department_grants_its_role(
    scim, hr_department, hr_is_confidential
):
    grace = _person()
    group = DirectoryGroup.objects.create(
        display_name="HR staff", department=hr_department, role="agent", allows_confidential=True
    )

    scim(
        "PATCH",
        f"Groups/{group.pk}",
        {
            "schemas": [PATCH],
            "Operations": [{"op": "add", "path": "members", "value": [{"value": str(grace.pk)}]}],
        },
    )

    assert DepartmentRole.objects.filter(
        user=grace, department=hr_department, role="agent"
    ).exists()
    [granted] = _events(EventKind.ROLE_GRANTED)
    assert granted.payload["confidential_access"] is True
    assert "self_granted" not in granted.payload


def test_a_role_given_by_hand_outlives_leaving_a_group_that_also_grants_it(scim, it_department):
    grace = _person()
    DepartmentRoleFactory(user=grace, department=it_department, role="agent")
    group = scim(
        "POST",
        "Groups",
        {"schemas": [GROUP], "displayName": "it:agent", "members": [{"value": str(grace.pk)}]},
    ).json()

    response = scim("DELETE", f"Groups/{group['id']}")

    assert response.status_code == 204
    assert not DirectoryGroup.objects.exists()
    assert DepartmentRole.objects.filter(user=grace, department=it_department).exists()
    assert not _events(EventKind.ROLE_REVOKED)


def test_deleting_a_group_revokes_the_roles_it_granted(scim, it_department):
    grace = _person()
    group = scim(
        "POST",
        "Groups",
        {"schemas": [GROUP], "displayName": "it:agent", "members": [{"value": str(grace.pk)}]},
    ).json()

    scim("DELETE", f"Groups/{group['id']}")

    assert not DepartmentRole.objects.exists()
    assert len(_events(EventKind.ROLE_REVOKED)) == 1


def test_the_mapping_rule_fails_closed_when_nobody_says_which_departments_are_confidential(
    monkeypatch, it_department
):
    monkeypatch.setattr(provisioning, "_CONFIDENTIAL_SOURCES", [])

    assert not provisioning.role_mapping_allowed(department=it_department, explicitly_allowed=False)
    assert provisioning.role_mapping_allowed(department=it_department, explicitly_allowed=True)


# --- Who may call -------------------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "", "not-the-token"])
def test_a_missing_or_wrong_token_is_refused_with_a_scim_401(scim, db, token):
    response = scim("POST", "Users", _entra_user(), token=token)

    _error(response, 401)
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert not User.objects.filter(username="ada.lovelace@example.com").exists()


def test_a_deactivated_client_is_refused(scim, provider):
    ProvisioningClient.objects.filter(pk=provider[0].pk).update(is_active=False)

    _error(scim("GET", "Users"), 401)


def test_a_signed_in_admin_without_a_token_is_refused(scim, client, superuser):
    client.force_login(superuser)

    _error(scim("GET", "Users", token=None), 401)


def test_a_call_notes_when_the_client_was_last_used(scim, provider):
    with clock.travel(NOW):
        scim("GET", "Users")

    provider[0].refresh_from_db()
    assert provider[0].last_used_at == NOW


def test_the_admin_rotates_a_token_and_shows_the_new_one_once(client, superuser, provider, scim):
    provisioning_client, old_token = provider
    client.force_login(superuser)

    response = client.post(
        "/admin/esm/provisioningclient/",
        {"action": "rotate_token", "_selected_action": [provisioning_client.pk]},
        follow=True,
    )

    [message] = [str(m) for m in response.context["messages"]]
    new_token = message.rsplit(": ", 1)[1]
    assert new_token != old_token
    provisioning_client.refresh_from_db()
    assert new_token not in provisioning_client.token_hash
    client.logout()
    _error(scim("GET", "Users", token=old_token), 401)
    assert scim("GET", "Users", token=new_token).status_code == 200


def test_the_admin_adds_a_client_and_shows_its_token_once(client, superuser):
    client.force_login(superuser)

    response = client.post(
        "/admin/esm/provisioningclient/add/", {"name": "Okta", "is_active": "on"}, follow=True
    )

    [message] = [str(m) for m in response.context["messages"] if "token" in str(m)]
    token = message.rsplit(": ", 1)[1]
    okta = ProvisioningClient.objects.get(name="Okta")
    assert okta.token_hash == provisioning.token_hash(token)
    assert okta.account.is_active is False
    assert provisioning.provisioning_client_authenticate(token) == okta


# --- Bad input changes nothing ------------------------------------------------------------------


def _unchanged(grace):
    before = (grace.username, grace.email, grace.is_active, grace.last_name)
    grace.refresh_from_db()
    assert (grace.username, grace.email, grace.is_active, grace.last_name) == before
    assert not Event.objects.exists()


BAD_PATCHES = {
    "not json": ("{not json", "invalidSyntax"),
    "a list": ("[]", "invalidSyntax"),
    "no schemas": (
        json.dumps({"Operations": [{"op": "replace", "path": "active", "value": False}]}),
        "invalidSyntax",
    ),
    "no operations": (json.dumps({"schemas": [PATCH], "Operations": []}), "invalidSyntax"),
    "unknown op": (
        json.dumps({"schemas": [PATCH], "Operations": [{"op": "move", "path": "active"}]}),
        "invalidSyntax",
    ),
    "unknown path": (
        json.dumps(
            {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "shoeSize", "value": 9}]}
        ),
        "invalidPath",
    ),
    "bad active": (
        json.dumps(
            {
                "schemas": [PATCH],
                "Operations": [{"op": "replace", "path": "active", "value": "maybe"}],
            }
        ),
        "invalidValue",
    ),
    "bad email": (
        json.dumps(
            {
                "schemas": [PATCH],
                "Operations": [
                    {
                        "op": "replace",
                        "path": 'emails[type eq "work"].value',
                        "value": "not-an-address",
                    }
                ],
            }
        ),
        "invalidValue",
    ),
    "unknown manager": (
        json.dumps(
            {
                "schemas": [PATCH],
                "Operations": [{"op": "add", "path": f"{ENTERPRISE}:manager", "value": "999999"}],
            }
        ),
        "invalidValue",
    ),
    "remove without a path": (
        json.dumps(
            {"schemas": [PATCH], "Operations": [{"op": "remove", "value": {"active": False}}]}
        ),
        "noTarget",
    ),
    "a good op then a bad one": (
        json.dumps(
            {
                "schemas": [PATCH],
                "Operations": [
                    {"op": "replace", "path": "active", "value": False},
                    {"op": "replace", "path": "name.familyName", "value": 42},
                ],
            }
        ),
        "invalidValue",
    ),
    "change the id": (
        json.dumps(
            {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "id", "value": "7"}]}
        ),
        "mutability",
    ),
}


@pytest.mark.parametrize(("raw", "scim_type"), BAD_PATCHES.values(), ids=BAD_PATCHES.keys())
def test_a_bad_patch_is_a_scim_error_and_changes_nothing(
    scim, offboarding_item, django_capture_on_commit_callbacks, raw, scim_type
):
    grace = _person()

    with django_capture_on_commit_callbacks(execute=True):
        response = scim("PATCH", f"Users/{grace.pk}", raw=raw)

    _error(response, 400, scim_type)
    _unchanged(grace)
    assert not ServiceRequest.objects.exists()


BAD_USERS = {
    "unknown attribute": ({**_entra_user(), "shoeSize": 9}, "invalidValue"),
    "no user name": ({k: v for k, v in _entra_user().items() if k != "userName"}, "invalidValue"),
    "user name with spaces": ({**_entra_user(), "userName": "ada lovelace"}, "invalidValue"),
    "name not an object": ({**_entra_user(), "name": "Ada"}, "invalidValue"),
    "emails not a list": ({**_entra_user(), "emails": "ada@example.com"}, "invalidValue"),
    "no schemas": ({k: v for k, v in _entra_user().items() if k != "schemas"}, "invalidSyntax"),
}


@pytest.mark.parametrize(("body", "scim_type"), BAD_USERS.values(), ids=BAD_USERS.keys())
def test_a_bad_user_is_a_scim_error_and_creates_nothing(scim, db, body, scim_type):
    _error(scim("POST", "Users", body), 400, scim_type)

    assert not User.objects.exclude(provisioning_client__isnull=False).exists()
    assert not Event.objects.exists()


def test_a_bad_group_patch_changes_no_member_and_no_role(scim, it_department):
    grace = _person()
    group = scim(
        "POST",
        "Groups",
        {"schemas": [GROUP], "displayName": "it:agent", "members": [{"value": str(grace.pk)}]},
    ).json()
    events_before = Event.objects.count()

    response = scim(
        "PATCH",
        f"Groups/{group['id']}",
        {
            "schemas": [PATCH],
            "Operations": [
                {"op": "remove", "path": "members", "value": [{"value": str(grace.pk)}]},
                {"op": "add", "path": "members", "value": [{"value": "999999"}]},
            ],
        },
    )

    _error(response, 400, "invalidValue")
    assert list(DirectoryGroup.objects.get().members.all()) == [grace]
    assert DepartmentRole.objects.filter(user=grace).exists()
    assert Event.objects.count() == events_before


def test_an_unknown_person_or_group_is_a_scim_404(scim, db):
    _error(scim("GET", "Users/999999"), 404)
    _error(scim("PATCH", "Groups/abc", DEACTIVATIONS["okta"]), 404)


# --- Discovery ----------------------------------------------------------------------------------


def test_the_provider_reads_what_the_portal_supports(scim, db):
    config = scim("GET", "ServiceProviderConfig").json()
    types = scim("GET", "ResourceTypes").json()
    schemas = scim("GET", "Schemas").json()
    one = scim("GET", f"Schemas/{ENTERPRISE}")

    assert config["patch"]["supported"] is True
    assert config["bulk"]["supported"] is False
    assert [t["id"] for t in types["Resources"]] == ["User", "Group"]
    assert {s["id"] for s in schemas["Resources"]} == {USER, ENTERPRISE, GROUP}
    assert one.json()["name"] == "EnterpriseUser"


def test_an_admin_maps_a_directory_group_and_its_members_get_the_role_at_once(
    scim, client, superuser, facilities_department
):
    grace = _person()
    group = scim(
        "POST",
        "Groups",
        {
            "schemas": [GROUP],
            "displayName": "Workplace team",
            "members": [{"value": str(grace.pk)}],
        },
    ).json()
    assert not DepartmentRole.objects.exists()
    client.force_login(superuser)

    response = client.post(
        f"/admin/esm/directorygroup/{group['id']}/change/",
        {"department": facilities_department.pk, "role": "manager"},
    )

    assert response.status_code == 302
    role = DepartmentRole.objects.get(user=grace)
    assert (role.department, role.role, role.source) == (
        facilities_department,
        "manager",
        DepartmentRole.Source.DIRECTORY,
    )
    [granted] = _events(EventKind.ROLE_GRANTED)
    assert granted.actor == superuser
    assert granted.payload == {"group": "Workplace team"}


def test_a_user_name_taken_in_another_case_is_a_uniqueness_conflict(scim, db):
    _person(username="Ada.Lovelace@example.com")
    grace = _person()

    _error(scim("POST", "Users", _entra_user()), 409, "uniqueness")
    renamed = scim(
        "PATCH",
        f"Users/{grace.pk}",
        {
            "schemas": [PATCH],
            "Operations": [
                {"op": "replace", "path": "userName", "value": "ada.lovelace@EXAMPLE.com"}
            ],
        },
    )

    _error(renamed, 409, "uniqueness")
    _unchanged(grace)


@pytest.mark.parametrize(
    "path",
    [
        "Users/99999999999999999999999",
        "Users/²",
        "Groups/-1",
        'Users?filter=id eq "99999999999999999999999"',
        'Users?filter=id eq "abc"',
        'Users?filter=active eq "maybe"',
        'Groups?filter=members[value eq "x"]',
    ],
)
def test_odd_ids_find_nothing_and_never_fail(scim, db, path):
    response = scim("GET", path)

    assert response.status_code in (200, 404), response.content
    if response.status_code == 200:
        assert response.json()["totalResults"] == 0


def test_deactivating_a_demo_employee_runs_the_demos_offboarding_plan(
    scim, django_capture_on_commit_callbacks
):
    """The demo's own offboarding item: its form answered, its HR approval, then its plan.
    At a working hour: the plan waits for the first working hour of the leaver's last day."""
    with clock.travel(NOW):
        call_command("seed_demo", password="demo-pass-123", without_history=True, stdout=StringIO())
        alex, holly = User.objects.get(username="alex"), User.objects.get(username="holly")

        with django_capture_on_commit_callbacks(execute=True):
            response = scim("PATCH", f"Users/{alex.pk}", DEACTIVATIONS["okta"])
        assert response.status_code == 200, response.content
        [offboarding] = ServiceRequest.objects.filter(catalog_item__slug="offboarding")
        assert DirectoryAccount.objects.get(person=alex).active  # nothing closes before HR agrees
        with django_capture_on_commit_callbacks(execute=True):
            actions.approval_decide(
                approval=offboarding.approvals.get(state="pending"), user=holly, approve=True
            )

        steps = dict(
            StepRun.objects.filter(run__service_request=offboarding).values_list(
                "step_key", "state"
            )
        )
        assert steps["disable-account"] == StepRun.State.SUCCEEDED
        assert steps["release-desk"] == StepRun.State.SUCCEEDED
        assert steps["recover-laptop"] == StepRun.State.WITH_PEOPLE
        assert DirectoryAccount.objects.get(person=alex).active is False
