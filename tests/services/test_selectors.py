"""Reads: search, popular and recent items, deflection, my requests, timelines."""

import datetime as dt

import pytest
from django.http import Http404
from django.utils import timezone

from esm import clock
from esm.models import DepartmentRole, Event, EventKind
from esm.permissions import department_roles
from services import actions, selectors
from services.models import ArticleView, FulfilmentTask, Queue, ServiceRequest
from tests.esm.factories import (
    BusinessCalendarFactory,
    DepartmentFactory,
    DepartmentRoleFactory,
    UserFactory,
)
from tests.services.factories import (
    ApprovalFactory,
    ArticleFactory,
    CatalogItemFactory,
    CategoryFactory,
    ConsultFactory,
    EntitlementFactory,
    FulfilmentTaskFactory,
    QueueFactory,
    ServiceRequestFactory,
)

pytestmark = pytest.mark.django_db


def test_catalog_search_matches_every_word_and_hides_unentitled_items(employee, it_department):
    CatalogItemFactory(name="Laptop replacement", summary="A new laptop when yours fails")
    CatalogItemFactory(name="Laptop bag", summary="Carry it")
    secret = CatalogItemFactory(name="Laptop for admins", summary="new laptop")
    EntitlementFactory(item=secret, department=it_department)

    names = [item.name for item in selectors.catalog_items_for(user=employee, query="new laptop")]

    assert names == ["Laptop replacement"]


def test_catalog_browse_by_department_and_category(employee):
    hr = DepartmentFactory(slug="hr", name="HR")
    leave = CatalogItemFactory(department=hr, service__category__slug="leave")
    CatalogItemFactory()

    assert list(selectors.catalog_items_for(user=employee, department="hr")) == [leave]
    assert list(selectors.catalog_items_for(user=employee, category="leave")) == [leave]


def test_facets_count_only_entitled_items(employee, it_department):
    CatalogItemFactory(department=it_department)
    hidden = CatalogItemFactory(department=it_department)
    EntitlementFactory(item=hidden, role="executive")

    facets = selectors.catalog_facets_for(user=employee)

    assert ("it", "IT", 1) in facets["departments"]


def test_facets_count_what_the_search_finds(employee, it_department, hr_department):
    hardware = CategoryFactory(name="Hardware", slug="hardware")
    leave = CategoryFactory(name="Leave", slug="leave")
    CatalogItemFactory(name="New laptop", department=it_department, service__category=hardware)
    CatalogItemFactory(name="Laptop repair", department=it_department, service__category=leave)
    CatalogItemFactory(name="Spare laptop bag", department=hr_department, service__category=None)
    CatalogItemFactory(name="Parental leave", department=hr_department, service__category=leave)

    facets = selectors.catalog_facets_for(user=employee, query="laptop")

    assert facets["departments"] == [("hr", "HR", 1), ("it", "IT", 2)]
    assert facets["categories"] == [("hardware", "Hardware", 1), ("leave", "Leave", 1)]
    # Each facet keeps the other's choice, as its links do.
    narrowed = selectors.catalog_facets_for(
        user=employee, query="laptop", department="it", category="hardware"
    )
    assert narrowed["departments"] == [("it", "IT", 1)]
    assert narrowed["categories"] == [("hardware", "Hardware", 1), ("leave", "Leave", 1)]
    everything = selectors.catalog_facets_for(user=employee)
    assert everything["departments"] == [("hr", "HR", 2), ("it", "IT", 2)]


def test_popular_items_are_ranked_by_recent_requests(employee):
    busy, quiet, stale = CatalogItemFactory(), CatalogItemFactory(), CatalogItemFactory()
    ServiceRequestFactory.create_batch(3, catalog_item=busy)
    ServiceRequestFactory(catalog_item=quiet)
    old = ServiceRequestFactory(catalog_item=stale)
    ServiceRequest.objects.filter(pk=old.pk).update(
        submitted_at=timezone.now() - dt.timedelta(days=200)
    )

    counted = actions.catalog_items_count_recent()

    assert counted == 3
    assert list(selectors.popular_items_for(user=employee)) == [busy, quiet]
    busy.refresh_from_db()
    assert busy.recent_requests == 3


def test_popular_items_follow_the_hourly_count_not_each_submission(employee):
    item = CatalogItemFactory()
    actions.catalog_items_count_recent()
    ServiceRequestFactory(catalog_item=item)

    assert list(selectors.popular_items_for(user=employee)) == []
    actions.catalog_items_count_recent()
    assert list(selectors.popular_items_for(user=employee)) == [item]


