"""The measures of docs/events.md, run as written on a small history worked out by hand.

Two cases, built through the real actions at chosen moments (all times UTC):

REQ 1, onboarding with a plan: hr-record (HR, people), then it-account (IT, automated)
and desk (Facilities, people) in parallel.
  Mon 09:00 submitted; the HR task is queued    10:00 HR claims
  11:00 HR asks the employee for missing information   13:00 the employee answers
  14:00 HR resolves: it-account pending, desk queued   14:30 it-account runs and succeeds
  16:00 Facilities claims the desk    16:30 Facilities consults IT    17:30 IT answers
  18:00 Facilities resolves: the request is resolved (lead time 9 h)

REQ 2, a plain IT request, handed to Facilities and sent back, later reopened.
  Tue 09:00 submitted (task A queued in IT)   09:30 IT claims   10:00 IT hands off (B)
  12:00 Facilities claims B   12:30 Facilities sends it back: A is back in progress
  13:00 IT resolves A (resolved, 4 h)   15:00 the employee reopens: task C in IT
  15:30 IT claims C   16:00 IT resolves C (resolved again: lead time 7 h)
"""

import datetime as dt
import re
from pathlib import Path

import pytest
from django.db import connection

from esm import clock
from services import actions
from services.models import Consult, FulfilmentTask, Queue, StepRun
from tests.ci import running_in_ci
from tests.esm.factories import BusinessCalendarFactory
from tests.services.automation_doubles import plan_step as _step
from tests.services.automation_doubles import submit as _submit
from tests.services.factories import CatalogItemFactory, QueueFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("test_actions")]

SCHEMA = Path(__file__).resolve().parents[2] / "docs" / "events.md"
QUERY = re.compile(r"```sql name=(\w+)\n(.*?)```", re.DOTALL)
MON = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)
TUE = MON + dt.timedelta(days=1)
PERIOD = {"start": MON - dt.timedelta(days=1), "end": MON + dt.timedelta(days=7)}


def at(day, hour, minute=0):
    return day + dt.timedelta(hours=hour, minutes=minute)


@pytest.fixture(autouse=True)
def _postgresql():
    if connection.vendor != "postgresql" and not running_in_ci():
        pytest.skip("the measures are written in PostgreSQL's SQL; set DATABASE_URL")
    assert connection.vendor == "postgresql", "CI runs the measures on PostgreSQL"


def _measure(name):
    queries = dict(QUERY.findall(SCHEMA.read_text()))
    with connection.cursor() as cursor:
        cursor.execute(queries[name], PERIOD)
        columns = [column.name for column in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def _hours(value):
    return round(float(value), 4)


@pytest.fixture
def history(employee, hr_agent, it_agent, facilities_agent, hr_department, it_department):
    BusinessCalendarFactory(name="Company", is_default=True)
    facilities = facilities_agent.department_roles.get().department
    it_queue = QueueFactory(department=it_department, slug="it-requests", is_default=True)
    facilities_queue = QueueFactory(department=facilities, slug="fac-requests", is_default=True)
    QueueFactory(department=hr_department, slug="hr-requests", is_default=True)

    onboarding = CatalogItemFactory(department=hr_department, service__department=hr_department)
    hr_record = _step(onboarding, "hr-record", kind="human")
    _step(onboarding, "it-account", department=it_department, after=[hr_record])
    _step(onboarding, "desk", kind="human", department=facilities, after=[hr_record])
    plain = CatalogItemFactory(department=it_department, service__department=it_department)

    def task(**filters):
        return FulfilmentTask.objects.get(**filters)

    with clock.travel(at(MON, 9)) as now:
        first = _submit(onboarding, employee)
        now.to(at(MON, 10))
        hr_task = task(step_key="hr-record")
        actions.task_claim(task=hr_task, agent=hr_agent)
        now.to(at(MON, 11))
        actions.task_ask(task=hr_task, agent=hr_agent, question="NI?", missing_information=True)
        now.to(at(MON, 13))
        actions.comment_add(service_request=first, author=employee, body="AB123456C")
        now.to(at(MON, 14))
        actions.task_resolve(task=task(pk=hr_task.pk), agent=hr_agent, resolution="Recorded")
        now.to(at(MON, 14, 30))
        actions.step_run_execute(StepRun.objects.get(step_key="it-account").pk)
        now.to(at(MON, 16))
        desk = task(step_key="desk")
        actions.task_claim(task=desk, agent=facilities_agent)
        now.to(at(MON, 16, 30))
        actions.task_consult(
            task=task(pk=desk.pk), agent=facilities_agent, to_queue=it_queue, question="Dock?"
        )
        now.to(at(MON, 17, 30))
        actions.consult_answer(consult=Consult.objects.get(), agent=it_agent, answer="USB-C")
        now.to(at(MON, 18))
        actions.task_resolve(task=task(pk=desk.pk), agent=facilities_agent, resolution="Desk 3")

        now.to(at(TUE, 9))
        second, _ = actions.service_request_submit(
            item=plain, raised_by=employee, subject="Dock", answers=[], submission_key="two"
        )
        a = second.tasks.get()
        now.to(at(TUE, 9, 30))
        actions.task_claim(task=a, agent=it_agent)
        now.to(at(TUE, 10))
        b = actions.task_hand_off(
            task=task(pk=a.pk), agent=it_agent, to_queue=facilities_queue, reason="A desk dock"
        )
        now.to(at(TUE, 12))
        actions.task_claim(task=b, agent=facilities_agent)
        now.to(at(TUE, 12, 30))
        actions.task_send_back(task=task(pk=b.pk), agent=facilities_agent, missing="Which desk?")
        now.to(at(TUE, 13))
        actions.task_resolve(task=task(pk=a.pk), agent=it_agent, resolution="Sent a dock")
        now.to(at(TUE, 15))
        actions.service_request_reopen(service_request=second, user=employee, reason="Broken")
        c = second.tasks.get(state=FulfilmentTask.State.QUEUED)
        now.to(at(TUE, 15, 30))
        actions.task_claim(task=c, agent=it_agent)
        now.to(at(TUE, 16))
        actions.task_resolve(task=task(pk=c.pk), agent=it_agent, resolution="New dock")
    assert Queue.objects.get(pk=c.queue_id) == it_queue
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.state, second.state) == ("resolved", "resolved")
    return {"it": it_department.slug, "facilities": facilities.slug}


