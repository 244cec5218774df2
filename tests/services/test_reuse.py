"""Reuse across departments: copying an item as a starting point, its open parts, publishing
it, and what its origin changed since."""

import re

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from esm.models import DepartmentRole
from esm.permissions import can
from services.actions import (
    ActionRefused,
    catalog_item_copy,
    catalog_item_publish,
    open_parts_resolve,
)
from services.models import ApprovalStep, CatalogItem, FormField, OpenPart, PlanStep
from services.reuse import origin_changes, specific_parts
from tests.conftest import _person
from tests.esm.factories import DepartmentFactory
from tests.services.factories import (
    ApprovalStepFactory,
    CatalogItemFactory,
    EntitlementFactory,
    FormFieldFactory,
    QueueFactory,
    ServiceFactory,
    SlaPolicyFactory,
)

MANAGER = DepartmentRole.Role.MANAGER


@pytest.fixture
def finance(db):
    return DepartmentFactory(name="Finance", slug="finance")


@pytest.fixture
def finance_manager(finance):
    return _person("finance_manager", department=finance, roles=[(finance, MANAGER)])


@pytest.fixture
def finance_queue(finance):
    ServiceFactory(name="Finance office", slug="finance-office", department=finance)
    return QueueFactory(department=finance, name="Finance desk", slug="finance-desk")


@pytest.fixture
def facilities_manager(facilities_department):
    return _person(
        "facilities_manager",
        department=facilities_department,
        roles=[(facilities_department, MANAGER)],
    )


@pytest.fixture
def origin(facilities_department, facilities_agent, it_department):
    """Facilities' "report an issue": a form with a conditional field, three approvals (one
    a Facilities person), and a plan mixing Facilities' queue, a Facilities system action,
    a generic e-mail and a step IT does."""
    item = CatalogItemFactory(
        name="Report an issue",
        slug="report-an-issue",
        service=ServiceFactory(department=facilities_department),
        sla_policy=SlaPolicyFactory(),
        end_to_end_hours=24,
        is_published=True,
    )
    urgency = FormFieldFactory(
        item=item, key="urgency", kind=FormField.Kind.CHOICE, choices="Low\nHigh"
    )
    FormFieldFactory(item=item, key="where", label="Where is it?", required=True)
    FormFieldFactory(
        item=item,
        key="photo",
        kind=FormField.Kind.ATTACHMENT,
        show_when_field=urgency,
        show_when_value="High",
    )
    EntitlementFactory(item=item, department=facilities_department)
    ApprovalStepFactory(item=item, position=0)
    ApprovalStepFactory(
        item=item,
        position=1,
        approver=ApprovalStep.Approver.DEPARTMENT_ROLE,
        department=facilities_department,
        role=MANAGER,
    )
    ApprovalStepFactory(
        item=item, position=2, approver=ApprovalStep.Approver.PERSON, person=facilities_agent
    )
    queue = QueueFactory(department=facilities_department, name="Facilities helpdesk")
    triage = PlanStep.objects.create(
        item=item,
        key="triage",
        name="Look at it",
        kind=PlanStep.Kind.HUMAN,
        department=facilities_department,
        queue=queue,
        position=0,
    )
    desk = PlanStep.objects.create(
        item=item,
        key="desk",
        name="Book a spare desk",
        kind=PlanStep.Kind.AUTOMATED,
        department=facilities_department,
        action="facilities.book_desk",
        position=1,
        condition_field="urgency",
        condition_value="High",
    )
    desk.after.add(triage)
    mail = PlanStep.objects.create(
        item=item,
        key="mail",
        name="Tell the requester",
        kind=PlanStep.Kind.AUTOMATED,
        department=facilities_department,
        action="generic.send_email",
        params={"template": "done"},
        position=2,
    )
    mail.after.add(triage, desk)
    laptop = PlanStep.objects.create(
        item=item,
        key="laptop",
        name="Check the laptop",
        kind=PlanStep.Kind.HUMAN,
        department=it_department,
        position=3,
    )
    laptop.after.add(triage)
    return item


