"""The people who decide with reports shape them in the portal: measures, audiences, reports
with their measures in order, the MVGO tree and the departments' cost rates. Owners and
admins change a definition; anyone else is refused and nothing changes."""

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from reporting.models import Audience, CostRate, Measure, Objective, Report, Snapshot
from tests.esm.factories import DepartmentFactory, UserFactory
from tests.reporting.factories import (
    AudienceFactory,
    MeasureFactory,
    ObjectiveFactory,
    ReportFactory,
    SnapshotFactory,
)

pytestmark = pytest.mark.django_db

Level = Objective.Level


def measure_form(**changes):
    data = {
        "name": "Promises kept",
        "definition": "Of the requests resolved, the share within their end-to-end target.",
        "kind": "outcome",
        "decision": "Whether a service needs more people",
        "decision_maker": "Department manager",
        "unit": "%",
        "direction": "higher",
        "target": "0.9",
        "act_at": "0.85",
        "threshold": "Below 85% for two weeks",
        "cadence": "weekly",
        "objective": "",
        "value_factor": "satisfaction",
        "source_controlled": "on",
        "data_source": "The event log",
        "function": "end_to_end_attainment",
        "key": "",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def errors_of(response, field):
    return response.context["form"].errors.get(field, [])


# --- Measures ---------------------------------------------------------------------------------


def test_measure_list_shows_each_measure_with_its_decision_and_reports(client, department_manager):
    objective = ObjectiveFactory(title="Trusted services")
    mine = MeasureFactory(
        key="end_to_end_attainment",
        name="Promises kept",
        owner=department_manager,
        objective=objective,
        act_at=0.85,
    )
    theirs = MeasureFactory(
        key="survey_engagement",
        name="Engagement survey",
        source_controlled=False,
        data_source="The yearly survey",
        objective=None,
    )
    ReportFactory(name="How our work flows", measures=[mine, theirs])
    client.force_login(department_manager)

    response = client.get(reverse("measure_list"))

    assert response.status_code == 200
    page = response.content.decode()
    assert reverse("measure_edit", args=[mine.key]) in page
    assert reverse("measure_edit", args=[theirs.key]) not in page
    assert reverse("measure_new") in page
    assert "at least 90%" in page
    assert "acts past 85%" in page
    assert "Trusted services" in page
    assert "Held outside the portal" in page
    assert "Held by the portal" in page
    assert page.count("How our work flows") == 2


def test_measure_list_is_refused_to_an_employee(client, employee):
    client.force_login(employee)

    assert client.get(reverse("measure_list")).status_code == 403


def test_measure_list_runs_a_fixed_number_of_queries(
    client, department_manager, django_assert_max_num_queries
):
    client.force_login(department_manager)

    def grow(start, count):
        for n in range(start, start + count):
            measure = MeasureFactory(key=f"measure_{n}", owner=department_manager)
            ReportFactory(measures=[measure])

    grow(0, 2)
    with django_assert_max_num_queries(30) as few:
        client.get(reverse("measure_list"))
    grow(2, 8)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(reverse("measure_list"))
    assert len(response.context["rows"]) == 10


def test_a_manager_adds_a_computed_measure_that_takes_its_functions_key(client, department_manager):
    client.force_login(department_manager)

    response = client.post(reverse("measure_new"), measure_form())

    assert response.status_code == 302
    assert response["Location"] == reverse("measure_list")
    measure = Measure.objects.get()
    assert (measure.key, measure.owner, measure.act_at) == (
        "end_to_end_attainment",
        department_manager,
        0.85,
    )


def test_the_form_offers_each_free_function_with_its_description(client, department_manager):
    MeasureFactory(key="reopen_rate")
    client.force_login(department_manager)

    page = client.get(reverse("measure_new")).content.decode()

    assert "end_to_end_attainment: Of the requests resolved in the period" in page
    assert 'value="reopen_rate"' not in page


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"function": ""}, "function", "Choose the function that computes it"),
        ({"key": "my_own_key"}, "key", "takes its function's key, end_to_end_attainment"),
        ({"source_controlled": None}, "function", "The portal holds none of its data"),
        ({"source_controlled": None, "function": ""}, "key", "Name it with a key"),
        ({"function": "no_such_function"}, "function", "Select a valid choice"),
        ({"act_at": "0.95"}, "act_at", "Higher is better, so they act below the target"),
        ({"act_at": "0.9"}, "act_at", "give less than 0.9"),
        ({"direction": "lower"}, "act_at", "Lower is better, so they act above the target"),
        ({"target": ""}, "act_at", "Set a target first"),
        ({"target": "90"}, "target", "A share: between 0 and 1"),
    ],
)
def test_a_measure_that_breaks_a_rule_is_refused_beside_the_field(
    client, department_manager, changes, field, message
):
    client.force_login(department_manager)

    response = client.post(reverse("measure_new"), measure_form(**changes))

    assert response.status_code == 400
    assert any(message in error for error in errors_of(response, field)), errors_of(response, field)
    assert '<p class="error">' in response.content.decode()
    assert not Measure.objects.exists()


