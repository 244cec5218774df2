"""What the bench leaves behind in the database it keeps between runs."""

import datetime as dt

import pytest

from bench import scenarios
from services import actions
from services.models import FulfilmentTask
from tests.esm.factories import DepartmentRoleFactory
from tests.services.factories import FulfilmentTaskFactory, QueueFactory, ServiceRequestFactory

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)


def test_what_take_next_claimed_is_put_back_in_the_queue_between_phases(it_agent, it_department):
    queue = QueueFactory(department=it_department)
    colleague = DepartmentRoleFactory(department=it_department).user
    held_before = FulfilmentTaskFactory(queue=queue, assignee=it_agent, state="in_progress")
    FulfilmentTaskFactory.create_batch(4, queue=queue)

    put_back = scenarios.take_next_put_back()
    # Two phases of a run: the first's claims are put back before the second claims.
    first_phase = [actions.task_take_next(queue=queue, agent=it_agent) for _ in range(3)]
    put_back()
    taken = [actions.task_take_next(queue=queue, agent=it_agent) for _ in range(2)]
    by_colleague = actions.task_take_next(queue=queue, agent=colleague)
    put_back()

    def holder(task: FulfilmentTask) -> int | None:
        task.refresh_from_db()
        return task.assignee_id

    # The first phase's claims came back: the most urgent were there to take again.
    assert {task.pk for task in taken} <= {task.pk for task in first_phase}
    assert [holder(task) for task in taken] == [None, None]
    assert [task.state for task in taken] == ["queued", "queued"]
    # Only what the bench's agent took during the run.
    assert holder(held_before) == it_agent.pk
    assert holder(by_colleague) == colleague.pk


def test_the_request_page_timed_is_the_employees_newest_but_the_benchs_own(employee):
    ServiceRequestFactory(requester=employee, submitted_at=START)
    newer = ServiceRequestFactory(requester=employee, submitted_at=START + dt.timedelta(days=1))
    ServiceRequestFactory(
        requester=employee,
        submitted_at=START + dt.timedelta(days=2),
        submission_key=f"{scenarios.SUBMISSION_KEY_PREFIX}0123abcd",
    )

    assert scenarios.newest_request_of(employee) == newer