def test_recent_items_are_the_persons_own_newest_first(employee, outsider):
    first, second = CatalogItemFactory(), CatalogItemFactory()
    with clock.travel(dt.datetime(2026, 11, 1, 0, 0, tzinfo=dt.UTC)):
        ServiceRequestFactory(catalog_item=first, requester=employee)
    with clock.travel(dt.datetime(2026, 11, 2, 0, 0, tzinfo=dt.UTC)):
        ServiceRequestFactory(catalog_item=second, requester=employee)
    ServiceRequestFactory(catalog_item=CatalogItemFactory(), requester=outsider)

    assert list(selectors.recent_items_for(user=employee)) == [second, first]


def test_item_for_request_is_404_when_not_entitled(employee, it_department):
    item = CatalogItemFactory()
    EntitlementFactory(item=item, department=it_department)

    with pytest.raises(Http404):
        selectors.item_for_request(user=employee, slug=item.slug)


def test_suggestions_prefer_articles_linked_to_the_item():
    item = CatalogItemFactory()
    ArticleFactory(title="VPN setup guide", body="vpn", view_count=100)
    linked = ArticleFactory(title="VPN for contractors", body="vpn")
    linked.related_items.add(item)
    ArticleFactory(title="VPN draft", body="vpn", status="draft")

    titles = [a.title for a in selectors.article_suggestions(item=item, text="vpn not working")]

    assert titles == ["VPN for contractors", "VPN setup guide"]


def test_draft_articles_are_readable_only_by_their_department_staff(employee, it_agent):
    draft = ArticleFactory(status="draft", department=it_agent.department_roles.get().department)

    assert selectors.article_for_reader(user=it_agent, slug=draft.slug) == draft
    with pytest.raises(Http404):
        selectors.article_for_reader(user=employee, slug=draft.slug)


def test_reading_a_suggestion_without_raising_a_request_is_a_deflection(employee, outsider):
    item = CatalogItemFactory()
    article = ArticleFactory()
    with clock.travel(dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)):
        actions.article_view_record(article=article, user=employee, from_item=item)
        actions.article_view_record(article=article, user=outsider, from_item=item)
    with clock.travel(dt.datetime(2026, 11, 1, 9, 5, tzinfo=dt.UTC)):
        ServiceRequestFactory(catalog_item=item, requester=outsider)

    with clock.travel(dt.datetime(2026, 11, 3, 0, 0, tzinfo=dt.UTC)):
        deflected = selectors.deflections(since=clock.now() - dt.timedelta(days=7))
        assert [view.user for view in deflected] == [employee]
    article.refresh_from_db()
    assert article.view_count == 2
    assert ArticleView.objects.count() == 2


def test_my_requests_include_those_raised_on_my_behalf(employee, manager, outsider):
    mine = ServiceRequestFactory(requester=employee)
    for_me = ServiceRequestFactory(requester=employee, raised_by=manager)
    ServiceRequestFactory(requester=outsider)

    assert set(selectors.my_requests(user=employee)) == {mine, for_me}


def test_my_requests_filter_by_state_and_search_by_reference(employee):
    open_one = ServiceRequestFactory(requester=employee, subject="Broken chair")
    done = ServiceRequestFactory(requester=employee, subject="New monitor", state="resolved")

    assert list(selectors.my_requests(user=employee, state="open")) == [open_one]
    assert list(selectors.my_requests(user=employee, state="closed")) == [done]
    assert list(selectors.my_requests(user=employee, query="chair")) == [open_one]
    assert list(selectors.my_requests(user=employee, query=done.reference.lower())) == [done]


def test_request_for_viewer_404s_for_people_who_may_not_see_it(employee, outsider):
    service_request = ServiceRequestFactory(requester=employee)

    assert selectors.request_for_viewer(user=employee, reference=service_request.reference)
    with pytest.raises(Http404):
        selectors.request_for_viewer(user=outsider, reference=service_request.reference)
    with pytest.raises(Http404):
        selectors.request_for_viewer(user=employee, reference="not-a-reference")


def test_internal_notes_never_reach_the_employee(employee, it_agent, it_department):
    service_request, _ = actions.service_request_submit(
        item=CatalogItemFactory(department=it_department),
        raised_by=employee,
        subject="VPN",
        answers=[],
        submission_key="k",
    )
    actions.comment_add(service_request=service_request, author=it_agent, body="Public reply")
    actions.comment_add(
        service_request=service_request, author=it_agent, body="Internal", is_internal=True
    )

    employee_view = selectors.comments_for_viewer(user=employee, service_request=service_request)
    agent_view = selectors.comments_for_viewer(user=it_agent, service_request=service_request)
    assert [c.body for c in employee_view] == ["Public reply"]
    assert [c.body for c in agent_view] == ["Public reply", "Internal"]
    employee_timeline = selectors.timeline_for_viewer(
        user=employee, service_request=service_request
    )
    agent_timeline = selectors.timeline_for_viewer(user=it_agent, service_request=service_request)
    assert len(agent_timeline) == len(employee_timeline) + 1