def test_a_function_another_measure_uses_is_refused(client, department_manager):
    MeasureFactory(key="end_to_end_attainment", name="Taken")
    client.force_login(department_manager)

    response = client.post(reverse("measure_new"), measure_form(name="Again"))

    assert response.status_code == 400
    assert errors_of(response, "function")
    assert list(Measure.objects.values_list("name", flat=True)) == ["Taken"]


def test_a_measure_over_data_held_elsewhere_takes_a_free_key(client, executive):
    client.force_login(executive)

    response = client.post(
        reverse("measure_new"),
        measure_form(
            source_controlled=None,
            function="",
            key="survey_engagement",
            unit="points",
            target="30",
            act_at="10",
        ),
    )

    assert response.status_code == 302
    measure = Measure.objects.get()
    assert (measure.key, measure.source_controlled, measure.owner) == (
        "survey_engagement",
        False,
        executive,
    )


def test_lower_is_better_acts_above_the_target(client, department_manager):
    client.force_login(department_manager)

    response = client.post(
        reverse("measure_new"),
        measure_form(function="reopen_rate", direction="lower", target="0.05", act_at="0.1"),
    )

    assert response.status_code == 302
    assert Measure.objects.get().act_at == 0.1


def test_the_owner_edits_a_measure_and_its_key_follows_its_function(client, department_manager):
    measure = MeasureFactory(key="end_to_end_attainment", owner=department_manager)
    client.force_login(department_manager)

    page = client.get(reverse("measure_edit", args=[measure.key])).content.decode()
    response = client.post(
        reverse("measure_edit", args=[measure.key]),
        measure_form(name="Promises kept, all of them", function="end_to_end_attainment"),
    )

    assert '<option value="end_to_end_attainment" selected>' in page
    assert response.status_code == 302
    measure.refresh_from_db()
    assert (measure.name, measure.key, measure.owner) == (
        "Promises kept, all of them",
        "end_to_end_attainment",
        department_manager,
    )


def test_a_measure_given_another_function_loses_the_old_functions_snapshots(
    client, department_manager
):
    kept = MeasureFactory(key="reopen_rate", owner=department_manager, direction="lower")
    moved = MeasureFactory(key="end_to_end_attainment", owner=department_manager)
    SnapshotFactory(measure=kept)
    SnapshotFactory(measure=moved)
    client.force_login(department_manager)

    client.post(
        reverse("measure_edit", args=[kept.key]),
        measure_form(
            function="reopen_rate",
            direction="lower",
            target="0.05",
            act_at="0.1",
            name="Reopened, renamed",
        ),
    )
    client.post(
        reverse("measure_edit", args=[moved.key]), measure_form(function="first_touch_resolution")
    )

    assert Snapshot.objects.filter(measure=kept).exists()  # renamed: the same number
    assert not Snapshot.objects.filter(measure=moved).exists()  # another number now


