"""The report audit flags what no decision rests on (each rule with a flagged and an
unflagged case), lists every report with its readers and their feedback, and is only for
the people who shape reports."""

import datetime as dt

import pytest
from django.urls import reverse

from esm import clock
from reporting import audit
from reporting.models import Measure, ReportFeedback, ReportView
from tests.esm.factories import UserFactory
from tests.reporting.factories import MeasureFactory, ObjectiveFactory, ReportFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)


def _measure(key, **fields):
    return MeasureFactory(key=key, name=key.replace("_", " ").capitalize(), **fields)


def _viewed(report, viewer, days_ago):
    ReportView.objects.create(
        report=report,
        viewer=viewer,
        first_viewed_at=NOW - dt.timedelta(days=days_ago),
        last_viewed_at=NOW - dt.timedelta(days=days_ago),
    )


# --- The rules ------------------------------------------------------------------------------


def test_a_measure_on_no_report_has_no_audience():
    used = _measure("end_to_end_attainment")
    unused = _measure("reopen_rate")
    ReportFactory(measures=[used])

    assert list(audit.measures_unused()) == [unused]


def test_a_measure_missing_its_decision_or_its_decision_maker_is_flagged():
    no_decision = _measure("reopen_rate", decision="")
    no_maker = _measure("request_volume", decision_maker="")
    _measure("end_to_end_attainment")

    assert set(audit.measures_undecided()) == {no_decision, no_maker}


def test_a_measure_serving_no_objective_is_flagged():
    orphan = _measure("reopen_rate", objective=None)
    _measure("end_to_end_attainment", objective=ObjectiveFactory())

    assert list(audit.measures_without_objective()) == [orphan]


def test_a_portal_measure_whose_key_names_no_function_is_flagged():
    broken = _measure("reopen_rates")  # a typo of a registered key
    _measure("end_to_end_attainment")
    _measure("payroll_accuracy", source_controlled=False)  # not the portal's data: no function

    assert list(audit.measures_without_function()) == [broken]


def test_a_report_of_output_measures_only_is_flagged_and_one_outcome_clears_it():
    volume = _measure("request_volume", kind=Measure.Kind.OUTPUT)
    first_touch = _measure("first_touch_resolution", kind=Measure.Kind.OUTPUT)
    attainment = _measure("end_to_end_attainment", kind=Measure.Kind.OUTCOME)
    busy = ReportFactory(name="Busy", measures=[volume, first_touch])
    ReportFactory(name="Balanced", measures=[volume, attainment])
    ReportFactory(name="Empty", measures=[])

    assert list(audit.reports_only_outputs()) == [busy]


def test_a_report_is_unread_after_ninety_days_not_before(executive):
    read_89 = ReportFactory(name="Read 89 days ago")
    read_91 = ReportFactory(name="Read 91 days ago")
    never = ReportFactory(name="Never read")
    _viewed(read_89, executive, 89)
    _viewed(read_91, executive, 91)

    unread = list(audit.reports_unread(now=NOW))

    assert unread == [never, read_91]  # the never-opened first
    assert unread[0].last_opened is None
    assert unread[1].last_opened == NOW - dt.timedelta(days=91)


def test_a_report_younger_than_ninety_days_is_not_yet_judged_unread():
    ReportFactory(created_at=NOW - dt.timedelta(days=89))
    old = ReportFactory(created_at=NOW - dt.timedelta(days=91))

    assert list(audit.reports_unread(now=NOW)) == [old]


def test_the_owner_reading_their_own_report_counts_as_reading_it(executive):
    report = ReportFactory(owner=executive)
    _viewed(report, executive, 1)

    assert list(audit.reports_unread(now=NOW)) == []


def test_every_report_shows_its_readers_and_the_feedback_beside_it(executive, manager, employee):
    report = ReportFactory()
    _viewed(report, executive, 3)
    _viewed(report, manager, 100)  # opened, but not in the last 90 days
    _viewed(report, report.owner, 0)
    for day, (author, helped, decision, missing) in enumerate(
        [
            (executive, True, "Moved two agents to HR", ""),
            (manager, False, "", ""),  # no words: counted, not listed
            (employee, False, "", "Cost per department"),
            (executive, True, "Kept the target", ""),
            (manager, True, "Funded the laptop pool", "Trends by month"),
        ]
    ):
        ReportFeedback.objects.create(
            report=report,
            author=author,
            helped=helped,
            decision=decision,
            missing=missing,
            created_at=NOW - dt.timedelta(days=10 - day),
        )

    [row] = audit.reports_engagement(now=NOW)
    latest = audit.feedback_latest([row])[report.pk]

    # The owner opened it today: they read it too.
    assert (row.readers, row.opens, row.last_opened) == (2, 3, NOW)
    assert (row.helped_yes, row.helped_no) == (3, 2)
    assert [answer.decision or answer.missing for answer in latest] == [
        "Funded the laptop pool",
        "Kept the target",
        "Cost per department",
    ]


# --- The page -------------------------------------------------------------------------------


def test_the_audit_is_refused_to_people_who_shape_no_reports(client, employee):
    client.force_login(employee)

    assert client.get(reverse("report_audit")).status_code == 403


def test_the_audit_page_shows_each_finding_and_links_what_the_viewer_may_change(client, executive):
    mine = _measure("reopen_rate", decision="", owner=executive)
    theirs = _measure("request_volume", decision_maker="", kind=Measure.Kind.OUTPUT)
    report = ReportFactory(name="Queue counts", owner=executive, measures=[theirs])
    client.force_login(executive)

    with clock.travel(NOW):
        page = client.get(reverse("report_audit"))

    assert page.status_code == 200
    html = page.content.decode()
    assert reverse("measure_edit", args=[mine.key]) in html
    assert reverse("measure_edit", args=[theirs.key]) not in html
    assert reverse("report_edit", args=[report.slug]) in html
    assert reverse("report_dashboard", args=[report.slug]) in html
    assert "never opened" in html
    assert "Every measure names the objective it serves." in html  # an explained empty state


def test_a_long_finding_is_paged(client, superuser):
    for n in range(23):
        MeasureFactory(key=f"unused_{n:02}", name=f"Unused {n:02}", source_controlled=False)
    client.force_login(superuser)

    first = client.get(reverse("report_audit")).content.decode()
    second = client.get(reverse("report_audit"), {"unused": 2}).content.decode()

    assert "Unused 19" in first
    assert "Unused 20" not in first
    assert "?unused=2#unused" in first
    assert "Unused 22" in second


def test_the_audit_runs_a_fixed_number_of_queries_as_reports_and_feedback_grow(
    client, executive, django_assert_max_num_queries
):
    def grow(first, last):
        for n in range(first, last):
            measure = MeasureFactory(key=f"grown_{n}", objective=None, decision="", owner=executive)
            report = ReportFactory(measures=[measure], owner=executive)
            reader = UserFactory()
            _viewed(report, reader, 100)
            ReportFeedback.objects.create(
                report=report, author=reader, helped=True, decision="Acted", created_at=NOW
            )

    grow(0, 2)
    client.force_login(executive)
    with clock.travel(NOW), django_assert_max_num_queries(30) as few:
        client.get(reverse("report_audit"))
    grow(2, 25)  # past a page of each list
    with clock.travel(NOW), django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(reverse("report_audit")).status_code == 200
