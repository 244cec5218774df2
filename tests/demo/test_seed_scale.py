"""`manage.py seed_scale` at small N: deterministic for a seed, the promised shape, rows the
models accept, events consistent with the rows, pages that answer on it, rollups filled."""

import datetime as dt
import hashlib
from collections import Counter
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.models import F, Min, Q
from django.urls import reverse
from psycopg import sql

from demo.management.commands.seed_scale import ROLLUPS
from demo.scale import load
from demo.scale.business_time import BusinessTime
from esm.calendars import Schedule
from esm.models import BusinessCalendar, Department, DepartmentRole, Event, EventKind, Profile
from journeys.models import TouchpointCase
from reporting.models import Crossing, SharingFigures, Snapshot
from services.knowledge_sharing import knowledge_sharing_contributors
from services.models import (
    Approval,
    AutomationRun,
    Comment,
    Consult,
    ExperienceRating,
    FulfilmentTask,
    Queue,
    ServiceRequest,
    StepRun,
)
from valuestreams.models import CaseFlow

User = get_user_model()

NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
REQUESTS, PEOPLE = 300, 400
# The generated tables, digested column by column to compare two runs.
DIGESTED = [
    "esm_department",
    "esm_profile",
    "esm_departmentrole",
    "services_servicerequest",
    "services_approval",
    "services_automationrun",
    "services_steprun",
    "services_fulfilmenttask",
    "services_consult",
    "services_comment",
    "services_experiencerating",
    "esm_event",
]

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="seed_scale writes with PostgreSQL's COPY; the test database is "
        f"{connection.vendor}",
    ),
]


def _seed(*, rollups: bool = True) -> str:
    out = StringIO()
    call_command(
        "seed_scale",
        requests=REQUESTS,
        people=PEOPLE,
        seed=7,
        now=NOW,
        snapshot_weeks=0,
        skip_rollup=[] if rollups else list(ROLLUPS),
        stdout=out,
    )
    return out.getvalue()


def _digest() -> dict[str, str]:
    digests = {}
    with connection.cursor() as cursor:
        for table in DIGESTED:
            cursor.execute(
                sql.SQL("SELECT t::text FROM {} AS t ORDER BY id").format(sql.Identifier(table))
            )
            digests[table] = hashlib.sha256(
                "\n".join(row[0] for row in cursor.fetchall()).encode()
            ).hexdigest()
    return digests


@pytest.fixture(scope="module")
def scale(django_db_setup, django_db_blocker):
    """Seeded twice with the same seed on an emptied database (digests of both runs), the
    second run's rows kept for the module's tests; emptied again afterwards."""
    with django_db_blocker.unblock():
        call_command("flush", interactive=False, verbosity=0)
        try:
            _seed(rollups=False)  # the digests cover the generated rows, not the rollups
            first = _digest()
            call_command("flush", interactive=False, verbosity=0)
            output = _seed()
            yield {"output": output, "first": first, "second": _digest()}
        finally:
            call_command("flush", interactive=False, verbosity=0)


def test_same_seed_writes_the_same_rows(scale):
    assert scale["first"] == scale["second"]


def test_refuses_a_database_that_holds_data(scale):
    with pytest.raises(CommandError, match="already holds data"):
        _seed()
    assert ServiceRequest.objects.count() == REQUESTS


def test_prints_rows_and_times(scale):
    assert "services_servicerequest" in scale["output"]
    for name in ROLLUPS:  # each rollup's time, its parts' added up
        assert f"rollups: {name} " in scale["output"], name
    assert "total" in scale["output"]


def test_twelve_departments_each_with_a_queue_and_agents(scale):
    assert Department.objects.count() == 12
    for department in Department.objects.all():
        assert Queue.objects.filter(department=department, is_default=True).exists()
        assert DepartmentRole.objects.filter(department=department, role="agent").exists()