def snapshot_of(item: CatalogItem) -> dict:
    """Everything a copy must reproduce, in department-neutral terms."""
    return {
        "fields": sorted(
            (
                f.key,
                f.label,
                f.kind,
                f.required,
                f.choices,
                f.show_when_value,
                f.show_when_field.key if f.show_when_field else None,
            )
            for f in item.fields.all()
        ),
        "approvals": [(a.position, a.approver, a.role) for a in item.approval_steps.all()],
        "plan": sorted(
            (
                s.key,
                s.name,
                s.kind,
                s.condition_field,
                s.condition_value,
                str(s.params),
                tuple(sorted(e.key for e in s.after.all())),
            )
            for s in item.plan_steps.all()
        ),
        "targets": (item.sla_policy_id, item.end_to_end_hours, item.expected_days),
    }


def database_rows() -> tuple:
    return (
        CatalogItem.objects.count(),
        FormField.objects.count(),
        ApprovalStep.objects.count(),
        PlanStep.objects.count(),
        OpenPart.objects.count(),
    )


# --- Copying ------------------------------------------------------------------------


def test_copy_duplicates_form_approvals_plan_and_targets_unpublished(
    origin, finance, finance_manager, finance_queue
):
    before = snapshot_of(origin)

    copy = catalog_item_copy(item=origin, department=finance, by=finance_manager)

    assert snapshot_of(copy) == before
    assert copy.department == finance
    assert copy.service.department == finance
    assert copy.copied_from == origin
    assert not copy.is_published
    assert copy.slug == "report-an-issue-finance"
    assert snapshot_of(CatalogItem.objects.get(pk=origin.pk)) == before
    assert origin.fields.count() == 3
    assert origin.plan_steps.count() == 4


def test_copy_moves_the_origin_departments_roles_and_steps_to_the_new_department(
    origin, finance, finance_manager, finance_queue, it_department
):
    copy = catalog_item_copy(item=origin, department=finance, by=finance_manager)

    role_step = copy.approval_steps.get(position=1)
    assert role_step.department == finance
    assert role_step.role == MANAGER
    owners = dict(copy.plan_steps.values_list("key", "department"))
    assert owners == {
        "triage": finance.pk,
        "desk": finance.pk,
        "mail": finance.pk,
        "laptop": it_department.pk,
    }
    assert copy.entitlements.get().department == finance


def test_copy_flags_each_department_specific_part(
    origin, finance, finance_manager, finance_queue, facilities_agent
):
    copy = catalog_item_copy(item=origin, department=finance, by=finance_manager)

    parts = {(p.kind, p.origin_value) for p in copy.open_parts.all()}
    assert parts == {
        (OpenPart.Kind.APPROVER, facilities_agent.get_full_name()),
        (OpenPart.Kind.QUEUE, "Facilities helpdesk"),
        (OpenPart.Kind.ACTION, "facilities.book_desk (Facilities)"),
    }
    # The placeholder queue is cleared: the origin's queue never takes the copy's work.
    assert copy.plan_steps.get(key="triage").queue is None


def test_copy_into_its_own_department_is_refused(origin, facilities_department, superuser):
    rows = database_rows()

    with pytest.raises(ActionRefused):
        catalog_item_copy(item=origin, department=facilities_department, by=superuser)

    assert database_rows() == rows


def test_copy_with_resolutions_leaves_nothing_open(origin, finance, finance_manager, finance_queue):
    keys = {part.kind: part.key for part in specific_parts(origin)}

    copy = catalog_item_copy(
        item=origin,
        department=finance,
        by=finance_manager,
        resolutions={
            keys[OpenPart.Kind.QUEUE]: str(finance_queue.pk),
            keys[OpenPart.Kind.APPROVER]: f"person:{finance_manager.pk}",
            keys[OpenPart.Kind.ACTION]: "human",
        },
    )

    assert not copy.open_parts.exists()
    assert copy.plan_steps.get(key="triage").queue == finance_queue
    assert copy.approval_steps.get(position=2).person == finance_manager
    desk = copy.plan_steps.get(key="desk")
    assert (desk.kind, desk.action) == (PlanStep.Kind.HUMAN, "")


# --- Publishing ---------------------------------------------------------------------


def test_publishing_a_copy_with_open_parts_is_refused_and_changes_nothing(
    origin, finance, finance_manager, finance_queue
):
    copy = catalog_item_copy(item=origin, department=finance, by=finance_manager)

    with pytest.raises(ActionRefused, match="department-specific parts to resolve"):
        catalog_item_publish(item=copy, by=finance_manager)

    copy.refresh_from_db()
    assert not copy.is_published
    assert copy.open_parts.count() == 3


