"""Who belongs to an audience, which scopes a report reads, how a card reads its snapshots,
and the record of who opened a report."""

import datetime as dt

import pytest
from django.contrib.auth.models import AnonymousUser

from esm import clock
from reporting.actions import report_view_record
from reporting.measures import Scope
from reporting.models import Audience, Measure, ReportMeasure, ReportView
from reporting.selectors import (
    SERIES_WEEKS,
    audience_includes,
    measure_status,
    report_cards,
    report_lines,
    report_scopes,
    reports_for,
)
from tests.esm.factories import UserFactory
from tests.reporting.factories import (
    AudienceFactory,
    MeasureFactory,
    ReportFactory,
    SnapshotFactory,
)

pytestmark = pytest.mark.django_db

MEMBERS = Audience.Members
DAY = dt.date(2026, 11, 2)


@pytest.mark.parametrize(
    ("members", "insiders", "outsiders"),
    [
        (MEMBERS.EMPLOYEES, ["employee", "it_agent", "executive"], ["anonymous"]),
        (MEMBERS.DEPARTMENT_STAFF, ["it_agent", "hr_agent", "department_manager"], ["employee"]),
        (MEMBERS.DEPARTMENT_MANAGERS, ["department_manager"], ["it_agent", "executive"]),
        (MEMBERS.LINE_MANAGERS, ["manager"], ["employee", "department_manager"]),
        (MEMBERS.EXECUTIVES, ["executive"], ["employee", "department_manager", "superuser"]),
    ],
)
def test_audience_membership_follows_its_members_rule(request, members, insiders, outsiders):
    request.getfixturevalue("employee")  # the line manager manages the employee
    audience = AudienceFactory(members=members)

    def person(name):
        if name == "anonymous":
            return AnonymousUser()
        return request.getfixturevalue(name)

    assert all(audience_includes(audience, person(name)) for name in insiders)
    assert not any(audience_includes(audience, person(name)) for name in outsiders)


def test_department_audience_only_takes_staff_of_its_departments(it_agent, hr_agent, it_department):
    audience = AudienceFactory(members=MEMBERS.DEPARTMENT_STAFF)
    audience.departments.set([it_department])

    assert audience_includes(audience, it_agent)
    assert not audience_includes(audience, hr_agent)


def test_custom_audience_is_its_chosen_people(employee, it_agent):
    audience = AudienceFactory(members=MEMBERS.CUSTOM)
    audience.people.set([employee])

    assert audience_includes(audience, employee)
    assert not audience_includes(audience, it_agent)


def test_an_inactive_person_belongs_to_no_audience(employee):
    employee.is_active = False
    employee.save()

    assert not audience_includes(AudienceFactory(members=MEMBERS.EMPLOYEES), employee)


def test_reports_for_a_person_are_their_audiences_and_their_own(employee, executive):
    executives = ReportFactory(audience__members=MEMBERS.EXECUTIVES, name="B executives")
    owned = ReportFactory(audience__members=MEMBERS.EXECUTIVES, owner=employee, name="A own")
    everyone = ReportFactory(audience__members=MEMBERS.EMPLOYEES, name="C everyone")

    assert reports_for(employee) == [owned, everyone]
    assert reports_for(executive) == [owned, executives, everyone]


@pytest.mark.parametrize(
    ("direction", "value", "status"),
    [
        ("higher", 0.9, "met"),  # exactly on target counts as met
        ("higher", 0.85, "watch"),
        ("higher", 0.8, "watch"),  # at the point of acting: not past it yet
        ("higher", 0.79, "act"),
        ("lower", 0.05, "met"),
        ("lower", 0.07, "watch"),
        ("lower", 0.11, "act"),
    ],
)
def test_status_compares_with_the_target_then_the_point_of_acting(direction, value, status):
    target, act_at = (0.9, 0.8) if direction == "higher" else (0.05, 0.1)
    measure = Measure(target=target, act_at=act_at, direction=direction)

    assert measure_status(measure, value) == status


def test_cards_follow_the_report_order_with_latest_value_and_weekly_series(executive):
    rating = MeasureFactory(key="experience_rating", unit="of 5", target=4.0)
    attainment = MeasureFactory(key="end_to_end_attainment", target=0.9)
    report = ReportFactory(measures=[rating, attainment])
    for weeks_back, value in [(2, 0.8), (1, 0.85), (0, 0.95)]:
        SnapshotFactory(measure=attainment, day=DAY - dt.timedelta(weeks=weeks_back), value=value)
    SnapshotFactory(measure=attainment, day=DAY - dt.timedelta(days=1), value=0.1)  # not weekly
    SnapshotFactory(measure=attainment, day=DAY, scope="department:1", value=0.2)  # other scope

    cards = report_cards(report=report, scope=Scope(), viewer=executive)

    assert [card.measure for card in cards] == [rating, attainment]
    assert (cards[0].value, cards[0].status) == (None, "no-data")
    assert (cards[1].value, cards[1].day, cards[1].status) == (0.95, DAY, "met")
    assert [point.value for point in cards[1].series] == [0.8, 0.85, 0.95]
    # The trend's points in words, as the card and the printable page show them.
    assert [(point.label, point.text) for point in cards[1].series] == [
        ("19 Oct", "80%"),
        ("26 Oct", "85%"),
        ("2 Nov", "95%"),
    ]