def test_a_non_owner_is_refused_a_measure_and_nothing_changes(client, department_manager):
    other_manager = UserFactory()
    measure = MeasureFactory(key="end_to_end_attainment", name="Promises kept", owner=other_manager)
    client.force_login(department_manager)
    url = reverse("measure_edit", args=[measure.key])

    assert client.get(url).status_code == 403
    assert client.post(url, measure_form(name="Hijacked")).status_code == 403

    measure.refresh_from_db()
    assert measure.name == "Promises kept"


def test_an_admin_edits_a_measure_nobody_owns(client, superuser):
    measure = MeasureFactory(key="end_to_end_attainment", owner=None)
    client.force_login(superuser)

    assert client.get(reverse("measure_edit", args=[measure.key])).status_code == 200
    response = client.post(
        reverse("measure_edit", args=[measure.key]), measure_form(name="Renamed by admin")
    )

    assert response.status_code == 302
    measure.refresh_from_db()
    assert (measure.name, measure.owner) == ("Renamed by admin", None)


def test_an_unknown_measure_is_not_found_and_an_employee_adds_none(client, employee, superuser):
    client.force_login(superuser)
    assert client.get(reverse("measure_edit", args=["no_such_key"])).status_code == 404

    client.force_login(employee)
    assert client.get(reverse("measure_new")).status_code == 403
    assert client.post(reverse("measure_new"), measure_form()).status_code == 403
    assert not Measure.objects.exists()


def test_a_post_without_its_csrf_token_changes_nothing(department_manager):
    client = Client(enforce_csrf_checks=True)
    client.force_login(department_manager)

    response = client.post(reverse("measure_new"), measure_form())

    assert response.status_code == 403
    assert not Measure.objects.exists()


# --- Audiences --------------------------------------------------------------------------------


def audience_form(**changes):
    data = {
        "name": "IT and HR staff",
        "slug": "it-hr-staff",
        "members": "department_staff",
        "departments": [],
        "people": "",
        "wants_to_know": "What waits on them.",
        "why": "They pick up the work.",
        "acts_by": "Taking the most urgent first.",
        "cadence": "daily",
    }
    data.update(changes)
    return data


def test_a_manager_adds_a_department_audience_narrowed_to_departments(
    client, department_manager, it_department, hr_department
):
    client.force_login(department_manager)

    response = client.post(
        reverse("audience_new"),
        audience_form(departments=[it_department.pk, hr_department.pk]),
    )

    assert response.status_code == 302
    audience = Audience.objects.get()
    assert audience.owner == department_manager
    assert set(audience.departments.all()) == {it_department, hr_department}


def test_a_custom_audience_names_its_people_by_username_or_email(
    client, department_manager, employee, it_agent
):
    it_agent.email = "ivan@example.com"
    it_agent.save()
    client.force_login(department_manager)

    response = client.post(
        reverse("audience_new"),
        audience_form(members="custom", people="employee\nIVAN@example.com"),
    )

    assert response.status_code == 302
    assert set(Audience.objects.get().people.all()) == {employee, it_agent}
    edit = client.get(reverse("audience_edit", args=["it-hr-staff"])).content.decode()
    assert "employee\nit_agent" in edit


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"members": "custom"}, "people", "Name at least one person"),
        ({"members": "custom", "people": "nobody_here"}, "people", "nobody_here"),
        ({"members": "custom", "people": "x" * 255}, "people", "No username or e-mail"),
        (
            {"members": "custom", "people": " ".join(f"p{n}" for n in range(201))},
            "people",
            "at most",
        ),
        ({"people": "employee"}, "people", "Only an audience of chosen people lists people"),
        ({"members": "executives", "departments": "IT"}, "departments", "leave these empty"),
    ],
)
def test_an_audience_that_breaks_a_rule_is_refused_beside_the_field(
    client, department_manager, employee, it_department, changes, field, message
):
    if changes.get("departments") == "IT":
        changes["departments"] = [it_department.pk]
    client.force_login(department_manager)

    response = client.post(reverse("audience_new"), audience_form(**changes))

    assert response.status_code == 400
    assert any(message in error for error in errors_of(response, field)), errors_of(response, field)
    assert not Audience.objects.exists()


