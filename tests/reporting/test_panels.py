"""The audience panels after a dashboard's cards: each reads live data for its audience,
only what the viewer may see, in a fixed number of queries."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from django.template.loader import render_to_string
from django.urls import reverse

from esm import clock
from esm.events import event_record
from esm.models import EventKind
from reporting import panels
from reporting.measures import Scope
from reporting.models import Audience, Measure, ServiceReview
from reporting.selectors import SERIES_WEEKS
from reporting.sharing import sharing_refresh
from reporting.watermelons import ATTAINMENT, RATING
from services.models import (
    ArticleView,
    Consult,
    EmployeeRecord,
    ExperienceRating,
    FulfilmentTask,
    ServiceRequest,
)
from tests.esm.factories import DepartmentRoleFactory, ProfileFactory, UserFactory
from tests.reporting.factories import (
    AudienceFactory,
    MeasureFactory,
    ReportFactory,
    SnapshotFactory,
)
from tests.services.factories import (
    ArticleFactory,
    CatalogItemFactory,
    FulfilmentTaskFactory,
    QueueFactory,
    ServiceFactory,
    ServiceRequestFactory,
)
from tests.valuestreams.factories import StageFactory, ValueStreamFactory
from valuestreams.models import CaseFlow

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
DAY = NOW.date()
MEMBERS = Audience.Members


@pytest.fixture(autouse=True)
def _now():
    with clock.travel(NOW):
        yield


def standing_snapshots(service, *, attainment, resolved, rating, ratings):
    attainment_measure = MeasureFactory(key=ATTAINMENT)
    rating_measure = MeasureFactory(key=RATING, unit="of 5", target=4.0, act_at=3.5)
    for measure, value, cases in (
        (attainment_measure, attainment, resolved),
        (rating_measure, rating, ratings),
    ):
        SnapshotFactory(
            measure=measure,
            day=DAY,
            scope=f"service:{service.pk}",
            service=service,
            value=value,
            cases=cases,
        )


def request_in(service, *, requester, state=ServiceRequest.State.IN_PROGRESS, **fields):
    item = CatalogItemFactory(
        service=service,
        department=service.department,
        is_confidential=fields.pop("is_confidential", False),
    )
    return ServiceRequestFactory(
        catalog_item=item,
        requester=requester,
        state=state,
        submitted_at=fields.pop("submitted_at", NOW - dt.timedelta(days=3)),
        **fields,
    )


def rendered(client, viewer, members, **query):
    """The dashboard of a report for `members`, as `viewer` reads it."""
    audience = AudienceFactory(members=members, slug=f"panel-{members}", name=f"P {members}")
    report = ReportFactory(audience=audience, slug=f"panel-{members}")
    client.force_login(viewer)
    return client.get(reverse("report_dashboard", args=[report.slug]), query)


# -- employees ------------------------------------------------------------------------------


def test_employees_see_the_services_they_used_and_their_own_open_requests(
    client, employee, it_department, hr_department
):
    laptops = ServiceFactory(name="Laptops", department=it_department)
    leave = ServiceFactory(name="Leave", department=hr_department)
    unused = ServiceFactory(name="Parking", department=it_department)
    standing_snapshots(laptops, attainment=0.92, resolved=25, rating=4.4, ratings=11)
    standing_snapshots(leave, attainment=0.5, resolved=4, rating=2.0, ratings=3)
    standing_snapshots(unused, attainment=0.1, resolved=40, rating=1.0, ratings=20)
    mine = request_in(laptops, requester=employee, subject="My new laptop")
    request_in(leave, requester=employee, state=ServiceRequest.State.RESOLVED)
    request_in(
        unused,
        requester=employee,
        state=ServiceRequest.State.RESOLVED,
        submitted_at=NOW - dt.timedelta(days=200),
    )
    request_in(laptops, requester=UserFactory(), subject="Someone else's laptop")

    data = panels.employee_panel(viewer=employee)

    assert [s.service for s in data.services] == [laptops, leave]
    laptop_standing, leave_standing = data.services
    assert (laptop_standing.attainment, laptop_standing.rating) == (0.92, 4.4)
    # Four cases and three ratings: too few to show to someone who may not see them all.
    assert leave_standing.attainment is None
    assert leave_standing.attainment_held_back
    assert leave_standing.rating is None
    assert leave_standing.rating_held_back
    assert data.open_requests == [mine]

    content = rendered(client, employee, MEMBERS.EMPLOYEES).content.decode()
    assert "92%" in content
    assert "4.4 of 5" in content
    assert "too few cases to show" in content
    assert "My new laptop" in content
    assert "Someone else&#x27;s laptop" not in content
    assert "Parking" not in content


# -- department staff -----------------------------------------------------------------------


@pytest.fixture
def it_queue(it_department):
    return QueueFactory(department=it_department, name="Service desk", slug="it-desk")


@pytest.fixture
def hr_queue(hr_department):
    return QueueFactory(department=hr_department, name="HR desk", slug="hr-desk")


def test_department_staff_see_queue_health_targets_at_risk_and_what_waits_on_them(
    client, it_agent, hr_agent, it_queue, hr_queue, it_department, django_assert_num_queries
):
    breached = FulfilmentTaskFactory(
        queue=it_queue, title="Late laptop", resolution_due_at=NOW - dt.timedelta(hours=1)
    )
    at_risk = FulfilmentTaskFactory(
        queue=it_queue,
        title="Nearly late",
        resolution_due_at=NOW + dt.timedelta(hours=1),
        at_risk_at=NOW - dt.timedelta(hours=1),
    )
    fine = FulfilmentTaskFactory(
        queue=it_queue, title="Fine", resolution_due_at=NOW + dt.timedelta(days=2)
    )
    hr_task = FulfilmentTaskFactory(queue=hr_queue, state=FulfilmentTask.State.HANDED_OFF)
    handed = FulfilmentTaskFactory(queue=it_queue, title="Sent to us", handed_off_from=hr_task)
    asking = FulfilmentTaskFactory(queue=hr_queue, state=FulfilmentTask.State.WAITING_ON_DEPARTMENT)
    question = FulfilmentTaskFactory(queue=it_queue, title="Which laptop?")
    Consult.objects.create(
        asking_task=asking,
        consult_task=question,
        from_department=asking.department,
        to_department=it_department,
        question="Which laptop?",
        asked_by=hr_agent,
    )
    claimed = FulfilmentTaskFactory(queue=it_queue, handed_off_from=hr_task, assignee=it_agent)

    # The staff check (the viewer's roles), both lists' ids, the counts of what waits, the
    # listed rows, the backlog's counts, the queues: the week's handoffs are not read.
    with django_assert_num_queries(7):
        data = panels.department_staff_panel(department=it_department, viewer=it_agent)

    assert data.backlog["backlog_total"] == 6
    assert [task.pk for task in data.at_risk] == [breached.pk, at_risk.pk]
    # Read by their ids after the sort, the rows keep the state they were sorted by.
    assert [task.sla_state for task in data.at_risk] == ["breached", "at_risk"]
    assert {task.pk for task in data.waiting} == {handed.pk, question.pk}
    assert claimed.pk not in {task.pk for task in data.waiting}
    assert (data.consults_waiting, data.handoffs_waiting) == (1, 1)
    (queue,) = data.queues
    assert (queue.open_count, queue.unclaimed_count, queue.breached_count) == (6, 5, 1)

    # What waits is read afresh whenever the panel is, though its queries' text is kept.
    again = FulfilmentTaskFactory(queue=it_queue, title="Sent again", handed_off_from=hr_task)
    data = panels.department_staff_panel(department=it_department, viewer=it_agent)
    assert (data.consults_waiting, data.handoffs_waiting) == (1, 2)
    assert again.pk in {task.pk for task in data.waiting}

    # The clock's queries keep their text as well, and read the time of each view: three
    # days on, every task with a due time is past it.
    with clock.travel(NOW + dt.timedelta(days=3)):
        data = panels.department_staff_panel(department=it_department, viewer=it_agent)
    assert [task.pk for task in data.at_risk] == [breached.pk, at_risk.pk, fine.pk]
    assert {task.sla_state for task in data.at_risk} == {"breached"}
    assert data.queues[0].breached_count == 3

    content = rendered(client, it_agent, MEMBERS.DEPARTMENT_STAFF).content.decode()
    assert "Late laptop" in content
    assert "Nearly late" in content
    assert "consult from HR" in content
    assert "handed over by HR" in content
    assert reverse("queue_detail", args=[it_queue.slug]) in content


def test_what_waits_on_us_says_nothing_waits_once_and_counts_only_what_does(
    it_agent, it_queue, hr_queue, it_department
):
    def waiting_part() -> str:
        panel = panels.department_staff_panel(department=it_department, viewer=it_agent)
        html = render_to_string("reporting/_panel_department_staff.html", {"panel": panel})
        return html[html.index("What waits on us") :]

    nothing = waiting_part()
    hr_task = FulfilmentTaskFactory(queue=hr_queue, state=FulfilmentTask.State.HANDED_OFF)
    FulfilmentTaskFactory(queue=it_queue, title="Sent to us", handed_off_from=hr_task)
    something = waiting_part()

    assert "Nothing another department sent waits" in nothing
    assert "Unclaimed work another department sent" not in nothing
    assert "0 consults to answer, 1 handoff to pick up." in something
    assert "Sent to us" in something


def test_the_queue_panel_is_for_the_department_staff_only(superuser, it_department):
    assert panels.department_staff_panel(department=it_department, viewer=superuser) is None


# -- department managers --------------------------------------------------------------------


def test_department_managers_see_flow_handoffs_consults_experience_and_watermelons(
    client, department_manager, it_department, hr_department, it_queue, hr_queue, hr_agent
):
    laptops = ServiceFactory(name="Laptops", department=it_department)
    standing_snapshots(laptops, attainment=0.95, resolved=30, rating=2.5, ratings=8)
    leave = ServiceFactory(name="Leave", department=hr_department)
    standing_snapshots(leave, attainment=0.95, resolved=30, rating=2.5, ratings=8)
    stream = ValueStreamFactory(name="Onboarding")
    StageFactory(stream=stream, department=it_department)
    StageFactory(stream=ValueStreamFactory(name="Payroll"), department=hr_department)
    item = CatalogItemFactory(department=hr_department, service__department=hr_department)
    for hours in (10, 20, 30, 40, 50):
        resolved = ServiceRequestFactory(catalog_item=item, state=ServiceRequest.State.RESOLVED)
        CaseFlow.objects.create(
            stream=stream,
            service_request=resolved,
            reference=resolved.reference,
            submitted_at=NOW - dt.timedelta(days=2, hours=hours),
            resolved_at=NOW - dt.timedelta(days=2),
            lead_minutes=hours * 60,
            critical_process_minutes=hours * 6,
            refreshed_at=NOW,
        )
    hr_task = FulfilmentTaskFactory(queue=hr_queue)
    it_task = FulfilmentTaskFactory(queue=it_queue)
    for kind, source, target in (
        (EventKind.HANDED_OFF, hr_department, it_department),
        (EventKind.HANDED_OFF, hr_department, it_department),
        (EventKind.HANDED_OFF, it_department, hr_department),
        (EventKind.SENT_BACK, it_department, hr_department),
    ):
        event_record(subject=hr_task, kind=kind, from_department=source, to_department=target)
    with clock.travel(NOW - dt.timedelta(days=40)):
        event_record(
            subject=hr_task,
            kind=EventKind.HANDED_OFF,
            from_department=hr_department,
            to_department=it_department,
        )
    Consult.objects.create(
        asking_task=hr_task,
        consult_task=it_task,
        from_department=hr_department,
        to_department=it_department,
        question="Which laptop?",
        asked_by=hr_agent,
        asked_at=NOW - dt.timedelta(days=1),
    )

    data = panels.department_manager_panel(department=it_department, viewer=department_manager)

    assert [summary.stream for summary in data.flow] == [stream]
    assert data.flow[0].lead_time.p50 == 30
    assert data.handoffs == {
        "handed_in": 2,
        "handed_out": 1,
        "sent_back_in": 0,
        "sent_back_out": 1,
    }
    assert data.consults["asked_of_us"] == 1
    assert data.consults["open_of_us"] == 1
    assert data.consults["asked_by_us"] == 0
    assert [standing.service for standing in data.services] == [laptops]
    assert [melon.service for melon in data.watermelons] == [laptops]

    # The query's text is kept for the department and period; its rows are counted again.
    event_record(
        subject=it_task,
        kind=EventKind.HANDED_OFF,
        from_department=it_department,
        to_department=hr_department,
    )
    again = panels.department_manager_panel(department=it_department, viewer=department_manager)
    assert again.handoffs["handed_out"] == 2

    content = rendered(client, department_manager, MEMBERS.DEPARTMENT_MANAGERS).content.decode()
    assert "Onboarding" in content
    assert "Payroll" not in content
    assert "Watermelons among them" in content
    assert "Leave" not in content


def test_the_manager_panel_is_for_the_department_managers_only(it_agent, it_department):
    assert panels.department_manager_panel(department=it_department, viewer=it_agent) is None


def test_department_managers_see_knowledge_sharing_and_its_top_contributors(
    client, department_manager, it_department, it_agent, hr_agent, employee
):
    """it_agent's two articles: one read by an HR agent and by the (Sales) employee without
    a request after, one never read; IT's totals: 2 articles, 2 deflections, 2 colleagues
    helped in other departments. The manager wrote nothing: not thanked."""
    quiet = UserFactory(username="quiet")
    DepartmentRoleFactory(user=quiet, department=it_department)
    item = CatalogItemFactory(department=it_department)
    with clock.travel(NOW - dt.timedelta(days=5)):
        read = ArticleFactory(author=it_agent, department=it_department)
        ArticleFactory(author=it_agent, department=it_department)
        for reader in (hr_agent, employee):
            ArticleView.objects.create(article=read, user=reader, catalog_item=item)

    sharing_refresh()

    sharing = panels.department_manager_panel(
        department=it_department, viewer=department_manager
    ).knowledge_sharing

    totals = sharing.totals
    assert (totals.articles_written, totals.deflections, totals.colleagues_helped) == (2, 2, 2)
    assert [contributor.person for contributor in sharing.top] == [it_agent]
    assert sharing.as_of == NOW
    content = rendered(client, department_manager, MEMBERS.DEPARTMENT_MANAGERS).content.decode()
    assert "Knowledge sharing, last 90 days" in content
    assert "Figures as of 20 Nov 2026, 12:00" in content
    assert reverse("knowledge_sharing_department", args=[it_department.slug]) in content


def test_department_managers_are_told_knowledge_sharing_is_not_computed_yet(
    client, department_manager, it_department, it_agent
):
    """Before the rollup's first refresh the panel says so, rather than showing noughts as
    if nobody had shared anything."""
    ArticleFactory(author=it_agent, department=it_department)

    sharing = panels.department_manager_panel(
        department=it_department, viewer=department_manager
    ).knowledge_sharing

    assert (sharing.totals, sharing.top, sharing.as_of) == (None, [], None)
    content = rendered(client, department_manager, MEMBERS.DEPARTMENT_MANAGERS).content.decode()
    assert "Figures not yet computed: they are refreshed every quarter of an hour." in content
    assert "Nobody in" not in content


# -- line managers --------------------------------------------------------------------------


def test_line_managers_see_their_team_requests_they_may_see_and_their_new_hires(
    client, manager, employee, it_department, hr_department
):
    laptops = ServiceFactory(name="Laptops", department=it_department)
    grievances = ServiceFactory(name="Grievances", department=hr_department)
    waiting = request_in(
        laptops,
        requester=employee,
        raised_by=manager,
        subject="Team laptop",
        state=ServiceRequest.State.WAITING_ON_EMPLOYEE,
    )
    request_in(
        grievances,
        requester=employee,
        raised_by=manager,
        is_confidential=True,
        subject="A confidential matter",
    )
    request_in(laptops, requester=employee, state=ServiceRequest.State.RESOLVED, raised_by=manager)
    stranger = UserFactory()
    ProfileFactory(user=stranger)
    request_in(laptops, requester=stranger, raised_by=stranger, subject="Not the team's")
    onboarding = request_in(laptops, requester=manager, subject="Onboard Jordan")
    soon = EmployeeRecord.objects.create(
        first_name="Jordan",
        last_name="Lee",
        start_date=DAY + dt.timedelta(days=2),
        hiring_manager=manager,
        service_request=onboarding,
        created_by_key="test-1",
    )
    EmployeeRecord.objects.create(
        first_name="Old",
        last_name="Hire",
        start_date=DAY - dt.timedelta(days=60),
        hiring_manager=manager,
        created_by_key="test-2",
    )

    data = panels.line_manager_panel(viewer=manager)

    assert data.team_requests == [waiting]
    assert data.team_open == 1
    assert data.team_hidden is None  # one hidden case is too few to count aloud
    (hire,) = data.new_hires
    assert hire.record == soon
    assert hire.service_request == onboarding
    assert hire.days_to_start == 2
    assert hire.at_risk

    content = rendered(client, manager, MEMBERS.LINE_MANAGERS).content.decode()
    assert "Team laptop" in content
    # Waiting on the employee is not waiting on the manager reading it.
    assert "Waiting on the requester" in content
    assert "Waiting on you" not in content
    assert "A confidential matter" not in content
    assert "Not the team&#x27;s" not in content
    assert "Jordan Lee" in content
    assert "not ready for day one yet" in content


def test_a_hire_whose_onboarding_is_done_is_ready_though_the_manager_may_not_open_it(
    manager, hr_department
):
    hiring = ServiceFactory(name="Hiring", department=hr_department)
    # HR raised it, confidentially: the hiring manager may not open the case.
    onboarding = request_in(
        hiring,
        requester=UserFactory(),
        state=ServiceRequest.State.RESOLVED,
        is_confidential=True,
    )
    EmployeeRecord.objects.create(
        first_name="Ada",
        last_name="Byrne",
        start_date=DAY + dt.timedelta(days=2),
        hiring_manager=manager,
        service_request=onboarding,
        created_by_key="test-ready",
    )

    (hire,) = panels.line_manager_panel(viewer=manager).new_hires

    assert hire.service_request is None  # nothing of the case shows
    assert hire.request_done
    assert not hire.at_risk


def test_the_team_requests_the_manager_may_not_open_are_counted_from_five(
    manager, employee, it_department
):
    laptops = ServiceFactory(name="Laptops", department=it_department)
    for _ in range(5):
        request_in(laptops, requester=employee)

    assert panels.line_manager_panel(viewer=manager).team_hidden == 5


# -- executives -----------------------------------------------------------------------------


def test_executives_see_the_slowest_streams_value_factors_and_reviews_apart(
    client, executive, it_department, hr_department
):
    item = CatalogItemFactory(department=hr_department, service__department=hr_department)
    for name, hours in (("Fast", 5), ("Slow", 50), ("Middling", 20), ("Quiet", None)):
        stream = ValueStreamFactory(name=name)
        if hours is None:
            continue
        for _ in range(5):
            done = ServiceRequestFactory(catalog_item=item, state=ServiceRequest.State.RESOLVED)
            CaseFlow.objects.create(
                stream=stream,
                service_request=done,
                reference=done.reference,
                submitted_at=NOW - dt.timedelta(days=1, hours=hours),
                resolved_at=NOW - dt.timedelta(days=1),
                lead_minutes=hours * 60,
                refreshed_at=NOW,
            )
    cost = MeasureFactory(
        key="staff_hours_saved",
        name="Hours saved",
        unit="hours",
        value_factor=Measure.ValueFactor.COST,
        target=None,
    )
    SnapshotFactory(measure=cost, day=DAY, scope="all", value=33.75, cases=135)
    MeasureFactory(key="reopen_rate", name="Reopens", value_factor="")
    laptops = ServiceFactory(name="Laptops", department=it_department)
    ServiceReview.objects.create(
        service=laptops,
        reviewer=executive,
        reviewed_on=DAY,
        needs_met=2,
        value="They arrive, late.",
        changes="Order before the start date.",
    )

    data = panels.executive_panel(viewer=executive)

    assert [s.stream.name for s in data.worst_streams] == ["Slow", "Middling", "Fast"]
    factors = {factor.value: factor for factor in data.value_factors}
    assert list(factors) == [value for value, _ in Measure.ValueFactor.choices]
    assert [card.measure for card in factors["cost"].cards] == [cost]
    assert factors["cost"].cards[0].value == 33.75
    assert factors["revenue"].cards == []
    assert [review.service for review in data.reviews] == [laptops]

    content = rendered(client, executive, MEMBERS.EXECUTIVES).content.decode()
    assert "Service reviews by accountable customers" in content
    assert "They arrive, late." in content
    assert "Needs met: <strong>2 of 5</strong>" in content
    assert "33.8 hours" in content
    assert "customer satisfaction" not in content.lower().replace(
        "customer or employee satisfaction", ""
    )


def test_a_custom_audience_has_no_panel(client, executive):
    audience = AudienceFactory(members=MEMBERS.CUSTOM, slug="chosen", name="Chosen")
    audience.people.add(executive)
    report = ReportFactory(audience=audience)

    assert panels.panel_for(report=report, scope=Scope(), viewer=executive) is None


# -- data that grows, for the query-count tests ----------------------------------------------


@dataclass
class Enterprise:
    """Personas and departments with work for every panel to read; `grow` adds more of
    everything each panel reads."""

    people: dict[str, Any]
    it_queue: Any
    hr_queue: Any
    grown: int = 0

    @classmethod
    def build(cls, request: pytest.FixtureRequest) -> Enterprise:
        names = ("employee", "manager", "it_agent", "hr_agent", "department_manager", "executive")
        people = {name: request.getfixturevalue(name) for name in names}
        people["it"] = request.getfixturevalue("it_department")
        people["hr"] = request.getfixturevalue("hr_department")
        return cls(
            people=people,
            it_queue=QueueFactory(department=people["it"]),
            hr_queue=QueueFactory(department=people["hr"]),
        )

    def grow(self, count: int, *, measures) -> None:
        p = self.people
        attainment, rating = (m for m in measures if m.key in (ATTAINMENT, RATING))
        for _ in range(count):
            self.grown += 1
            n = self.grown
            service = ServiceFactory(department=p["it"])
            # Each round a service's snapshots, and a week more of the history before.
            scopes = [(DAY, f"service:{service.pk}", {"service": service})]
            if n <= 2 * SERIES_WEEKS:
                week = DAY - dt.timedelta(weeks=n - 1)
                scopes += [
                    (week, "all", {}),
                    (week, f"department:{p['it'].pk}", {"department": p["it"]}),
                ]
            for measure in measures:
                for day, scope, where in scopes:
                    SnapshotFactory(
                        measure=measure,
                        day=day,
                        scope=scope,
                        value=0.95 if measure == attainment else 2.5,
                        cases=12,
                        **where,
                    )
            for requester in (p["employee"], p["manager"]):
                done = request_in(
                    service,
                    requester=requester,
                    state=ServiceRequest.State.RESOLVED,
                    resolved_at=NOW - dt.timedelta(days=1),
                )
                ExperienceRating.objects.create(
                    service_request=done, score=1, comment=f"Bad {n}", rated_by=requester
                )
                request_in(service, requester=requester, is_confidential=n % 2 == 0)
            hr_task = FulfilmentTaskFactory(queue=self.hr_queue)
            FulfilmentTaskFactory(
                queue=self.it_queue,
                handed_off_from=hr_task,
                resolution_due_at=NOW - dt.timedelta(hours=1),
            )
            consult_task = FulfilmentTaskFactory(queue=self.it_queue)
            Consult.objects.create(
                asking_task=hr_task,
                consult_task=consult_task,
                from_department=p["hr"],
                to_department=p["it"],
                question=f"Question {n}",
                asked_by=p["hr_agent"],
            )
            event_record(
                subject=hr_task,
                kind=EventKind.HANDED_OFF,
                from_department=p["hr"],
                to_department=p["it"],
            )
            stream = ValueStreamFactory()
            StageFactory(stream=stream, department=p["it"])
            CaseFlow.objects.create(
                stream=stream,
                service_request=done,
                reference=done.reference,
                submitted_at=NOW - dt.timedelta(days=2),
                resolved_at=NOW - dt.timedelta(days=1),
                lead_minutes=24 * 60,
                refreshed_at=NOW,
            )
            EmployeeRecord.objects.create(
                first_name="New",
                last_name=f"Hire {n}",
                start_date=DAY + dt.timedelta(days=n),
                hiring_manager=p["manager"],
                service_request=done,
                created_by_key=f"grow-{n}",
            )
            ServiceReview.objects.create(
                service=service, reviewer=p["executive"], reviewed_on=DAY, needs_met=3, value="Ok"
            )
        Measure.objects.filter(pk=rating.pk).update(value_factor=Measure.ValueFactor.SATISFACTION)


def test_the_watermelon_panel_never_shows_a_confidential_comment_to_outsiders(
    client, executive, hr_agent, hr_department
):
    grievances = ServiceFactory(name="Grievances", department=hr_department)
    standing_snapshots(grievances, attainment=0.95, resolved=20, rating=2.0, ratings=6)
    for confidential, comment in ((True, "My manager shouted at me."), (False, "Slow reply.")):
        done = request_in(
            grievances,
            requester=UserFactory(),
            state=ServiceRequest.State.RESOLVED,
            resolved_at=NOW - dt.timedelta(days=2),
            is_confidential=confidential,
        )
        ExperienceRating.objects.create(
            service_request=done, score=1, comment=comment, rated_by=done.requester
        )

    content = rendered(client, executive, MEMBERS.EXECUTIVES).content.decode()

    assert "Watermelons across the enterprise" in content
    assert "Grievances" in content
    assert "Slow reply." in content
    assert "My manager shouted at me." not in content
    assert "REQ-" not in content  # nor a link to a case the executive may not open