def test_publishing_succeeds_once_every_part_is_resolved(
    origin, finance, finance_manager, finance_queue
):
    copy = catalog_item_copy(item=origin, department=finance, by=finance_manager)
    values = {
        OpenPart.Kind.QUEUE: str(finance_queue.pk),
        OpenPart.Kind.APPROVER: "role:manager",
        OpenPart.Kind.ACTION: "keep",
    }

    resolved = open_parts_resolve(
        item=copy,
        by=finance_manager,
        resolutions={part.pk: values[part.kind] for part in copy.open_parts.all()},
    )
    catalog_item_publish(item=copy, by=finance_manager)

    copy.refresh_from_db()
    assert resolved == 3
    assert copy.is_published
    approver = copy.approval_steps.get(position=2)
    assert (approver.approver, approver.department, approver.role) == (
        ApprovalStep.Approver.DEPARTMENT_ROLE,
        finance,
        MANAGER,
    )


def test_a_bad_resolution_refuses_them_all(origin, finance, finance_manager, finance_queue):
    copy = catalog_item_copy(item=origin, department=finance, by=finance_manager)
    facilities_queue = origin.plan_steps.get(key="triage").queue
    parts = {part.kind: part.pk for part in copy.open_parts.all()}

    with pytest.raises(ActionRefused, match="queue of Finance"):
        open_parts_resolve(
            item=copy,
            by=finance_manager,
            resolutions={
                parts[OpenPart.Kind.ACTION]: "keep",
                parts[OpenPart.Kind.QUEUE]: str(facilities_queue.pk),
            },
        )

    assert copy.open_parts.count() == 3
    assert copy.plan_steps.get(key="triage").queue is None


# --- What the origin changed --------------------------------------------------------


def test_comparison_shows_what_the_origin_changed_since_the_copy(
    origin, finance, finance_manager, finance_queue
):
    copy = catalog_item_copy(item=origin, department=finance, by=finance_manager)
    # The copy's own adaptation is not the origin's improvement.
    copy.fields.filter(key="where").update(label="Which office?")
    FormFieldFactory(item=origin, key="since", label="Since when?", kind=FormField.Kind.DATE)
    origin.fields.filter(key="where").update(required=False)
    origin.plan_steps.filter(key="laptop").delete()

    changes = {
        (c.part, c.key, c.change) for c in origin_changes(CatalogItem.objects.get(pk=copy.pk))
    }

    assert changes == {
        ("form field", "since", "added"),
        ("form field", "where", "changed"),
        ("plan step", "laptop", "removed"),
    }


def test_the_admin_cannot_publish_a_copy_with_open_parts_either(
    origin, finance, finance_manager, finance_queue
):
    copy = catalog_item_copy(item=origin, department=finance, by=finance_manager)
    copy.is_published = True

    with pytest.raises(ValidationError) as refused:
        copy.full_clean()

    assert "is_published" in refused.value.message_dict


# --- Pages --------------------------------------------------------------------------


def test_a_manager_copies_an_item_through_the_page_choosing_its_parts(
    client, origin, finance, finance_manager, finance_queue
):
    client.force_login(finance_manager)
    url = reverse("reuse_copy")
    parts = {part.kind: part.key for part in specific_parts(origin)}

    page = client.get(url, {"item": origin.slug, "department": finance.slug})
    answer = client.post(
        url,
        {
            "item": origin.slug,
            "department": finance.slug,
            "service": finance_queue.department.services.get().pk,
            parts[OpenPart.Kind.QUEUE]: str(finance_queue.pk),
        },
    )

    assert page.status_code == 200
    assert "Facilities helpdesk" in page.text
    copy = CatalogItem.objects.get(copied_from=origin)
    assert answer.status_code == 302
    assert answer.url == reverse("reuse_detail", args=[copy.slug])
    assert {part.kind for part in copy.open_parts.all()} == {
        OpenPart.Kind.APPROVER,
        OpenPart.Kind.ACTION,
    }


def test_copying_into_a_department_one_does_not_manage_is_refused(
    client, origin, finance, finance_queue, facilities_manager
):
    client.force_login(facilities_manager)
    rows = database_rows()

    answer = client.post(
        reverse("reuse_copy"),
        {"item": origin.slug, "department": finance.slug, "service": "1"},
    )

    assert answer.status_code == 403
    assert database_rows() == rows