def test_a_non_owner_is_refused_an_audience_and_nothing_changes(client, department_manager):
    audience = AudienceFactory(name="Executives", slug="executives", owner=UserFactory())
    client.force_login(department_manager)
    url = reverse("audience_edit", args=[audience.slug])

    assert client.get(url).status_code == 403
    refused = client.post(url, audience_form(name="Hijacked", slug="executives"))

    assert refused.status_code == 403
    audience.refresh_from_db()
    assert audience.name == "Executives"


def test_audience_list_shows_rules_and_reports_and_edit_links_for_owners(
    client, department_manager, it_department
):
    mine = AudienceFactory(
        name="IT staff", members=Audience.Members.DEPARTMENT_STAFF, owner=department_manager
    )
    mine.departments.set([it_department])
    theirs = AudienceFactory(name="Executives")
    ReportFactory(name="Queue activity", audience=mine)
    client.force_login(department_manager)

    page = client.get(reverse("audience_list")).content.decode()

    assert reverse("audience_edit", args=[mine.slug]) in page
    assert reverse("audience_edit", args=[theirs.slug]) not in page
    assert "Queue activity" in page
    assert "Department staff (agents)" in page


def test_audience_list_is_refused_to_an_agent(client, it_agent):
    client.force_login(it_agent)

    assert client.get(reverse("audience_list")).status_code == 403


# --- Reports ----------------------------------------------------------------------------------


def report_form(lines, *, initial=0, **changes):
    """`lines`: (measure, position) pairs, `None` measure for a blank line; each may have
    a third element, True to take the line off."""
    data = {
        "name": "How our work flows",
        "slug": "department-flow",
        "audience": "",
        "narrative": "Where work waits.",
        "cadence": "weekly",
        "lines-TOTAL_FORMS": str(len(lines)),
        "lines-INITIAL_FORMS": str(initial),
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "1000",
    }
    for index, (measure, position, *delete) in enumerate(lines):
        data[f"lines-{index}-measure"] = measure.pk if measure else ""
        data[f"lines-{index}-position"] = str(position)
        if delete and delete[0]:
            data[f"lines-{index}-DELETE"] = "on"
    data.update(changes)
    return data


@pytest.fixture
def three_measures():
    return [
        MeasureFactory(key="request_volume", name="Requests raised"),
        MeasureFactory(key="end_to_end_attainment", name="Promises kept"),
        MeasureFactory(key="reopen_rate", name="Reopened requests"),
    ]


def test_a_new_report_appears_with_its_measures_in_the_order_given(
    client, department_manager, three_measures
):
    volume, promises, reopens = three_measures
    audience = AudienceFactory()
    client.force_login(department_manager)

    response = client.post(
        reverse("report_new"),
        report_form([(promises, 2), (volume, 1), (reopens, 7), (None, 4)], audience=audience.pk),
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("report_dashboard", args=["department-flow"])
    report = Report.objects.get()
    assert report.owner == department_manager
    lines = list(report.lines.order_by("position").values_list("measure__name", "position"))
    assert lines == [("Requests raised", 0), ("Promises kept", 1), ("Reopened requests", 2)]


def test_the_report_form_shows_its_lines_and_blank_ones(client, department_manager, three_measures):
    report = ReportFactory(owner=department_manager, measures=three_measures[:2])
    client.force_login(department_manager)

    response = client.get(reverse("report_edit", args=[report.slug]))

    lines = response.context["lines"]
    assert [form.initial.get("measure") for form in lines.forms[:2]] == three_measures[:2]
    assert len(lines.forms) == 5
    assert [form.fields["position"].initial for form in lines.extra_forms] == [3, 4, 5]


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ("twice", "is already line 1: once is enough"),
        ("none", "Put at least one measure on the report"),
        ("all-off", "Put at least one measure on the report"),
    ],
)
def test_a_report_without_measures_or_with_one_twice_is_refused(
    client, department_manager, three_measures, lines, message
):
    volume, promises, _ = three_measures
    given = {
        "twice": [(volume, 1), (promises, 2), (volume, 3)],
        "none": [(None, 1), (None, 2)],
        "all-off": [(volume, 1, True)],
    }[lines]
    client.force_login(department_manager)

    response = client.post(reverse("report_new"), report_form(given, audience=AudienceFactory().pk))

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Report.objects.exists()