def test_series_reaches_back_a_fixed_number_of_weeks(executive):
    measure = MeasureFactory()
    for weeks_back in range(SERIES_WEEKS + 5):
        SnapshotFactory(measure=measure, day=DAY - dt.timedelta(weeks=weeks_back))

    (card,) = report_cards(
        report=ReportFactory(measures=[measure]), scope=Scope(), viewer=executive
    )

    assert len(card.series) == SERIES_WEEKS


def test_a_small_group_is_held_back_except_from_staff_of_its_department(
    executive, it_agent, it_department
):
    measure = MeasureFactory()
    report = ReportFactory(measures=[measure])
    scope = Scope(department=it_department)
    SnapshotFactory(measure=measure, day=DAY, scope=scope.key, department=it_department, cases=3)

    (hidden,) = report_cards(report=report, scope=scope, viewer=executive)
    (shown,) = report_cards(report=report, scope=scope, viewer=it_agent)

    assert (hidden.value, hidden.cases, hidden.status) == (None, None, "too-few")
    assert (hidden.series[0].value, hidden.series[0].text) == (None, "")
    assert (shown.value, shown.status) == (0.5, "watch")


def test_a_measure_over_data_the_portal_does_not_hold_says_so(executive):
    survey = MeasureFactory(key="employee_net_promoter", source_controlled=False)

    (card,) = report_cards(report=ReportFactory(measures=[survey]), scope=Scope(), viewer=executive)

    assert card.status == "not-held"


def test_department_reports_read_the_viewers_departments_others_the_enterprise(
    it_agent, department_manager, executive, it_department, hr_department, sales_department
):
    staff_report = ReportFactory(audience__members=MEMBERS.DEPARTMENT_STAFF)
    executive_report = ReportFactory(audience__members=MEMBERS.EXECUTIVES)

    assert report_scopes(report=staff_report, viewer=it_agent) == [Scope(department=it_department)]
    assert report_scopes(report=executive_report, viewer=executive) == [Scope()]
    # Someone who works in no department (an owner, an admin) may choose among them all.
    assert report_scopes(report=staff_report, viewer=executive) == [
        Scope(department=hr_department),
        Scope(department=it_department),
        Scope(department=sales_department),
    ]


def test_opening_a_report_twice_keeps_one_row_counting_both(employee):
    report = ReportFactory()
    first, second = (
        dt.datetime(2026, 11, 2, 9, tzinfo=dt.UTC),
        dt.datetime(2026, 11, 9, 9, tzinfo=dt.UTC),
    )

    with clock.travel(first) as now:
        report_view_record(report=report, viewer=employee)
        now.to(second)
        report_view_record(report=report, viewer=employee)
    report_view_record(report=report, viewer=UserFactory())

    mine = ReportView.objects.get(report=report, viewer=employee)
    assert (mine.count, mine.first_viewed_at, mine.last_viewed_at) == (2, first, second)
    assert ReportView.objects.filter(report=report).count() == 2


def test_the_reports_of_a_person_cost_the_same_queries_however_many_line_manager_reports(
    django_assert_max_num_queries, manager, employee
):
    for _ in range(5):
        ReportFactory(audience__members=MEMBERS.LINE_MANAGERS)

    with django_assert_max_num_queries(4):
        assert len(reports_for(manager)) == 5


def test_a_stream_measure_is_held_back_from_the_departments_own_staff_too(it_agent, it_department):
    # Lead time reads every stream the department has a stage in: other departments' cases.
    lead_time = MeasureFactory(key="lead_time", unit="hours", target=None)
    scope = Scope(department=it_department)
    SnapshotFactory(measure=lead_time, day=DAY, scope=scope.key, department=it_department, cases=3)

    (card,) = report_cards(report=ReportFactory(measures=[lead_time]), scope=scope, viewer=it_agent)

    assert (card.value, card.status) == (None, "too-few")


def test_a_reports_lines_are_its_own_in_order_with_their_measures_and_objectives(
    django_assert_num_queries,
):
    """Read through a kept query: the report's lines only, by position, each measure and
    its objective loaded, as the ORM reads them."""
    first, second, third = (
        MeasureFactory(key=key, name=name)
        for key, name in (("requests_raised", "B"), ("requests_resolved", "A"), ("csat", "C"))
    )
    report = ReportFactory(measures=[first, second, third])
    ReportFactory(measures=[second])
    ReportMeasure.objects.filter(report=report, measure=first).update(position=5)

    with django_assert_num_queries(1):
        lines = report_lines(report)
        read = [(line.measure.name, line.measure.objective.title) for line in lines]

    assert read == [(m.name, m.objective.title) for m in (second, third, first)]
    assert [line.report_id for line in lines] == [report.pk] * 3
