"""Each kind of Celery work goes to its own queue, so each pool scales on its own."""

import importlib
import re
from pathlib import Path

import pytest
from django.conf import settings

from esm.celery import app

ROOT = Path(__file__).resolve().parents[2]
TASK_MODULES = [
    "esm.tasks",
    "services.tasks",
    "valuestreams.tasks",
    "journeys.tasks",
    "reporting.tasks",
]

# Every task of the project and its queue: a new task fails here until it is given one.
EXPECTED = {
    "services.tasks.run_step_task": "automation",
    "services.tasks.step_runs_sweep_task": "automation",
    "services.tasks.notify_task": "notifications",
    "reporting.tasks.subscriptions_send_task": "notifications",
    "reporting.tasks.snapshots_refresh_task": "rollups",
    "reporting.tasks.service_days_refresh_task": "rollups",
    "reporting.tasks.crossings_refresh_task": "rollups",
    "reporting.tasks.sharing_refresh_task": "rollups",
    "services.tasks.catalog_items_count_recent_task": "rollups",
    "valuestreams.tasks.value_streams_refresh_task": "rollups",
    "valuestreams.tasks.value_stream_refresh_task": "rollups",
    "journeys.tasks.journeys_refresh_task": "rollups",
    "journeys.tasks.journey_refresh_task": "rollups",
    "services.tasks.mail_fetch_task": "mail",
    "services.tasks.sla_breach_sweep_task": "default",
    "services.tasks.service_requests_close_sweep_task": "default",
    "esm.tasks.event_partitions_create_task": "default",
}


def _queue_of(task_name: str) -> str:
    return app.amqp.router.route({}, task_name)["queue"].name


def test_every_task_of_the_project_is_listed_here():
    for module in TASK_MODULES:
        importlib.import_module(module)
    project_tasks = {name for name in app.tasks if name.rpartition(".")[0] in TASK_MODULES}

    assert project_tasks == set(EXPECTED)


@pytest.mark.parametrize(("task_name", "queue"), sorted(EXPECTED.items()))
def test_each_task_is_routed_to_its_queue(task_name, queue):
    assert _queue_of(task_name) == queue


def test_every_beat_entry_names_a_routed_task():
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in EXPECTED


def test_make_worker_consumes_every_queue():
    makefile = (ROOT / "Makefile").read_text()
    queues = re.search(r"^WORKER_QUEUES := (.+)$", makefile, re.MULTILINE).group(1)

    assert queues.split(",") == settings.WORKER_QUEUES
    assert set(EXPECTED.values()) == set(settings.WORKER_QUEUES)


def test_docker_compose_runs_a_worker_for_each_queue():
    compose = (ROOT / "docker-compose.yml").read_text()
    consumed = set(re.findall(r'"-Q",\s*"([a-z,]+)"', compose))

    assert set(",".join(consumed).split(",")) == set(settings.WORKER_QUEUES)
