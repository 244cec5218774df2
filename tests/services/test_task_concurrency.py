"""Two people never hold the same task: take next and claim under real concurrency.

PostgreSQL only: SQLite serialises writers, so it cannot show a race, and row locks
(`select_for_update(skip_locked=True)`) are what is under test. Every thread opens its
own database connection and closes it when done.
"""

import threading
from collections import Counter

import pytest
from django.db import connection, transaction

from esm.models import Event, EventKind
from services import actions
from services.actions import ActionRefused
from services.models import FulfilmentTask
from tests.esm.factories import DepartmentRoleFactory, UserFactory
from tests.services.factories import FulfilmentTaskFactory, QueueFactory

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL"),
    pytest.mark.django_db(transaction=True),
]

TASKS_PER_QUEUE = 10
ROUNDS = 5
JOIN_TIMEOUT = 60


def _agents(department, count):
    agents = []
    for number in range(count):
        agent = UserFactory(username=f"racer{number}", first_name="Racer", last_name=str(number))
        DepartmentRoleFactory(user=agent, department=department)
        agents.append(agent)
    return agents


def _race(workers):
    """Start every worker at the same moment, each on its own connection; return errors."""
    barrier = threading.Barrier(len(workers))
    errors = []

    def run(work):
        try:
            barrier.wait(timeout=JOIN_TIMEOUT)
            work()
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(work,)) for work in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_TIMEOUT)
    assert not any(thread.is_alive() for thread in threads), "a worker hung"
    return errors


def _claimed_events(tasks):
    return Counter(
        Event.objects.filter(
            kind=EventKind.CLAIMED,
            subject_type="services.fulfilmenttask",
            subject_id__in=[task.pk for task in tasks],
        ).values_list("subject_id", flat=True)
    )


@pytest.mark.parametrize("agent_count", [2, 3, 4])
def test_agents_pressing_take_next_together_never_get_the_same_task(it_department, agent_count):
    agents = _agents(it_department, agent_count)

    for round_number in range(ROUNDS):
        queue = QueueFactory(department=it_department, slug=f"race-{agent_count}-{round_number}")
        tasks = FulfilmentTaskFactory.create_batch(
            TASKS_PER_QUEUE, queue=queue, service_request__catalog_item__department=it_department
        )
        taken = {agent.pk: [] for agent in agents}

        def take_until_empty(agent, queue=queue, taken=taken):
            while (task := actions.task_take_next(queue=queue, agent=agent)) is not None:
                taken[agent.pk].append(task.pk)

        errors = _race([lambda agent=agent: take_until_empty(agent) for agent in agents])

        assert errors == []
        every_take = [pk for pks in taken.values() for pk in pks]
        assert sorted(every_take) == sorted(task.pk for task in tasks), f"round {round_number}"
        assert _claimed_events(tasks) == {task.pk: 1 for task in tasks}
        holders = dict(FulfilmentTask.objects.filter(queue=queue).values_list("pk", "assignee_id"))
        assert holders == {pk: agent_pk for agent_pk, pks in taken.items() for pk in pks}
        assert set(FulfilmentTask.objects.filter(queue=queue).values_list("state", flat=True)) == {
            FulfilmentTask.State.IN_PROGRESS
        }


def test_two_agents_claiming_the_same_task_together_exactly_one_wins(it_department):
    first, second = _agents(it_department, 2)
    queue = QueueFactory(department=it_department, slug="claim-race")

    for round_number in range(ROUNDS * 2):
        task = FulfilmentTaskFactory(
            queue=queue, service_request__catalog_item__department=it_department
        )
        won, refused = [], []

        def claim(agent, task=task, won=won, refused=refused):
            try:
                actions.task_claim(task=task, agent=agent)
                won.append(agent.pk)
            except ActionRefused as error:
                refused.append((agent.pk, str(error)))

        errors = _race([lambda: claim(first), lambda: claim(second)])

        assert errors == []
        assert len(won) == 1, f"round {round_number}: {won}"
        [(loser, message)] = refused
        assert {won[0], loser} == {first.pk, second.pk}
        assert "is already working on this task" in message
        task.refresh_from_db()
        assert (task.assignee_id, task.version) == (won[0], 2)
        assert _claimed_events([task]) == {task.pk: 1}


def test_take_next_and_a_direct_claim_never_share_a_task(it_department):
    taker, claimer = _agents(it_department, 2)

    for round_number in range(ROUNDS * 2):
        queue = QueueFactory(department=it_department, slug=f"mixed-{round_number}")
        task = FulfilmentTaskFactory(
            queue=queue, service_request__catalog_item__department=it_department
        )
        outcomes = {}

        def take(queue=queue, outcomes=outcomes):
            outcomes["taken"] = actions.task_take_next(queue=queue, agent=taker)

        def claim(task=task, outcomes=outcomes):
            try:
                outcomes["claimed"] = actions.task_claim(task=task, agent=claimer)
            except ActionRefused:
                outcomes["claimed"] = None

        errors = _race([take, claim])

        assert errors == []
        winners = [name for name in ("taken", "claimed") if outcomes[name] is not None]
        assert len(winners) == 1, f"round {round_number}: {outcomes}"
        task.refresh_from_db()
        assert task.assignee == (taker if winners == ["taken"] else claimer)
        assert _claimed_events([task]) == {task.pk: 1}


def test_take_next_passes_over_a_task_another_agent_holds_without_waiting(it_department):
    [agent] = _agents(it_department, 1)
    queue = QueueFactory(department=it_department, slug="skip-locked")
    first, second = FulfilmentTaskFactory.create_batch(
        2, queue=queue, service_request__catalog_item__department=it_department
    )
    locked, release, result = threading.Event(), threading.Event(), {}

    def hold_the_first():
        try:
            with transaction.atomic():
                FulfilmentTask.objects.select_for_update().get(pk=first.pk)
                locked.set()
                release.wait(JOIN_TIMEOUT)
        finally:
            connection.close()

    def take():
        try:
            result["task"] = actions.task_take_next(queue=queue, agent=agent)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_first)
    taker = threading.Thread(target=take)
    holder.start()
    try:
        assert locked.wait(JOIN_TIMEOUT)
        taker.start()
        taker.join(5)
        waited = taker.is_alive()
    finally:
        release.set()
        holder.join(JOIN_TIMEOUT)
        if taker.ident is not None:
            taker.join(JOIN_TIMEOUT)

    assert not waited, "take next queued behind a row another agent had locked"
    assert result["task"] == second
    first.refresh_from_db()
    assert first.assignee is None