def test_an_origin_one_cannot_see_cannot_be_copied(
    client, origin, finance, finance_manager, finance_queue
):
    CatalogItem.objects.filter(pk=origin.pk).update(is_published=False)
    client.force_login(finance_manager)
    rows = database_rows()

    chosen = {"item": origin.slug, "department": finance.slug}

    page = client.get(reverse("reuse_copy"), chosen)
    answer = client.post(reverse("reuse_copy"), {**chosen, "service": "1"})

    assert page.status_code == 400
    assert "Select a valid choice" in page.text
    assert answer.status_code == 404
    assert database_rows() == rows


def test_people_who_manage_no_department_are_refused_the_reuse_pages(
    client, outsider, facilities_agent, origin, finance, finance_manager, finance_queue
):
    copy = catalog_item_copy(item=origin, department=finance, by=finance_manager)

    for person in (outsider, facilities_agent):
        client.force_login(person)
        assert client.get(reverse("reuse_home")).status_code == 403
        assert client.get(reverse("reuse_detail", args=[copy.slug])).status_code == 403
        answer = client.post(reverse("reuse_publish", args=[copy.slug]))
        assert answer.status_code == 403

    copy.refresh_from_db()
    assert not copy.is_published


def test_the_copy_page_resolves_parts_and_publishing_waits_for_the_last(
    client, origin, finance, finance_manager, finance_queue
):
    copy = catalog_item_copy(item=origin, department=finance, by=finance_manager)
    client.force_login(finance_manager)
    page_url = reverse("reuse_detail", args=[copy.slug])
    parts = {part.kind: f"part-{part.pk}" for part in copy.open_parts.all()}

    client.post(page_url, {parts[OpenPart.Kind.QUEUE]: str(finance_queue.pk)})
    refused = client.post(reverse("reuse_publish", args=[copy.slug]), follow=True)
    copy.refresh_from_db()

    assert "Not published" in refused.text
    assert "department-specific parts to resolve" in refused.text
    assert not copy.is_published
    assert copy.open_parts.count() == 2

    client.post(
        page_url,
        {parts[OpenPart.Kind.APPROVER]: "role:manager", parts[OpenPart.Kind.ACTION]: "keep"},
    )
    client.post(reverse("reuse_publish", args=[copy.slug]))
    copy.refresh_from_db()

    assert copy.is_published


def test_a_bad_choice_is_shown_beside_its_field_and_changes_nothing(
    client, origin, finance, finance_manager, finance_queue
):
    copy = catalog_item_copy(item=origin, department=finance, by=finance_manager)
    client.force_login(finance_manager)
    queue_part = copy.open_parts.get(kind=OpenPart.Kind.QUEUE)

    answer = client.post(
        reverse("reuse_detail", args=[copy.slug]), {f"part-{queue_part.pk}": "999999"}
    )

    assert answer.status_code == 400
    assert "Select a valid choice" in answer.text
    assert copy.open_parts.count() == 3


def test_an_approval_to_name_is_labelled_by_who_gives_it_not_by_its_position(
    client, origin, finance, finance_manager, finance_queue, facilities_agent
):
    copy = catalog_item_copy(item=origin, department=finance, by=finance_manager)
    client.force_login(finance_manager)

    page = client.get(reverse("reuse_detail", args=[copy.slug])).text

    name = facilities_agent.get_full_name() or facilities_agent.username
    assert f"Approval by {name}" in page
    assert "Approval 3" not in page


def test_the_copy_page_shows_a_field_the_origin_added_since(
    client, origin, finance, finance_manager, finance_queue
):
    copy = catalog_item_copy(item=origin, department=finance, by=finance_manager)
    FormFieldFactory(item=origin, key="since", label="Since when?", kind=FormField.Kind.DATE)
    client.force_login(finance_manager)

    page = client.get(reverse("reuse_detail", args=[copy.slug]))

    assert "Since when?" in page.text
    assert "Added" in page.text


def _crumbs(html: str) -> list[str]:
    """The steps of a page's breadcrumb, in words."""
    nav = re.search(r'<nav class="crumbs".*?</nav>', html, re.S).group(0)
    words = " ".join(re.sub(r"<[^>]+>", " ", nav).split())
    return re.split(r"\s*\u203a\s*", words)


