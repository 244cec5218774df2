"""The dashboards: the reports a person may read, one report's cards in order with their
values and statuses from snapshots, who may open it, the scope chosen, the view recorded,
the printable page, the refresh, and a fixed number of queries on every kind."""

import datetime as dt

import pytest
from django.urls import reverse

from esm import clock
from esm.models import DepartmentRole
from esm.permissions import can
from reporting.crossings import crossings_refreshed_through
from reporting.models import (
    Audience,
    Measure,
    ReportView,
    ServiceDay,
    SharingFigures,
    Snapshot,
    Subscription,
)
from tests.esm.factories import DepartmentRoleFactory, UserFactory
from tests.reporting.factories import (
    AudienceFactory,
    MeasureFactory,
    ReportFactory,
    SnapshotFactory,
)
from tests.reporting.test_panels import Enterprise
from tests.services.factories import ServiceFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
DAY = NOW.date()
MEMBERS = Audience.Members


@pytest.fixture(autouse=True)
def _now():
    with clock.travel(NOW):
        yield


def report_for(members, *, slug=None, measures=(), **fields):
    audience = AudienceFactory(members=members, name=f"Readers {members}", slug=f"aud-{members}")
    return ReportFactory(
        audience=audience, slug=slug or f"report-{members}", measures=list(measures), **fields
    )


def series(measure, values, *, scope="all", cases=20, **where):
    """Weekly snapshots ending on DAY, oldest first: the last value is the card's."""
    for back, value in enumerate(reversed(values)):
        SnapshotFactory(
            measure=measure,
            day=DAY - dt.timedelta(weeks=back),
            scope=scope,
            value=value,
            cases=cases,
            **where,
        )


def page(client, user, name, report, **query):
    client.force_login(user)
    return client.get(reverse(name, args=[report.slug]), query)


# -- the list -------------------------------------------------------------------------------


def test_the_list_shows_the_reports_for_the_viewer_audiences_grouped(client, employee, executive):
    everyone = report_for(MEMBERS.EMPLOYEES, name="How your services do", narrative="Promises.")
    board = report_for(MEMBERS.EXECUTIVES, name="Outcomes", owner=executive)
    report_for(MEMBERS.DEPARTMENT_STAFF, name="Queue activity")

    client.force_login(employee)
    response = client.get(reverse("dashboards"))

    assert response.status_code == 200
    assert response.context["reports"] == [everyone]
    content = response.content.decode()
    assert "How your services do" in content
    assert "Promises." in content
    assert reverse("report_dashboard", args=[everyone.slug]) in content
    assert "Outcomes" not in content

    client.force_login(executive)
    reports = client.get(reverse("dashboards")).context["reports"]
    # By audience: everyone's first, the executives' after.
    assert reports == [everyone, board]


def test_the_list_says_why_it_is_empty(client, outsider):
    report_for(MEMBERS.EXECUTIVES)

    client.force_login(outsider)
    content = client.get(reverse("dashboards")).content.decode()

    assert "No report is written for you yet" in content
    assert "none of the reports here is for an audience you belong to" in content


