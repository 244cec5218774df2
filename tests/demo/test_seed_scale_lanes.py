"""`seed_scale`'s rollups side by side: a rollup that fails in its lane's process stops the
command with its traceback, and the other lane still finishes its own."""

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from demo.management.commands import seed_scale
from reporting.models import Snapshot
from services.models import ServiceRequest

NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)

pytestmark = [
    # seed_scale commits (COPY, then each lane's process its own): no test transaction.
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="seed_scale writes with PostgreSQL's COPY; the test database is "
        f"{connection.vendor}",
    ),
]


def test_a_rollup_failing_in_its_lane_stops_the_command_and_the_other_lane_finishes(
    monkeypatch,
):
    def broken_refresh(*, full: bool) -> None:
        raise RuntimeError("the journeys could not be read")

    monkeypatch.setattr(seed_scale, "journeys_refresh", broken_refresh)
    out = StringIO()

    with pytest.raises(CommandError, match="failed: journeys") as failure:
        call_command(
            "seed_scale",
            requests=200,
            people=300,
            seed=3,
            now=NOW,
            snapshot_weeks=0,
            stdout=out,
        )

    assert "the journeys could not be read" in str(failure.value)
    # The other lane ran every rollup of its own to the end.
    for name in ("reporting", "portfolio", "collaboration", "knowledge-sharing"):
        assert f"  {name} " in out.getvalue(), name
    # The lanes wrote in processes of their own, and committed.
    assert ServiceRequest.objects.count() == 200
    assert Snapshot.objects.exists()
