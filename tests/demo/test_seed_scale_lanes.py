"""`seed_scale`'s rollups side by side: a rollup that fails in one of the processes stops
the command with its traceback, once every other rollup has run to the end."""

import datetime as dt
import os
import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from demo.management.commands import seed_scale
from journeys.models import JourneyMap
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


def _seed(out: StringIO) -> None:
    call_command(
        "seed_scale", requests=200, people=300, seed=3, now=NOW, snapshot_weeks=0, stdout=out
    )


def test_a_rollup_failing_stops_the_command_once_the_others_finish(monkeypatch):
    def broken_refresh(*, journey, full: bool) -> None:
        raise RuntimeError(f"{journey.name} could not be read")

    monkeypatch.setattr(seed_scale, "journey_refresh", broken_refresh)
    out = StringIO()

    with pytest.raises(CommandError, match="failed: journeys") as failure:
        _seed(out)

    assert "could not be read" in str(failure.value)
    assert "  journeys failed" in out.getvalue()
    # The processes took every other rollup, and ran each to the end.
    for name in ("reporting", "portfolio", "collaboration", "knowledge-sharing"):
        assert re.search(rf"^  {name} [0-9.]+ s$", out.getvalue(), re.MULTILINE), name
    # The processes wrote with connections of their own, and committed.
    assert ServiceRequest.objects.count() == 200
    assert Snapshot.objects.exists()


def test_a_process_that_dies_during_a_rollup_names_it_and_the_other_takes_the_rest(monkeypatch):
    refresh = seed_scale.journey_refresh

    def dying_refresh(*, journey, full: bool) -> None:
        if journey.pk == JourneyMap.objects.order_by("pk").values_list("pk", flat=True)[0]:
            os._exit(3)  # as a process killed mid-part: no traceback, no word back
        refresh(journey=journey, full=full)

    monkeypatch.setattr(seed_scale, "journey_refresh", dying_refresh)
    out = StringIO()

    with pytest.raises(CommandError, match="journeys: its process ended during it, exit code 3"):
        _seed(out)

    assert "  journeys failed" in out.getvalue()
    for name in ("reporting", "portfolio", "collaboration", "knowledge-sharing"):
        assert re.search(rf"^  {name} [0-9.]+ s$", out.getvalue(), re.MULTILINE), name