def test_each_reuse_page_has_a_breadcrumb_back_to_the_queues_and_the_reuse_page(
    client, origin, finance, finance_manager, finance_queue
):
    copy = catalog_item_copy(item=origin, department=finance, by=finance_manager)
    client.force_login(finance_manager)

    home = client.get(reverse("reuse_home")).text
    copying = client.get(
        reverse("reuse_copy"), {"item": origin.slug, "department": finance.slug}
    ).text
    detail = client.get(reverse("reuse_detail", args=[copy.slug])).text

    assert _crumbs(home) == ["Queues", "Reuse an item"]
    assert _crumbs(copying) == ["Queues", "Reuse an item", "Copy into Finance"]
    assert _crumbs(detail) == ["Queues", "Reuse an item", f"{copy.name} (Finance)"]
    assert f'href="{reverse("queue_list")}"' in detail
    assert f'href="{reverse("reuse_home")}"' in detail


def _grow(origin, finance, finance_manager, facilities_agent, n: int) -> CatalogItem:
    """Give the origin `n` more fields and Facilities approvers, and Finance `n` more
    copies of it: more rows on every reuse page, and more open parts on the last copy."""
    for _ in range(n):
        FormFieldFactory(item=origin)
        ApprovalStepFactory(
            item=origin, approver=ApprovalStep.Approver.PERSON, person=facilities_agent
        )
    copies = [
        catalog_item_copy(item=origin, department=finance, by=finance_manager) for _ in range(n)
    ]
    # And a change of the origin since, so the comparison has rows.
    FormFieldFactory(item=origin)
    return copies[-1]


def test_reuse_pages_run_a_constant_number_of_queries(
    client,
    origin,
    finance,
    finance_manager,
    finance_queue,
    facilities_agent,
    django_assert_max_num_queries,
):
    client.force_login(finance_manager)
    counts = []
    for n in (1, 5):
        copy = _grow(origin, finance, finance_manager, facilities_agent, n)
        pages = [
            (reverse("reuse_home"), {}),
            (reverse("reuse_detail", args=[copy.slug]), {}),
            (reverse("reuse_copy"), {"item": origin.slug, "department": finance.slug}),
        ]
        with django_assert_max_num_queries(60) as captured:
            for url, params in pages:
                assert client.get(url, params).status_code == 200
        counts.append(len(captured))

    assert counts[0] == counts[1]


# --- API ----------------------------------------------------------------------------


def test_api_lists_an_items_copies_with_what_the_origin_changed_since(
    client, origin, finance, finance_manager, finance_queue, facilities_manager
):
    catalog_item_copy(item=origin, department=finance, by=finance_manager)
    FormFieldFactory(item=origin, key="since", label="Since when?", kind=FormField.Kind.DATE)
    client.force_login(facilities_manager)

    answer = client.get(reverse("api:catalog-item-copies", args=[origin.slug]))

    assert answer.status_code == 200
    [copy] = answer.json()["results"]
    assert copy["department"] == "Finance"
    assert copy["open_parts"] == 3
    assert copy["is_published"] is False
    assert copy["origin_changes"] == [
        {
            "part": "form field",
            "key": "since",
            "label": "Since when?",
            "change": "added",
            "detail": "date",
        }
    ]


def test_api_hides_copies_of_other_departments_and_unseen_origins(
    client, origin, finance, finance_manager, finance_queue, outsider
):
    catalog_item_copy(item=origin, department=finance, by=finance_manager)
    url = reverse("api:catalog-item-copies", args=[origin.slug])
    client.force_login(outsider)

    assert client.get(url).json()["results"] == []
    CatalogItem.objects.filter(pk=origin.pk).update(is_published=False)
    assert client.get(url).status_code == 404


def test_api_copies_run_a_constant_number_of_queries(
    client,
    origin,
    finance,
    finance_manager,
    finance_queue,
    facilities_agent,
    django_assert_max_num_queries,
):
    client.force_login(finance_manager)
    url = reverse("api:catalog-item-copies", args=[origin.slug])
    counts = []
    for n in (1, 5):
        _grow(origin, finance, finance_manager, facilities_agent, n)
        with django_assert_max_num_queries(20) as captured:
            assert client.get(url).status_code == 200
        counts.append(len(captured))

    assert counts[0] == counts[1]


def test_only_a_departments_managers_and_admins_may_copy_into_it(
    it_agent, department_manager, superuser, it_department, hr_department
):
    assert can(department_manager, "services.copy_item_into", it_department)
    assert not can(department_manager, "services.copy_item_into", hr_department)
    assert not can(it_agent, "services.copy_item_into", it_department)
    assert can(superuser, "services.copy_item_into", hr_department)