def test_the_list_is_for_signed_in_people(client):
    response = client.get(reverse("dashboards"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_every_active_person_finds_dashboards_in_the_navigation(client, employee, outsider):
    for person in (employee, outsider):
        client.force_login(person)
        labels = [item.label for item in client.get(reverse("home")).context["nav_items"]]
        assert "Dashboards" in labels


def test_the_navigation_rule_runs_no_query(employee, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert can(employee, "reporting.browse_reports")


# -- who may open a report ------------------------------------------------------------------


@pytest.fixture
def chosen(db):
    return UserFactory(username="chosen")


MEMBERSHIP = [
    (MEMBERS.EMPLOYEES, "employee", 200),
    (MEMBERS.EMPLOYEES, "outsider", 200),
    (MEMBERS.DEPARTMENT_STAFF, "it_agent", 200),
    (MEMBERS.DEPARTMENT_STAFF, "department_manager", 200),
    (MEMBERS.DEPARTMENT_STAFF, "employee", 404),
    (MEMBERS.DEPARTMENT_MANAGERS, "department_manager", 200),
    (MEMBERS.DEPARTMENT_MANAGERS, "it_agent", 404),
    (MEMBERS.LINE_MANAGERS, "manager", 200),
    (MEMBERS.LINE_MANAGERS, "employee", 404),
    (MEMBERS.EXECUTIVES, "executive", 200),
    (MEMBERS.EXECUTIVES, "employee", 404),
    (MEMBERS.EXECUTIVES, "department_manager", 404),
    (MEMBERS.EXECUTIVES, "superuser", 200),
    (MEMBERS.CUSTOM, "chosen", 200),
    (MEMBERS.CUSTOM, "executive", 404),
]


@pytest.mark.parametrize(("members", "persona", "status"), MEMBERSHIP)
def test_a_report_opens_for_its_audience_only(request, client, employee, members, persona, status):
    report = report_for(members)
    report.audience.people.add(request.getfixturevalue("chosen"))
    viewer = request.getfixturevalue(persona)

    response = page(client, viewer, "report_dashboard", report)

    assert response.status_code == status
    assert ReportView.objects.filter(report=report, viewer=viewer).exists() is (status == 200)


def test_the_owner_opens_a_report_not_written_for_them(client, employee):
    report = report_for(MEMBERS.EXECUTIVES, owner=employee)

    assert page(client, employee, "report_dashboard", report).status_code == 200


def test_an_unknown_report_is_not_found(client, executive):
    client.force_login(executive)

    assert client.get(reverse("report_dashboard", args=["no-such-report"])).status_code == 404


def test_opening_a_report_counts_each_view(client, executive):
    report = report_for(MEMBERS.EXECUTIVES)

    page(client, executive, "report_dashboard", report)
    page(client, executive, "report_dashboard", report)

    view = ReportView.objects.get(report=report, viewer=executive)
    assert view.count == 2
    assert view.last_viewed_at == NOW


# -- the cards ------------------------------------------------------------------------------


@pytest.fixture
def three_measures():
    attainment = MeasureFactory(
        key="end_to_end_attainment", name="Promises kept", target=0.9, act_at=0.8
    )
    rating = MeasureFactory(
        key="experience_rating",
        name="Experience rating",
        unit="of 5",
        target=4.0,
        kind=Measure.Kind.EXPERIENCE,
        decision="Which services to review",
        decision_maker="Service owner",
        threshold="Below 3.5",
    )
    volume = MeasureFactory(
        key="request_volume",
        name="Requests raised",
        unit="requests",
        target=None,
        kind=Measure.Kind.OUTPUT,
    )
    return attainment, rating, volume


def test_cards_follow_the_report_order_with_values_and_statuses(client, executive, three_measures):
    attainment, rating, volume = three_measures
    report = report_for(MEMBERS.EXECUTIVES, measures=[volume, rating, attainment])
    series(attainment, [0.95, 0.75])
    series(rating, [3.9, 4.25])
    series(volume, [120.0, 140.0])

    response = page(client, executive, "report_dashboard", report)

    cards = [card for card, _ in response.context["cards"]]
    assert [card.measure for card in cards] == [volume, rating, attainment]
    assert [card.status for card in cards] == ["no-target", "met", "act"]
    content = " ".join(response.content.decode().split())
    assert content.index("Requests raised") < content.index("Experience rating")
    assert content.index("Experience rating") < content.index("Promises kept")
    assert "140 requests" in content
    assert "4.2 of 5" in content
    assert "75%" in content
    assert "target at least 90%" in content
    for word in ("no target", "met", "past the point of acting"):
        assert f">{word}</span>" in content
    # The kind tells outcomes from outputs; the decision and its maker are named.
    assert "Outcome" in content
    assert "Output" in content
    assert "Which services to review" in content
    assert "Service owner decides" in content
    assert attainment.objective.title in content


def test_a_card_draws_its_weekly_series_readable_without_javascript(
    client, executive, three_measures
):
    attainment, *_ = three_measures
    report = report_for(MEMBERS.EXECUTIVES, measures=[attainment])
    series(attainment, [0.5, 0.6, 0.7])

    content = page(client, executive, "report_dashboard", report).content.decode()

    assert 'class="rp-trend"' in content
    assert content.count('<span class="rp-point">') == 3
    for shown in ("50%", "60%", "70%"):
        assert f'<span class="rp-point">{shown}</span>' in content
    assert "vendor/chartjs/chart.umd.min.js" in content
    assert "js/sparklines.js" in content


def test_a_measure_the_portal_does_not_hold_names_its_source_instead_of_a_number(client, executive):
    survey = MeasureFactory(
        key="employee_net_promoter",
        name="Net promoter",
        source_controlled=False,
        data_source="The yearly engagement survey",
    )
    report = report_for(MEMBERS.EXECUTIVES, measures=[survey])

    content = page(client, executive, "report_dashboard", report).content.decode()

    assert "Not held by the portal" in content
    assert "The yearly engagement survey" in content


def test_a_card_without_snapshots_says_no_data_yet(client, executive, three_measures):
    attainment, *_ = three_measures
    report = report_for(MEMBERS.EXECUTIVES, measures=[attainment])

    content = page(client, executive, "report_dashboard", report).content.decode()

    assert "No data yet" in content
    assert "The figures have not been computed yet." in content


# -- scopes and the small-group rule --------------------------------------------------------


def test_a_small_group_is_held_back_from_who_is_not_staff_of_the_department(
    client, it_department, it_agent, superuser, three_measures
):
    attainment, *_ = three_measures
    report = report_for(MEMBERS.DEPARTMENT_STAFF, measures=[attainment])
    series(
        attainment,
        [0.6, 0.67],
        scope=f"department:{it_department.pk}",
        department=it_department,
        cases=3,
    )

    staff = page(client, it_agent, "report_dashboard", report)
    ((card, _),) = staff.context["cards"]
    assert card.value == 0.67
    assert "67%" in staff.content.decode()

    # An administrator works in no department: the report offers them every one.
    admin = page(client, superuser, "report_dashboard", report, department=it_department.pk)
    ((card, _),) = admin.context["cards"]
    assert card.status == "too-few"
    assert card.value is None
    content = admin.content.decode()
    assert "Too few cases to show" in content
    assert "67%" not in content


def test_the_department_is_chosen_among_those_offered(
    client, it_department, hr_department, sales_department, three_measures
):
    attainment, *_ = three_measures
    report = report_for(MEMBERS.DEPARTMENT_MANAGERS, measures=[attainment])
    manager = UserFactory()
    for department in (it_department, hr_department):
        DepartmentRoleFactory(user=manager, department=department, role=DepartmentRole.Role.MANAGER)
    series(attainment, [0.5], scope=f"department:{it_department.pk}", department=it_department)
    series(attainment, [0.95], scope=f"department:{hr_department.pk}", department=hr_department)

    default = page(client, manager, "report_dashboard", report)
    assert default.context["scope"].department == hr_department  # by name: HR before IT
    assert '<select id="report-department" name="department">' in default.content.decode()

    chosen = page(client, manager, "report_dashboard", report, department=it_department.pk)
    ((card, _),) = chosen.context["cards"]
    assert card.value == 0.5
    assert f"?department={it_department.pk}" in chosen.content.decode()

    for refused in (sales_department.pk, "999999", "it"):
        response = page(client, manager, "report_dashboard", report, department=refused)
        assert response.status_code == 404
    assert ReportView.objects.get(report=report, viewer=manager).count == 2


# -- links: drill-downs, owners' tools, feedback ---------------------------------------------


def test_cards_link_to_the_work_behind_them_where_the_viewer_may_see_it(
    client, it_department, department_manager, it_agent, three_measures
):
    attainment, *_ = three_measures
    report = report_for(MEMBERS.DEPARTMENT_STAFF, measures=[attainment])
    overview = reverse("department_overview", args=[it_department.slug])

    manager_page = page(client, department_manager, "report_dashboard", report)
    agent_page = page(client, it_agent, "report_dashboard", report)

    assert f'href="{overview}"' in manager_page.content.decode()
    assert f'href="{overview}"' not in agent_page.content.decode()
    assert f'href="{reverse("queue_list")}"' in agent_page.content.decode()


def test_an_employee_card_links_nowhere_they_may_not_go(client, employee, three_measures):
    attainment, *_ = three_measures
    report = report_for(MEMBERS.EMPLOYEES, measures=[attainment])

    response = page(client, employee, "report_dashboard", report)

    assert [link for _, link in response.context["cards"]] == [None]
    content = response.content.decode()
    assert reverse("queue_list") not in content
    assert reverse("valuestream_list") not in content


def test_owners_and_admins_get_the_edit_and_refresh_readers_do_not(
    client, executive, superuser, three_measures
):
    owner = UserFactory()
    report = report_for(MEMBERS.EXECUTIVES, owner=owner)
    edit = reverse("report_edit", args=[report.slug])
    refresh = reverse("report_refresh", args=[report.slug])

    for person, shown in ((owner, True), (superuser, True), (executive, False)):
        content = page(client, person, "report_dashboard", report).content.decode()
        assert (f'href="{edit}"' in content) is shown
        assert (f'action="{refresh}"' in content) is shown


def test_every_dashboard_offers_csv_print_feedback_and_subscription(client, executive):
    report = report_for(MEMBERS.EXECUTIVES)

    content = page(client, executive, "report_dashboard", report).content.decode()

    for name in ("report_export", "report_print", "report_feedback", "report_subscription"):
        assert reverse(name, args=[report.slug]) in content
    assert "Get it by e-mail" in content


def test_a_subscriber_reads_how_often_the_report_is_mailed_to_them(client, executive):
    report = report_for(MEMBERS.EXECUTIVES)
    Subscription.objects.create(report=report, subscriber=executive, frequency="monthly")

    content = page(client, executive, "report_dashboard", report).content.decode()

    assert "E-mailed to you monthly" in content
    assert "Get it by e-mail" not in content


# -- refresh now ----------------------------------------------------------------------------


def test_refresh_recomputes_today_snapshots_after_commit_and_again_harmlessly(
    client, django_capture_on_commit_callbacks, three_measures
):
    owner = UserFactory()
    report = report_for(MEMBERS.EXECUTIVES, owner=owner)
    service = ServiceFactory()
    client.force_login(owner)

    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            response = client.post(reverse("report_refresh", args=[report.slug]))
        # Today's snapshots, the portfolio's recent days its services link to, the
        # collaboration map's crossings its handoffs link to and the managers' knowledge
        # sharing.
        assert len(callbacks) == 4
        assert response.status_code == 302
        assert response.url == reverse("report_dashboard", args=[report.slug])

    # Three measures with functions, the whole enterprise and no department or service:
    # one row each for today, however often it ran.
    assert Snapshot.objects.filter(day=DAY, scope="all").count() == 3
    assert ServiceDay.objects.filter(day=DAY, service=service).count() == 1
    assert crossings_refreshed_through() is not None
    assert SharingFigures.objects.filter(department__isnull=False).exists()


def test_refresh_is_refused_to_readers_and_to_get(
    client, executive, django_capture_on_commit_callbacks
):
    report = report_for(MEMBERS.EXECUTIVES)
    client.force_login(executive)
    url = reverse("report_refresh", args=[report.slug])

    with django_capture_on_commit_callbacks() as callbacks:
        assert client.post(url).status_code == 403
        assert client.get(url).status_code == 405
    assert callbacks == []
    assert not Snapshot.objects.exists()


# -- the printable page ---------------------------------------------------------------------


def test_the_printable_page_has_every_number_in_tables_and_no_navigation(
    client, executive, three_measures
):
    attainment, _rating, volume = three_measures
    report = report_for(MEMBERS.EXECUTIVES, measures=[attainment, volume])
    series(attainment, [0.8, 0.92])
    series(volume, [10.0, 12.0])

    response = page(client, executive, "report_print", report)

    assert response.status_code == 200
    content = response.content.decode()
    assert 'class="mainnav"' not in content
    assert '<td class="num">92%</td>' in content
    assert '<td class="num">80%</td>' in content
    assert '<td class="num">12 requests</td>' in content
    assert "css/dashboards.css" in content
    assert "chart.umd" not in content


def test_the_printable_page_does_not_exist_where_the_dashboard_does_not(client, employee):
    report = report_for(MEMBERS.EXECUTIVES)

    assert page(client, employee, "report_print", report).status_code == 404


# -- a fixed number of queries, whatever the data -------------------------------------------

VIEWERS = {
    MEMBERS.EMPLOYEES: "employee",
    MEMBERS.DEPARTMENT_STAFF: "it_agent",
    MEMBERS.DEPARTMENT_MANAGERS: "department_manager",
    MEMBERS.LINE_MANAGERS: "manager",
    MEMBERS.EXECUTIVES: "executive",
    MEMBERS.CUSTOM: "chosen",
}


@pytest.mark.parametrize("members", list(VIEWERS))
def test_every_dashboard_kind_runs_a_fixed_number_of_queries(
    request, client, members, three_measures, django_assert_max_num_queries
):
    enterprise = Enterprise.build(request)
    report = report_for(members, measures=three_measures)
    report.audience.people.add(request.getfixturevalue("chosen"))
    viewer = request.getfixturevalue(VIEWERS[members])

    enterprise.grow(2, measures=three_measures)
    # The managers' panel reads the most: knowledge sharing alone is seven queries a render.
    with django_assert_max_num_queries(120) as few:
        assert page(client, viewer, "report_dashboard", report).status_code == 200
        assert page(client, viewer, "report_print", report).status_code == 200
        assert page(client, viewer, "report_export", report).status_code == 200
        assert client.get(reverse("dashboards")).status_code == 200
    enterprise.grow(12, measures=three_measures)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = page(client, viewer, "report_dashboard", report)
        page(client, viewer, "report_print", report)
        page(client, viewer, "report_export", report)
        client.get(reverse("dashboards"))
    assert response.status_code == 200
    if members not in (MEMBERS.CUSTOM,):
        assert response.context["panel"] is not None


def test_the_list_runs_a_fixed_number_of_queries_as_reports_grow(
    client, executive, django_assert_max_num_queries
):
    def more(count):
        for members in (MEMBERS.EMPLOYEES, MEMBERS.EXECUTIVES, MEMBERS.DEPARTMENT_STAFF):
            for _ in range(count):
                audience = AudienceFactory(members=members)
                ReportFactory(audience=audience, measures=[])

    client.force_login(executive)
    more(1)
    with django_assert_max_num_queries(12) as few:
        client.get(reverse("dashboards"))
    more(10)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(reverse("dashboards"))
    assert len(response.context["reports"]) == 22
