"""What the bench leaves behind in the database it keeps between runs."""

import pytest

from bench import scenarios
from services import actions
from services.models import FulfilmentTask
from tests.esm.factories import DepartmentRoleFactory
from tests.services.factories import FulfilmentTaskFactory, QueueFactory

pytestmark = pytest.mark.django_db


def test_what_take_next_claimed_during_a_run_is_put_back_in_the_queue(it_agent, it_department):
    queue = QueueFactory(department=it_department)
    colleague = DepartmentRoleFactory(department=it_department).user
    held_before = FulfilmentTaskFactory(queue=queue, assignee=it_agent, state="in_progress")
    unclaimed = [FulfilmentTaskFactory(queue=queue) for _ in range(4)]

    with scenarios.take_next_put_back():
        taken = [actions.task_take_next(queue=queue, agent=it_agent) for _ in range(2)]
        by_colleague = actions.task_take_next(queue=queue, agent=colleague)

    def holder(task: FulfilmentTask) -> int | None:
        task.refresh_from_db()
        return task.assignee_id

    assert {task.pk for task in taken} <= {task.pk for task in unclaimed}
    assert [holder(task) for task in taken] == [None, None]
    assert [task.state for task in taken] == ["queued", "queued"]
    # Only what the bench's agent took during the run.
    assert holder(held_before) == it_agent.pk
    assert holder(by_colleague) == colleague.pk