def test_lead_time_runs_from_submission_to_the_last_resolution(history):
    [row] = _measure("lead_time")

    # 9 h and 7 h: the reopened request counts to its second resolution.
    assert row["requests"] == 2
    assert [_hours(row[key]) for key in ("p50", "p85", "p95", "mean")] == [8.0, 8.7, 8.9, 8.0]


def test_process_and_wait_time_per_stage(history):
    rows = {(row["stage"], row["measure"]): _hours(row["hours"]) for row in _measure("stage_times")}

    it, facilities = history["it"], history["facilities"]
    assert rows == {
        ("hr-record", "queue_wait"): 1.0,
        ("hr-record", "process"): 2.0,  # 10-11 and 13-14
        ("hr-record", "employee_wait"): 2.0,  # apart: not the team's delay
        ("it-account", "automation_wait"): 0.5,
        ("it-account", "process"): 0.0,
        ("desk", "queue_wait"): 2.0,
        ("desk", "process"): 1.0,  # 16-16:30 and 17:30-18
        ("desk", "department_wait"): 1.0,  # the consult to IT
        # The consult task (queued 16:30, answered 17:30), task A and the reopened task C.
        (it, "queue_wait"): 2.0,
        (it, "process"): 1.5,  # A 9:30-10 and 12:30-13, C 15:30-16
        (facilities, "queue_wait"): 2.0,
        (facilities, "process"): 0.5,
    }


def test_handoff_delay_from_ready_to_picked_up(history):
    rows = {row["stage"]: _hours(row["mean_hours"]) for row in _measure("handoff_delay")}

    assert rows == {"hr-record": 1.0, "it-account": 0.5, "desk": 2.0}


def test_handoff_delay_between_departments(history, it_department):
    [row] = _measure("department_handoff_delay")

    assert row["from_department_id"] == it_department.pk
    assert (row["handoffs"], _hours(row["mean_hours"])) == (1, 2.0)


def test_consult_wait_per_asking_and_consulted_department(history, it_department):
    [row] = _measure("consult_wait")

    assert row["consulted_department_id"] == it_department.pk
    assert (row["consults"], row["answered"], _hours(row["mean_hours"])) == (1, 1, 1.0)


def test_percent_complete_and_accurate_per_stage(history):
    rows = {
        row["stage"]: (row["received"], row["flawed"], _hours(row["percent_complete_accurate"]))
        for row in _measure("percent_complete_accurate")
    }

    it, facilities = history["it"], history["facilities"]
    assert rows == {
        "hr-record": (1, 1, 0.0),  # asked the employee for missing information
        "desk": (1, 0, 1.0),
        facilities: (1, 1, 0.0),  # sent the handoff back
        it: (3, 1, 0.6667),  # A resolved the request last before it was reopened
    }