def test_everyone_but_the_top_has_a_manager(scale):
    assert Profile.objects.count() == PEOPLE
    assert Profile.objects.filter(manager__isnull=True).count() <= 2  # erin, the admin


def test_requests_mostly_closed_with_a_small_open_backlog(scale):
    states = Counter(ServiceRequest.objects.values_list("state", flat=True))
    assert states["closed"] > 0.8 * REQUESTS
    open_tasks = FulfilmentTask.objects.open().count()
    assert open_tasks < 0.05 * REQUESTS
    assert states["cancelled"] + states["rejected"] < 0.15 * REQUESTS


def test_about_ten_events_per_request(scale):
    per_request = Event.objects.count() / REQUESTS
    assert 8 <= per_request <= 15


def test_onboarding_crosses_three_departments(scale):
    onboarding = ServiceRequest.objects.filter(catalog_item__slug="new-hire-onboarding")
    assert onboarding.exists()
    references = [case.reference for case in onboarding]
    crossing = (
        Event.objects.filter(reference__in=references, subject_type="services.steprun")
        .values("reference")
        .distinct()
        .count()
    )
    assert crossing
    departments = set(
        Event.objects.filter(reference__in=references).values_list("department__slug", flat=True)
    )
    assert {"hr", "it", "facilities"} <= departments


def test_some_reopened_breached_handed_off_and_waiting(scale):
    kinds = Counter(Event.objects.values_list("kind", flat=True))
    for kind in ["reopened", "sla_breached", "handed_off", "waiting_on_employee", "approved"]:
        assert kinds[kind] > 0, kind
    breached = ServiceRequest.objects.filter(end_to_end_breached=True).count()
    assert breached < 0.2 * REQUESTS


def test_rows_pass_model_validation(scale):
    models = [
        ServiceRequest,
        FulfilmentTask,
        Approval,
        AutomationRun,
        StepRun,
        Consult,
        Comment,
        ExperienceRating,
        Profile,
        DepartmentRole,
    ]
    for model in models:
        for row in model.objects.order_by("?")[:40]:
            # Unique checks would query per field; the database held those constraints.
            row.full_clean(validate_unique=False)


def test_every_request_opens_with_submitted_and_its_state_matches_its_last_change(scale):
    last_state = {}
    submitted = set()
    for subject_id, kind, to_value in Event.objects.filter(
        subject_type="services.servicerequest"
    ).values_list("subject_id", "kind", "to_value"):
        if kind == "submitted":
            submitted.add(subject_id)
        if to_value and kind not in ("commented", "rated", "sla_breached"):
            last_state[subject_id] = to_value
    for pk, state in ServiceRequest.objects.values_list("pk", "state"):
        assert pk in submitted
        assert last_state[pk] == state, pk


def test_task_states_and_versions_match_their_events(scale):
    last = {}
    for subject_id, kind, to_value, payload in Event.objects.filter(
        subject_type="services.fulfilmenttask"
    ).values_list("subject_id", "kind", "to_value", "payload"):
        state, version = last.get(subject_id, ("", 0))
        if to_value and kind != "sla_breached":
            state = to_value
        last[subject_id] = (state, max(version, payload["version"]))
    for pk, state, version in FulfilmentTask.objects.values_list("pk", "state", "version"):
        assert last[pk] == (state, version), pk


def test_breach_flags_match_breach_events(scale):
    flagged = set(
        Event.objects.filter(
            subject_type="services.fulfilmenttask", kind="sla_breached"
        ).values_list("subject_id", flat=True)
    )
    assert flagged == set(
        FulfilmentTask.objects.filter(sla_breached=True).values_list("pk", flat=True)
    )
    # No open task is past its due time unflagged: the sweep would have caught it.
    assert (
        not FulfilmentTask.objects.open()
        .filter(sla_breached=False, sla_paused_at__isnull=True, resolution_due_at__lt=NOW)
        .exists()
    )


def test_rollups_ran(scale):
    assert CaseFlow.objects.exists()
    assert TouchpointCase.objects.exists()
    assert Snapshot.objects.exists()


