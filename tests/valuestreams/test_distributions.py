"""Nearest-rank percentiles in SQL: the grouped read PostgreSQL uses gives exactly the ranks
the window-function read gives elsewhere, worked out by hand on a small case and compared on
groups of every size from 1 to 40 (nulls among them)."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.db import connection

from esm import clock
from tests.services.factories import ServiceRequestFactory
from tests.valuestreams.factories import ValueStreamFactory
from valuestreams.models import CaseFlow
from valuestreams.selectors.flow import _ranked_distributions, distributions

pytestmark = pytest.mark.django_db

AT = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)


def _flows(stream, leads, *, variant="a"):
    CaseFlow.objects.bulk_create(
        CaseFlow(
            stream=stream,
            service_request=ServiceRequestFactory(),
            reference=f"{variant}-{index}",
            submitted_at=AT,
            resolved_at=AT,
            lead_minutes=lead,
            variant=variant,
            refreshed_at=clock.now(),
        )
        for index, lead in enumerate(leads)
    )


def test_percentiles_are_the_values_at_rank_ceil_p_n_over_100():
    """Twenty leads of 1 to 20 hours (and a case with none): p50 is the 10th, p85 the 17th,
    p95 the 19th; the mean 10.5 h."""
    stream = ValueStreamFactory()
    _flows(stream, [60 * hours for hours in range(20, 0, -1)] + [None])

    found = distributions(CaseFlow.objects.filter(stream=stream), "lead_minutes")

    assert found[()].count == 20
    assert (found[()].p50, found[()].p85, found[()].p95) == (10, 17, 19)
    assert found[()].mean == pytest.approx(10.5)


def test_no_value_is_no_distribution():
    stream = ValueStreamFactory()
    _flows(stream, [None])

    assert distributions(CaseFlow.objects.filter(stream=stream), "lead_minutes") == {}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="one read per vendor elsewhere")
def test_grouped_read_ranks_as_the_window_read_does_for_every_group_size():
    stream = ValueStreamFactory()
    shuffled = random.Random(7)
    for size in range(1, 41):
        leads = [shuffled.randint(1, 5000) for _ in range(size)] + [None] * (size % 3)
        _flows(stream, leads, variant=f"v{size}")
    rows = CaseFlow.objects.filter(stream=stream)

    grouped = distributions(rows, "lead_minutes", by=["variant"])
    ranked = _ranked_distributions(rows, "lead_minutes", by=["variant"], scale=60)

    assert len(grouped) == 40
    assert grouped.keys() == ranked.keys()
    for key, distribution in grouped.items():
        assert distribution.count == ranked[key].count
        assert (distribution.p50, distribution.p85, distribution.p95) == (
            ranked[key].p50,
            ranked[key].p85,
            ranked[key].p95,
        )
        assert distribution.mean == pytest.approx(ranked[key].mean)