def test_a_report_without_an_audience_is_refused_beside_the_field(
    client, department_manager, three_measures
):
    client.force_login(department_manager)

    response = client.post(reverse("report_new"), report_form([(three_measures[0], 1)]))

    assert response.status_code == 400
    assert errors_of(response, "audience")
    assert not Report.objects.exists()


def test_the_owner_reorders_swaps_and_takes_off_measures(
    client, department_manager, three_measures
):
    volume, promises, reopens = three_measures
    report = ReportFactory(
        slug="department-flow", owner=department_manager, measures=[volume, promises, reopens]
    )
    client.force_login(department_manager)

    # The first two lines swap measures (the one-measure-once constraint must not trip
    # halfway); the third is taken off.
    response = client.post(
        reverse("report_edit", args=[report.slug]),
        report_form(
            [(promises, 1), (volume, 2), (reopens, 3, True)],
            initial=3,
            audience=report.audience_id,
            name="Flow, renamed",
        ),
    )

    assert response.status_code == 302
    report.refresh_from_db()
    assert (report.name, report.owner) == ("Flow, renamed", department_manager)
    assert list(report.lines.order_by("position").values_list("measure__name", flat=True)) == [
        "Promises kept",
        "Requests raised",
    ]


@pytest.mark.parametrize(
    ("members", "status"),
    [
        # A reader who is not the owner learns the report exists, and is refused.
        (Audience.Members.DEPARTMENT_MANAGERS, 403),
        # Someone outside the audience does not learn that much.
        (Audience.Members.EXECUTIVES, 404),
    ],
)
def test_a_non_owner_is_refused_a_report_and_nothing_changes(
    client, department_manager, executive, three_measures, members, status
):
    report = ReportFactory(
        name="Outcomes",
        owner=executive,
        audience=AudienceFactory(members=members),
        measures=three_measures[:1],
    )
    client.force_login(department_manager)
    url = reverse("report_edit", args=[report.slug])

    assert client.get(url).status_code == status
    refused = client.post(
        url,
        report_form(
            [(three_measures[2], 1)], initial=1, audience=report.audience_id, slug=report.slug
        ),
    )

    assert refused.status_code == status
    report.refresh_from_db()
    assert report.name == "Outcomes"
    assert list(report.lines.values_list("measure__key", flat=True)) == ["request_volume"]


def test_an_admin_edits_anyones_report(client, superuser, executive, three_measures):
    report = ReportFactory(owner=executive, measures=three_measures[:1])
    client.force_login(superuser)

    response = client.post(
        reverse("report_edit", args=[report.slug]),
        report_form(
            [(three_measures[1], 1)],
            initial=1,
            audience=report.audience_id,
            slug=report.slug,
        ),
    )

    assert response.status_code == 302
    report.refresh_from_db()
    assert report.owner == executive
    assert [line.measure for line in report.lines.all()] == [three_measures[1]]


def test_an_employee_starts_no_report_and_an_unknown_one_is_not_found(client, employee):
    client.force_login(employee)

    assert client.get(reverse("report_new")).status_code == 403
    assert client.get(reverse("report_edit", args=["no-such-report"])).status_code == 404


def test_the_report_form_runs_a_fixed_number_of_queries(
    client, department_manager, django_assert_max_num_queries
):
    def measures(start, count):
        return [MeasureFactory(key=f"measure_{n}") for n in range(start, start + count)]

    report = ReportFactory(owner=department_manager, measures=measures(0, 2))
    client.force_login(department_manager)
    url = reverse("report_edit", args=[report.slug])
    with django_assert_max_num_queries(30) as few:
        client.get(url)
    for position, measure in enumerate(measures(2, 10), start=2):
        report.lines.create(measure=measure, position=position)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(url)