def test_pending_approvals_for_an_approver(manager, employee, outsider):
    mine = ServiceRequestFactory(requester=employee)
    approval = ApprovalFactory(service_request=mine, approver=manager)
    ApprovalFactory(service_request=mine, approver=manager, state="approved")

    assert list(selectors.pending_approvals_for(user=manager)) == [approval]
    assert list(selectors.pending_approvals_for(user=outsider)) == []


def test_a_departments_agents_are_named_in_order_by_name_or_username(
    it_department, it_agent, department_manager, employee
):
    """Its agents and managers, each once, by first then last name; a person without a
    name is offered by username. Employees and the inactive are not offered."""
    nameless = UserFactory(username="zz-contractor", first_name="", last_name="")
    DepartmentRoleFactory(user=nameless, department=it_department, role=DepartmentRole.Role.AGENT)
    DepartmentRoleFactory(user=it_agent, department=it_department, role=DepartmentRole.Role.MANAGER)
    gone = UserFactory(is_active=False)
    DepartmentRoleFactory(user=gone, department=it_department, role=DepartmentRole.Role.AGENT)

    assert selectors.department_agent_names(department=it_department) == [
        (nameless.pk, "zz-contractor"),
        (it_agent.pk, "It Agent-Persona"),
        (department_manager.pk, "It Manager-Persona"),
    ]


def test_queue_tasks_read_the_departments_agents_only_to_offer_or_check_an_assignee(
    it_agent, it_department, django_assert_num_queries
):
    queue = QueueFactory(department=it_department)
    task = FulfilmentTaskFactory(queue=queue, assignee=it_agent)
    FulfilmentTaskFactory(queue=queue)
    department_roles(it_agent)  # the viewer's own roles, read once for the person

    with django_assert_num_queries(1):  # the tasks, no agents
        unfiltered = selectors.queue_tasks(queue=queue, viewer=it_agent, filters={})
        assert unfiltered.is_valid()
        assert len(unfiltered.qs) == 2

    with django_assert_num_queries(2):  # the agents, to check the value against; the tasks
        by_agent = selectors.queue_tasks(
            queue=queue, viewer=it_agent, filters={"assignee": str(it_agent.pk)}
        )
        assert by_agent.is_valid()
        assert [found.pk for found in by_agent.qs] == [task.pk]

    stranger = UserFactory()
    refused = selectors.queue_tasks(
        queue=queue, viewer=it_agent, filters={"assignee": str(stranger.pk)}
    )
    assert not refused.is_valid()
    assert "assignee" in refused.errors


def _fields(instance):
    if instance is None:
        return None
    return {f.attname: getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields}


def test_queues_read_as_rows_are_the_queues_and_departments_the_orm_reads(it_agent, it_department):
    """`queues_for` makes its queues and their departments from a kept query's rows: a
    field whose column needs a conversion (a datetime on SQLite, a JSON or decimal field)
    comes back as the ORM's does."""
    it_department.description = "Laptops, accounts and access"
    it_department.save()
    QueueFactory(department=it_department, name="Desk", description="First line")
    QueueFactory(department=it_department, name="Access", is_default=True)

    read = selectors.queues_for(user=it_agent)
    expected = Queue.objects.filter(department=it_department).select_related("department")
    expected = expected.order_by("name")

    assert [_fields(queue) for queue in read] == [_fields(queue) for queue in expected]
    assert [_fields(queue.department) for queue in read] == [
        _fields(queue.department) for queue in expected
    ]
    assert [queue._state.db for queue in read] == ["default", "default"]


def _reached(task, path):
    for name in path.split("__"):
        task = getattr(task, name, None) if task is not None else None
    return task


