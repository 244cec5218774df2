"""Every write of reporting: report definitions are written by forms and the admin; these
are the writes the audience makes by reading and answering."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import F

from esm import clock
from reporting.models import Report, ReportView


def report_view_record(*, report: Report, viewer: AbstractBaseUser) -> None:
    """Note that `viewer` opened `report` now: one row per reader, counted, so the audit
    can tell which reports nobody reads. A conditional UPDATE first, so two tabs opening
    at once never lose a count; the INSERT of a first view may meet its twin, which then
    counts instead."""
    now = clock.now()
    updated = ReportView.objects.filter(report=report, viewer=viewer).update(
        last_viewed_at=now, count=F("count") + 1
    )
    if updated:
        return
    try:
        with transaction.atomic():
            ReportView.objects.create(
                report=report, viewer=viewer, first_viewed_at=now, last_viewed_at=now
            )
    except IntegrityError:
        ReportView.objects.filter(report=report, viewer=viewer).update(
            last_viewed_at=now, count=F("count") + 1
        )