# --- Objectives -------------------------------------------------------------------------------


@pytest.fixture
def tree():
    mission = ObjectiveFactory(level=Level.MISSION, title="Everyone has what they need")
    goal = ObjectiveFactory(level=Level.GOAL, title="Trusted services", parent=mission)
    objective = ObjectiveFactory(level=Level.OBJECTIVE, title="Promises kept", parent=goal)
    return mission, goal, objective


def objective_form(**changes):
    data = {"level": "objective", "parent": "", "title": "Routine work automated"}
    data.update(changes)
    return data


def test_the_tree_reads_mission_then_goals_then_objectives_with_their_measures(
    client, executive, tree
):
    mission, goal, objective = tree
    MeasureFactory(key="end_to_end_attainment", name="Promises kept, measured", objective=objective)
    MeasureFactory(key="reopen_rate", name="Serves nothing", objective=None)
    client.force_login(executive)

    response = client.get(reverse("objective_list"))

    page = response.content.decode()
    assert response.status_code == 200
    positions = [page.index(o.title) for o in (mission, goal, objective)]
    assert positions == sorted(positions)
    assert page.index("Promises kept, measured") > positions[2]
    assert "Measures that serve no objective" in page
    assert "Serves nothing" in page
    [root] = response.context["roots"]
    assert root.children[0].children[0].objective == objective


def test_an_objective_is_added_under_a_goal_and_owned_by_its_creator(
    client, department_manager, tree
):
    _, goal, _ = tree
    client.force_login(department_manager)

    response = client.post(reverse("objective_new"), objective_form(parent=goal.pk))

    assert response.status_code == 302
    added = Objective.objects.get(title="Routine work automated")
    assert (added.parent, added.owner) == (goal, department_manager)


@pytest.mark.parametrize(
    ("editing", "changes", "field", "message"),
    [
        ("goal", {"level": "goal", "parent": "goal"}, "parent", "It cannot serve itself"),
        ("goal", {"level": "goal", "parent": "objective"}, "parent", "serves it already"),
        (None, {"level": "goal", "parent": "objective"}, "parent", "not an objective"),
        (None, {"level": "objective", "parent": "objective"}, "parent", "An objective serves"),
        (None, {"level": "mission", "parent": "mission"}, "parent", "A mission serves nothing"),
        ("goal", {"level": "objective", "parent": "mission"}, "level", "would no longer sit"),
    ],
)
def test_an_objective_out_of_order_is_refused_beside_the_field(
    client, superuser, tree, editing, changes, field, message
):
    nodes = dict(zip(("mission", "goal", "objective"), tree, strict=True))
    data = objective_form(
        title="Trusted services" if editing else "New node",
        level=changes["level"],
        parent=nodes[changes["parent"]].pk,
    )
    url = (
        reverse("objective_edit", args=[nodes[editing].pk]) if editing else reverse("objective_new")
    )
    client.force_login(superuser)

    response = client.post(url, data)

    assert response.status_code == 400
    assert any(message in error for error in errors_of(response, field)), errors_of(response, field)
    assert Objective.objects.count() == 3
    nodes["goal"].refresh_from_db()
    assert (nodes["goal"].level, nodes["goal"].parent) == (Level.GOAL, nodes["mission"])


def test_the_parent_choices_leave_out_the_node_and_what_hangs_from_it(client, superuser, tree):
    mission, goal, _objective = tree
    client.force_login(superuser)

    form = client.get(reverse("objective_edit", args=[goal.pk])).context["form"]

    offered = {value for value, _ in form.fields["parent"].widget.choices if value}
    assert offered == {mission.pk}