def test_the_task_page_reads_a_task_and_what_it_shows_as_the_orm_does(
    django_assert_num_queries,
):
    """A consult's task (asked by a task handed over from a third department) and an
    ordinary one with no assignee and no consult: each relation of the page as
    `select_related` reads it, with no query when the page follows one."""
    consult = ConsultFactory()
    asking = consult.asking_task
    asking.handed_off_from = FulfilmentTaskFactory(service_request=asking.service_request)
    asking.assignee = UserFactory()
    asking.save()
    agent = UserFactory()
    for department in (consult.from_department, consult.to_department):
        DepartmentRoleFactory(user=agent, department=department, role=DepartmentRole.Role.AGENT)

    for task in (consult.consult_task, asking):
        expected = FulfilmentTask.objects.select_related(*selectors.TASK_PAGE_RELATIONS).get(
            pk=task.pk
        )
        read = selectors.task_for_viewer(user=agent, pk=task.pk)
        with django_assert_num_queries(0):
            for relation in selectors.TASK_PAGE_RELATIONS:
                path = ""
                for name in relation.split("__"):
                    path = f"{path}__{name}" if path else name
                    assert _fields(_reached(read, path)) == _fields(_reached(expected, path))
        assert _fields(read) == _fields(expected)


def _same_rows(read, expected, relations):
    assert [_fields(row) for row in read] == [_fields(row) for row in expected]
    for relation in relations:
        assert [_fields(_reached(row, relation)) for row in read] == [
            _fields(_reached(row, relation)) for row in expected
        ]


def test_the_task_pages_other_reads_are_the_rows_the_orm_reads(
    it_agent, hr_agent, it_department, hr_department, employee, django_assert_num_queries
):
    """The consults a task asked, its request's other tasks and the case's timeline are
    read through kept queries: the same rows in the same order, each relation as
    `select_related` reads it, of this task and request only, whatever was read before."""
    BusinessCalendarFactory(is_default=True)
    it_queue = QueueFactory(department=it_department, is_default=True)
    hr_queue = QueueFactory(department=hr_department, is_default=True)
    item = CatalogItemFactory(department=it_department)
    cases = [
        actions.service_request_submit(
            item=item, raised_by=employee, subject=subject, answers=[], submission_key=subject
        )[0]
        for subject in ("VPN", "Printer")
    ]
    for service_request in cases:
        task = service_request.tasks.get()
        actions.task_claim(task=task, agent=it_agent)
        answered = actions.task_consult(task=task, agent=it_agent, to_queue=hr_queue, question="?")
        actions.consult_answer(consult=answered, agent=hr_agent, answer="Yes")
        actions.task_consult(task=task, agent=it_agent, to_queue=hr_queue, question="And?")
        actions.comment_add(
            service_request=service_request, author=it_agent, body="Note", is_internal=True
        )
    FulfilmentTaskFactory(service_request=cases[0], queue=it_queue, assignee=it_agent)
    consult_relations = ("to_department", "asked_by", "answered_by", "consult_task__assignee")
    event_relations = ("actor", "department", "from_department", "to_department")

    for service_request in cases:
        task = service_request.tasks.filter(consult__isnull=True).earliest("pk")
        extras = selectors.task_page_extras(task=task, viewer=it_agent)
        expected = list(task.consults_asked.select_related(*consult_relations))
        with django_assert_num_queries(0):
            _same_rows(extras["consults_asked"], expected, consult_relations)
        expected = list(
            service_request.tasks.exclude(pk=task.pk).select_related("queue", "assignee")
        )
        with django_assert_num_queries(0):
            _same_rows(extras["other_tasks"], expected, ("queue", "assignee"))
        assert len(extras["other_tasks"]) == (3 if service_request == cases[0] else 2)

        events = (
            Event.objects.filter(reference=service_request.reference)
            .select_related(*event_relations)
            .order_by("occurred_at", "id")
        )
        for viewer, hidden in ((it_agent, False), (employee, True)):
            read = selectors.timeline_for_viewer(user=viewer, service_request=service_request)
            expected = list(
                events.exclude(kind=EventKind.COMMENTED, to_value="internal").exclude(
                    kind__in=selectors.EMPLOYEE_HIDDEN_KINDS
                )
                if hidden
                else events
            )
            with django_assert_num_queries(0):
                _same_rows(read, expected, event_relations)
            notes = [event for event in read if event.kind == EventKind.COMMENTED]
            assert len(notes) == (0 if hidden else 1)


def test_the_task_page_is_not_found_outside_its_viewers_departments(it_agent, hr_department):
    task = FulfilmentTaskFactory(service_request__department=hr_department)

    with pytest.raises(Http404):
        selectors.task_for_viewer(user=it_agent, pk=task.pk)
    DepartmentRoleFactory(user=it_agent, department=hr_department, role=DepartmentRole.Role.AGENT)
    it_agent = type(it_agent).objects.get(pk=it_agent.pk)
    assert selectors.task_for_viewer(user=it_agent, pk=task.pk) == task
    it_agent.is_active = False
    with pytest.raises(Http404):
        selectors.task_for_viewer(user=it_agent, pk=task.pk)