def test_pages_answer_for_an_agent_and_an_executive(scale, client):
    role = DepartmentRole.objects.filter(department__slug="it", role="agent").first()
    client.force_login(role.user)
    queue = Queue.objects.get(department__slug="it", is_default=True)
    assert client.get(reverse("queue_detail", args=[queue.slug])).status_code == 200
    case = ServiceRequest.objects.filter(department__slug="it").first()
    assert client.get(reverse("request_detail", args=[case.reference])).status_code == 200
    executive = User.objects.get(username="erin")
    client.force_login(executive)
    assert client.get(reverse("dashboards")).status_code == 200


def test_business_time_agrees_with_the_schedule():
    calendar = BusinessCalendar.objects.create(name="Weekdays", is_default=False)
    calendar.working_periods.create(weekday=0, starts_at="09:00", ends_at="12:00")
    calendar.working_periods.create(weekday=0, starts_at="13:00", ends_at="17:30")
    for weekday in range(1, 5):
        calendar.working_periods.create(weekday=weekday, starts_at="09:00", ends_at="17:30")
    calendar.holidays.create(date=dt.date(2026, 12, 25), name="Christmas Day")
    schedule = Schedule.of(calendar)
    fast = BusinessTime(schedule, dt.date(2026, 11, 1), dt.date(2027, 2, 1))
    start = dt.datetime(2026, 12, 21, 8, 0, tzinfo=dt.UTC)
    for hours in range(0, 24 * 9, 5):
        moment = start + dt.timedelta(hours=hours, minutes=17)
        for minutes in (15, 240, 510, 1530, 5100):
            expected = schedule.add(moment, dt.timedelta(minutes=minutes))
            assert fast.add(int(moment.timestamp()), minutes * 60) == int(expected.timestamp())
        end = moment + dt.timedelta(hours=hours * 2 + 3)
        assert fast.between(int(moment.timestamp()), int(end.timestamp())) == int(
            schedule.between(moment, end).total_seconds()
        )


def test_the_collaboration_rollup_holds_every_crossing_of_the_log(scale):
    between_departments = (
        Event.objects.filter(
            Q(kind=EventKind.HANDED_OFF, subject_type="services.fulfilmenttask")
            | Q(kind=EventKind.CONSULT_ASKED, subject_type="services.consult"),
            from_department__isnull=False,
            to_department__isnull=False,
        )
        .exclude(from_department=F("to_department"))
        .count()
    )

    assert Crossing.objects.count() == between_departments > 0


def test_the_knowledge_sharing_rollup_is_written_at_the_seeds_moment(scale):
    rows = list(SharingFigures.objects.all())
    ((since, until),) = {(row.since, row.until) for row in rows}
    staff = get_user_model().objects.filter(pk__in=DepartmentRole.objects.values("user"))
    contributors = knowledge_sharing_contributors(people=staff, since=since, until=until)

    assert until == NOW
    assert sum(row.department_id is not None for row in rows) == Department.objects.count()
    assert {row.person_id for row in rows if row.person_id} == {
        contributor.person.pk for contributor in contributors
    }


def test_no_event_of_a_case_comes_before_its_submission(scale):
    first = dict(
        Event.objects.exclude(reference="")
        .values("reference")
        .annotate(first=Min("occurred_at"))
        .values_list("reference", "first")
    )

    assert all(first[case.reference] >= case.submitted_at for case in ServiceRequest.objects.all())


def test_tables_without_planner_statistics_are_named_until_analyzed():
    # A server without autovacuum never analyzes the tables the ORM filled: the seed does.
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE seed_scale_probe (id integer)")
        assert "seed_scale_probe" in load.never_analyzed()

        load.vacuum_analyze(["seed_scale_probe"])
        # Statistics read in a transaction are a snapshot taken at the first read.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        assert "seed_scale_probe" not in load.never_analyzed()
