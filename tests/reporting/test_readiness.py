"""The nine readiness signs, each data-drawn rule on hand-built data with a known answer."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from esm import clock
from esm.models import DepartmentRole
from journeys.models import Finding
from reporting import readiness
from reporting.models import (
    Measure,
    ReadinessAssessment,
    ReportMeasure,
    RolloutStep,
    TribalGroup,
)
from services.models import Article
from tests.esm.factories import DepartmentFactory, DepartmentRoleFactory, UserFactory
from tests.journeys.factories import TouchpointFactory
from tests.reporting.factories import (
    AudienceFactory,
    MeasureFactory,
    ReportFactory,
    SnapshotFactory,
)
from tests.services.factories import ArticleFactory, ServiceFactory, ServiceRequestFactory
from tests.valuestreams.factories import StageFactory
from valuestreams.models import CaseFlow, CaseStage

NOW = dt.datetime(2026, 11, 20, 10, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _now():
    with clock.travel(NOW):
        yield


def _answers(department):
    return {
        item.sign.key: item.answer
        for item in readiness.department_readiness([department])[department.pk]
    }


def _report(department, *kinds):
    report = ReportFactory()
    report.audience.departments.add(department)
    for position, kind in enumerate(kinds):
        measure = MeasureFactory(kind=kind, key=f"k{report.pk}-{position}")
        ReportMeasure.objects.create(report=report, measure=measure, position=position)
    return report


@pytest.mark.django_db
def test_outcome_reports_yes_when_a_report_shows_an_outcome():
    department = DepartmentFactory()
    _report(department, Measure.Kind.OUTPUT)
    _report(department, Measure.Kind.OUTPUT, Measure.Kind.OUTCOME)
    answer = _answers(department)["outcome_reports"]
    assert answer.answer == "yes"
    assert answer.evidence.startswith("1 of its 2 reports")


@pytest.mark.django_db
def test_outcome_reports_partly_with_outputs_only_and_no_without_reports():
    outputs, bare = DepartmentFactory(), DepartmentFactory()
    _report(outputs, Measure.Kind.OUTPUT)
    AudienceFactory()  # an audience for no one in particular counts for no department
    assert _answers(outputs)["outcome_reports"].answer == "partly"
    assert _answers(bare)["outcome_reports"].answer == "no"


@pytest.mark.django_db
def test_owned_by_business_counts_owners_outside_the_departments_staff():
    department = DepartmentFactory()
    insider, outsider = UserFactory(), UserFactory()
    DepartmentRoleFactory(user=insider, department=department, role=DepartmentRole.Role.AGENT)
    ServiceFactory(department=department, owner=insider)
    ServiceFactory(department=department, owner=insider)
    ServiceFactory(department=department, owner=outsider)
    ServiceFactory(department=department, owner=None)  # no owner: not judged
    answer = _answers(department)["owned_by_business"]
    assert answer.answer == "partly"
    assert answer.evidence == "1 of its 3 owned live services are owned outside it."

    ServiceFactory(department=department, owner=outsider)
    assert _answers(department)["owned_by_business"].answer == "yes"


@pytest.mark.django_db
def test_owned_by_business_no_when_only_its_staff_own():
    department = DepartmentFactory()
    manager = UserFactory()
    DepartmentRoleFactory(user=manager, department=department, role=DepartmentRole.Role.MANAGER)
    ServiceFactory(department=department, owner=manager)
    assert _answers(department)["owned_by_business"].answer == "no"


def _ratings(service, *values, day=dt.date(2026, 11, 1)):
    measure = Measure.objects.filter(key="experience_rating").first() or MeasureFactory(
        key="experience_rating", kind=Measure.Kind.EXPERIENCE
    )
    for offset, value in enumerate(values):
        SnapshotFactory(
            measure=measure,
            service=service,
            scope=f"service:{service.pk}",
            day=day + dt.timedelta(days=offset),
            value=value,
        )


@pytest.mark.django_db
def test_consistent_experience_from_the_spread_of_service_means():
    department = DepartmentFactory()
    steady, shaky = ServiceFactory(department=department), ServiceFactory(department=department)
    _ratings(steady, 4.0, 4.4)  # mean 4.2
    _ratings(shaky, 3.0, 3.6)  # mean 3.3: spread 0.9
    _ratings(shaky, 1.0, day=dt.date(2026, 6, 1))  # before the window: ignored
    answer = _answers(department)["consistent_experience"]
    assert answer.answer == "partly"
    assert "spread of 0.9" in answer.evidence


@pytest.mark.django_db
def test_consistent_experience_falls_back_to_the_assessment_with_one_rated_service(executive):
    department = DepartmentFactory()
    _ratings(ServiceFactory(department=department), 4.5)
    assert _answers(department)["consistent_experience"].answer == ""
    ReadinessAssessment.objects.create(
        department=department,
        sign="consistent_experience",
        answer="yes",
        evidence="Same desk, same script.",
        assessed_by=executive,
        assessed_on=dt.date(2026, 11, 1),
    )
    answer = _answers(department)["consistent_experience"]
    assert (answer.answer, answer.from_data) == ("yes", False)
    assert answer.evidence.startswith("Same desk, same script.")


def _stage_case(stage, *, process, wait, received, flawed, started=NOW - dt.timedelta(days=3)):
    service_request = ServiceRequestFactory()
    case = CaseFlow.objects.create(
        stream=stage.stream,
        service_request=service_request,
        reference=f"REQ-{service_request.pk}",
        submitted_at=started,
        refreshed_at=NOW,
    )
    CaseStage.objects.create(
        case=case,
        stage=stage,
        started_at=started,
        process_minutes=process,
        queue_wait_minutes=wait,
        received=received,
        flawed=flawed,
    )


@pytest.mark.django_db
def test_lean_processes_from_flow_efficiency_and_complete_and_accurate():
    lean, wasteful, half = DepartmentFactory(), DepartmentFactory(), DepartmentFactory()
    _stage_case(StageFactory(department=lean), process=30, wait=60, received=10, flawed=1)
    _stage_case(StageFactory(department=wasteful), process=10, wait=90, received=4, flawed=2)
    _stage_case(StageFactory(department=half), process=50, wait=50, received=2, flawed=1)
    _stage_case(
        StageFactory(department=half),
        process=0,
        wait=900,
        received=8,
        flawed=8,
        started=NOW - dt.timedelta(days=200),  # before the window: ignored
    )
    lean_answer = _answers(lean)["lean_processes"]
    assert lean_answer.answer == "yes"
    assert "flow efficiency 33%, %C&A 90%" in lean_answer.evidence
    assert _answers(wasteful)["lean_processes"].answer == "no"
    assert _answers(half)["lean_processes"].answer == "partly"


@pytest.mark.django_db
def test_successes_published_counts_published_articles_and_done_findings():
    department = DepartmentFactory()
    ArticleFactory(department=department, status=Article.Status.PUBLISHED)
    ArticleFactory(department=department, status=Article.Status.DRAFT)
    touchpoint = TouchpointFactory(department=department)
    Finding.objects.create(touchpoint=touchpoint, kind="opportunity", title="a", status="done")
    Finding.objects.create(touchpoint=touchpoint, kind="opportunity", title="b", status="new")
    answer = _answers(department)["successes_published"]
    assert answer.answer == "partly"
    assert answer.evidence == "1 published knowledge articles, 1 journey findings done."
    Finding.objects.create(touchpoint=touchpoint, kind="pain_point", title="c", status="done")
    assert _answers(department)["successes_published"].answer == "yes"


@pytest.mark.django_db
def test_assessed_signs_read_the_latest_assessment(executive):
    department = DepartmentFactory()
    for day, answer in ((dt.date(2026, 9, 1), "no"), (dt.date(2026, 11, 1), "yes")):
        ReadinessAssessment.objects.create(
            department=department,
            sign="business_sponsor",
            answer=answer,
            evidence="The COO asked for it." if answer == "yes" else "Nobody yet.",
            assessed_by=executive,
            assessed_on=day,
        )
    answers = _answers(department)
    assert answers["business_sponsor"].answer == "yes"
    assert answers["service_mindset"].answer == ""
    assert len(answers) == 9


@pytest.mark.django_db
def test_readiness_costs_the_same_queries_for_more_departments(django_assert_max_num_queries):
    departments = [DepartmentFactory() for _ in range(2)]
    with django_assert_max_num_queries(8):
        readiness.department_readiness(departments)
    departments += [DepartmentFactory() for _ in range(6)]
    for department in departments:
        _report(department, Measure.Kind.OUTCOME)
        ServiceFactory(department=department, owner=UserFactory())
    with django_assert_max_num_queries(8):
        readiness.department_readiness(departments)


# Pages, the API and the writes behind them ------------------------------------------------


def _assessment_form(**overrides):
    return {
        "sign": "business_sponsor",
        "answer": "yes",
        "evidence": "The CFO chairs the steering group.",
        "assessed_on": "2026-11-18",
        **overrides,
    }


@pytest.mark.django_db
def test_a_department_manager_assesses_a_sign_of_their_department(
    client, department_manager, it_department
):
    client.force_login(department_manager)
    response = client.post(
        reverse("readiness_department", args=[it_department.slug]), _assessment_form()
    )
    assert response.status_code == 302
    (assessment,) = ReadinessAssessment.objects.all()
    assert (assessment.department, assessment.answer, assessment.assessed_by) == (
        it_department,
        "yes",
        department_manager,
    )
    page = client.get(reverse("readiness_department", args=[it_department.slug]))
    assert "The CFO chairs the steering group." in page.content.decode()


@pytest.mark.django_db
def test_a_manager_of_another_department_may_read_but_not_assess(
    client, department_manager, hr_department
):
    client.force_login(department_manager)
    url = reverse("readiness_department", args=[hr_department.slug])
    assert client.get(url).status_code == 200
    assert client.post(url, _assessment_form()).status_code == 403
    assert not ReadinessAssessment.objects.exists()


@pytest.mark.django_db
def test_an_assessment_without_evidence_is_refused_beside_the_field(
    client, executive, it_department
):
    client.force_login(executive)
    response = client.post(
        reverse("readiness_department", args=[it_department.slug]), _assessment_form(evidence=" ")
    )
    assert response.status_code == 400
    assert "Say what the answer rests on." in response.content.decode()
    assert not ReadinessAssessment.objects.exists()


@pytest.mark.django_db
def test_readiness_pages_are_refused_to_agents_and_unknown_departments_404(
    client, it_agent, executive
):
    client.force_login(it_agent)
    assert client.get(reverse("readiness")).status_code == 403
    assert client.get(reverse("tribes")).status_code == 403
    assert client.get(reverse("rollout")).status_code == 403
    client.force_login(executive)
    assert client.get(reverse("readiness_department", args=["nowhere"])).status_code == 404


@pytest.mark.django_db
def test_the_overview_runs_constant_queries_as_departments_grow(
    client, executive, django_assert_max_num_queries
):
    client.force_login(executive)
    DepartmentFactory()
    client.get(reverse("readiness"))
    with django_assert_max_num_queries(25) as first:
        assert client.get(reverse("readiness")).status_code == 200
    for _ in range(6):
        department = DepartmentFactory()
        _report(department, Measure.Kind.OUTCOME)
        ServiceFactory(department=department, owner=UserFactory())
    with django_assert_max_num_queries(len(first.captured_queries)):
        response = client.get(reverse("readiness"))
    assert response.status_code == 200


@pytest.mark.django_db
def test_tribes_are_recorded_anew_so_change_over_time_shows(client, executive, department_manager):
    client.force_login(executive)
    for day, openness in (("2026-06-01", 2), ("2026-11-01", 4)):
        response = client.post(
            reverse("tribes"),
            {
                "name": "Field engineers",
                "preferred_tools": "Radio, WhatsApp",
                "preferred_channels": "Phone",
                "openness": openness,
                "recorded_on": day,
            },
        )
        assert response.status_code == 302
    assert list(TribalGroup.objects.values_list("openness", flat=True)) == [4, 2]
    page = client.get(reverse("tribes")).content.decode()
    assert "Field engineers, earlier" in page

    client.force_login(department_manager)
    refused = client.post(
        reverse("tribes"), {"name": "X", "openness": 3, "recorded_on": "2026-11-01"}
    )
    assert refused.status_code == 403
    assert TribalGroup.objects.count() == 2


@pytest.mark.django_db
def test_a_tribe_openness_out_of_range_is_refused(client, executive):
    client.force_login(executive)
    response = client.post(
        reverse("tribes"), {"name": "Sales", "openness": 9, "recorded_on": "2026-11-01"}
    )
    assert response.status_code == 400
    assert not TribalGroup.objects.exists()


@pytest.mark.django_db
def test_the_rollout_plan_is_added_to_at_the_end_and_reordered(client, executive):
    client.force_login(executive)
    for title in ("Onboarding", "Office moves", "Leavers"):
        response = client.post(reverse("rollout_step_new"), {"title": title, "status": "planned"})
        assert response.status_code == 302
    leavers = RolloutStep.objects.get(title="Leavers")
    client.post(reverse("rollout_step_move", args=[leavers.pk]), {"direction": "up"})
    assert list(RolloutStep.objects.values_list("title", flat=True)) == [
        "Onboarding",
        "Leavers",
        "Office moves",
    ]
    onboarding = RolloutStep.objects.get(title="Onboarding")
    client.post(reverse("rollout_step_move", args=[onboarding.pk]), {"direction": "up"})
    assert RolloutStep.objects.order_by("position").first() == onboarding  # already first
    client.post(
        reverse("rollout_step_edit", args=[onboarding.pk]),
        {"title": "Onboarding", "status": "done", "lessons_learned": "Map before automating."},
    )
    onboarding.refresh_from_db()
    assert (onboarding.status, onboarding.lessons_learned) == ("done", "Map before automating.")


@pytest.mark.django_db
def test_only_the_esm_lead_changes_the_rollout_plan(client, department_manager):
    client.force_login(department_manager)
    assert client.get(reverse("rollout")).status_code == 200
    assert (
        client.post(reverse("rollout_step_new"), {"title": "X", "status": "planned"}).status_code
        == 403
    )
    assert not RolloutStep.objects.exists()


@pytest.mark.django_db
def test_the_api_reads_signs_and_adoption_with_the_same_rules(
    client, executive, it_agent, it_department
):
    ServiceFactory(department=it_department, owner=UserFactory())
    client.force_login(executive)
    listing = client.get("/api/v1/readiness/").json()
    row = next(row for row in listing["results"] if row["department"] == it_department.slug)
    assert {sign["key"] for sign in row["signs"]} == set(readiness.SIGN_KEYS)
    owned = next(sign for sign in row["signs"] if sign["key"] == "owned_by_business")
    assert (owned["answer"], owned["from_data"]) == ("yes", True)

    detail = client.get(f"/api/v1/readiness/{it_department.slug}/").json()
    assert len(detail["adoption"]["months"]) == 6
    adoption = client.get("/api/v1/adoption/").json()
    it_adoption = next(a for a in adoption["results"] if a["department"] == it_department.slug)
    assert it_adoption["services"] == 1
    assert client.get("/api/v1/readiness/nowhere/").status_code == 404

    client.force_login(it_agent)
    assert client.get("/api/v1/readiness/").status_code == 403
    assert client.get("/api/v1/adoption/").status_code == 403


@pytest.mark.django_db
def test_the_readiness_admin_pages_open(client, superuser, it_department, executive):
    assessment = ReadinessAssessment.objects.create(
        department=it_department,
        sign="business_sponsor",
        answer="no",
        evidence="Nobody yet.",
        assessed_by=executive,
        assessed_on=dt.date(2026, 11, 1),
    )
    client.force_login(superuser)
    for model in ("readinessassessment", "tribalgroup", "rolloutstep"):
        assert client.get(reverse(f"admin:reporting_{model}_changelist")).status_code == 200
        assert client.get(reverse(f"admin:reporting_{model}_add")).status_code == 200
    change = reverse("admin:reporting_readinessassessment_change", args=[assessment.pk])
    assert client.get(change).status_code == 200


@pytest.mark.django_db
def test_outcome_reports_include_the_reports_its_staff_keep():
    department = DepartmentFactory()
    keeper = UserFactory()
    DepartmentRoleFactory(user=keeper, department=department, role=DepartmentRole.Role.MANAGER)
    report = _report(DepartmentFactory(), Measure.Kind.OUTCOME)  # read by another department
    report.owner = keeper
    report.save()
    answer = _answers(department)["outcome_reports"]
    assert answer.answer == "yes"
    assert answer.evidence.startswith("1 of its 1 reports")
