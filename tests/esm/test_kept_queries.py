"""A kept query is built once with `NOW` and read at the time of each run."""

from __future__ import annotations

import datetime as dt

import pytest

from esm import kept_queries
from services.models import FulfilmentTask
from tests.services.factories import FulfilmentTaskFactory

pytestmark = pytest.mark.django_db

DUE = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)


def _due_by_now_created_since(since: dt.datetime) -> kept_queries.SqlWithParams:
    tasks = FulfilmentTask.objects.filter(resolution_due_at__lte=kept_queries.NOW)
    return (
        tasks.filter(created_at__gte=since)
        .order_by("pk")
        .values_list("pk", flat=True)
        .query.sql_with_params()
    )


def test_the_same_query_reads_each_runs_now_and_keeps_its_other_times():
    task = FulfilmentTaskFactory(resolution_due_at=DUE)
    query = _due_by_now_created_since(task.created_at - dt.timedelta(days=1))

    before = kept_queries.rows_at(FulfilmentTask, query, now=DUE - dt.timedelta(minutes=1))
    after = kept_queries.rows_at(FulfilmentTask, query, now=DUE)

    assert (before, after) == ([], [(task.pk,)])
    # Only the mark is replaced: a time of the query's own stays as it was written.
    later = _due_by_now_created_since(task.created_at + dt.timedelta(days=1))
    assert kept_queries.rows_at(FulfilmentTask, later, now=DUE) == []