def test_a_non_owner_is_refused_an_objective_and_nothing_changes(client, department_manager, tree):
    _, goal, _ = tree
    client.force_login(department_manager)
    url = reverse("objective_edit", args=[goal.pk])

    assert client.get(url).status_code == 403
    assert client.post(url, objective_form(level="goal", title="Hijacked")).status_code == 403
    goal.refresh_from_db()
    assert goal.title == "Trusted services"


def test_the_objectives_are_refused_to_an_employee(client, employee):
    client.force_login(employee)

    assert client.get(reverse("objective_list")).status_code == 403
    assert client.get(reverse("objective_new")).status_code == 403


# --- Cost rates -------------------------------------------------------------------------------


def test_an_admin_sets_every_departments_rate(client, superuser, it_department, hr_department):
    client.force_login(superuser)

    response = client.post(
        reverse("cost_rates"),
        {f"rate_{it_department.pk}": "62.50", f"rate_{hr_department.pk}": "55"},
    )

    assert response.status_code == 302
    rates = dict(CostRate.objects.values_list("department__slug", "hourly_rate"))
    assert rates == {"it": Decimal("62.50"), "hr": Decimal("55.00")}


def test_a_manager_sets_only_their_own_departments_rate(
    client, department_manager, it_department, hr_department
):
    CostRate.objects.create(department=hr_department, hourly_rate=Decimal("50"))
    client.force_login(department_manager)

    form = client.get(reverse("cost_rates")).context["form"]
    response = client.post(
        reverse("cost_rates"),
        {f"rate_{it_department.pk}": "70", f"rate_{hr_department.pk}": "1"},
    )

    assert list(form.fields) == [f"rate_{it_department.pk}"]
    assert response.status_code == 302
    rates = dict(CostRate.objects.values_list("department__slug", "hourly_rate"))
    assert rates == {"it": Decimal("70.00"), "hr": Decimal("50.00")}


@pytest.mark.parametrize("rate", ["0", "-5", "abc", "1234567.891"])
def test_a_rate_that_is_not_a_positive_amount_is_refused(
    client, department_manager, it_department, rate
):
    CostRate.objects.create(department=it_department, hourly_rate=Decimal("60"))
    client.force_login(department_manager)

    response = client.post(reverse("cost_rates"), {f"rate_{it_department.pk}": rate})

    assert response.status_code == 400
    assert response.context["form"].errors[f"rate_{it_department.pk}"]
    assert CostRate.objects.get().hourly_rate == Decimal("60")


def test_an_emptied_rate_is_no_longer_known(client, department_manager, it_department):
    CostRate.objects.create(department=it_department, hourly_rate=Decimal("60"))
    client.force_login(department_manager)

    client.post(reverse("cost_rates"), {f"rate_{it_department.pk}": ""})

    assert not CostRate.objects.exists()


def test_an_executive_reads_the_rates_but_sets_none(client, executive, it_department):
    CostRate.objects.create(department=it_department, hourly_rate=Decimal("60"))
    client.force_login(executive)

    page = client.get(reverse("cost_rates"))
    refused = client.post(reverse("cost_rates"), {f"rate_{it_department.pk}": "99"})

    assert page.status_code == 200
    assert page.context["form"] is None
    assert "60.00" in page.content.decode()
    assert refused.status_code == 403
    assert CostRate.objects.get().hourly_rate == Decimal("60")


def test_the_cost_rates_are_refused_to_an_employee(client, employee, it_department):
    client.force_login(employee)

    assert client.get(reverse("cost_rates")).status_code == 403
    assert client.post(reverse("cost_rates"), {f"rate_{it_department.pk}": "9"}).status_code == 403
    assert not CostRate.objects.exists()


def test_the_cost_rates_run_a_fixed_number_of_queries(
    client, superuser, django_assert_max_num_queries
):
    client.force_login(superuser)
    DepartmentFactory()
    with django_assert_max_num_queries(30) as few:
        client.get(reverse("cost_rates"))
    for _ in range(6):
        CostRate.objects.create(department=DepartmentFactory(), hourly_rate=Decimal("40"))
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse("cost_rates"))
