"""Adoption of service management per department, month by month, from the same log as
everything else:

- **channels**: of the requests submitted to the department in the month, the share raised
  by the requester through the portal's form (`form_start` set), on someone's behalf
  (`raised_by` is not the requester), by e-mail to one of the portal's inbound addresses
  (an `InboundMessage` raised it) and by any other way in (the API, integrations: no form
  start, no message).
- **automation rate**: of the plan steps of the department finished in the month, the
  share done by automation alone (as the `automation_rate` measure counts).
- **knowledge**: published articles of the department written in the month (as knowledge
  sharing counts them: `services.knowledge_sharing.articles_written`), and the deflections
  its articles earned (`services.selectors.deflections`, judged by the month they were
  read in).
- **consults answered**: questions other departments asked it, answered in the month.
- **catalog coverage** (now, not by month: publishing keeps no history): of its live
  services, those with at least one published catalog item.

Each figure is one grouped query over every department and month asked for, so a page
costs the same whatever the history holds. Request counts are aggregates: a month of fewer
than SMALL_GROUP requests is held back from who is not staff of the department.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet
from django.db.models.functions import TruncMonth
from django.utils import timezone

from esm import clock
from esm.permissions import User, staff_department_ids
from reporting.measures import AUTOMATED_ALONE, steps_finished
from services.knowledge_sharing import articles_written
from services.models import (
    CatalogItem,
    Consult,
    InboundMessage,
    Service,
    ServiceRequest,
)
from services.selectors import deflections
from valuestreams.metrics import SMALL_GROUP

MONTHS = 6
_ON_BEHALF = ~Q(raised_by=F("requester"))
# Raised from a message to an inbound address (never through a form: the two cannot meet).
_BY_EMAIL = InboundMessage.objects.filter(
    service_request=OuterRef("pk"), status=InboundMessage.Status.REQUEST_RAISED
)


@dataclass
class AdoptionMonth:
    month: dt.date
    requests: int = 0
    portal: int = 0
    on_behalf: int = 0
    email: int = 0
    other: int = 0
    steps: int = 0
    automated: int = 0
    articles_written: int = 0
    deflections: int = 0
    consults_answered: int = 0
    held_back: bool = False
    """Fewer than SMALL_GROUP requests, read by someone outside the department: the
    request figures are not shown."""

    def _share(self, part: int) -> float | None:
        if self.held_back or not self.requests:
            return None
        return part / self.requests

    @property
    def portal_share(self) -> float | None:
        return self._share(self.portal)

    @property
    def on_behalf_share(self) -> float | None:
        return self._share(self.on_behalf)

    @property
    def email_share(self) -> float | None:
        return self._share(self.email)

    @property
    def other_share(self) -> float | None:
        return self._share(self.other)

    @property
    def automation_rate(self) -> float | None:
        return self.automated / self.steps if self.steps else None


@dataclass
class Adoption:
    department_id: int
    services: int = 0
    covered: int = 0
    months: list[AdoptionMonth] = field(default_factory=list)

    @property
    def catalog_coverage(self) -> float | None:
        return self.covered / self.services if self.services else None

    @property
    def latest(self) -> AdoptionMonth | None:
        return self.months[-1] if self.months else None


def month_starts(count: int = MONTHS) -> list[dt.date]:
    """The first days of the last `count` months, oldest first, ending with this one."""
    today = timezone.localdate(clock.now())
    year, month = today.year, today.month
    starts = []
    for _ in range(count):
        starts.append(dt.date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return starts[::-1]


def _moment(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=timezone.get_current_timezone())


def _by_month(rows: QuerySet, department: str) -> Iterable[tuple[int, dt.date, dict]]:
    for row in rows:
        month = row["month"]
        yield row[department], month.date() if isinstance(month, dt.datetime) else month, row


def department_adoption(
    *, department_ids: list[int], viewer: User, months: int = MONTHS
) -> dict[int, Adoption]:
    """Adoption of each department over the last `months` months (oldest first)."""
    starts = month_starts(months)
    since = _moment(starts[0])
    adoption = {
        pk: Adoption(pk, months=[AdoptionMonth(start) for start in starts]) for pk in department_ids
    }
    index = {start: position for position, start in enumerate(starts)}

    def cell(pk: int, month: dt.date) -> AdoptionMonth | None:
        if pk not in adoption or month not in index:
            return None
        return adoption[pk].months[index[month]]

    requests = (
        ServiceRequest.objects.filter(department__in=department_ids, submitted_at__gte=since)
        .annotate(month=TruncMonth("submitted_at"))
        .values("department", "month")
        .annotate(
            whole=Count("pk"),
            on_behalf=Count("pk", filter=_ON_BEHALF),
            portal=Count("pk", filter=~_ON_BEHALF & Q(form_start__isnull=False)),
            email=Count("pk", filter=~_ON_BEHALF & Q(Exists(_BY_EMAIL))),
        )
    )
    for pk, month, row in _by_month(requests, "department"):
        if (found := cell(pk, month)) is not None:
            found.requests, found.on_behalf, found.portal, found.email = (
                row["whole"],
                row["on_behalf"],
                row["portal"],
                row["email"],
            )
            found.other = row["whole"] - row["on_behalf"] - row["portal"] - row["email"]

    steps = (
        steps_finished(since=since)
        .filter(department__in=department_ids)
        .annotate(month=TruncMonth("finished_at"))
        .values("department", "month")
        .annotate(whole=Count("pk"), automated=Count("pk", filter=AUTOMATED_ALONE))
    )
    for pk, month, row in _by_month(steps, "department"):
        if (found := cell(pk, month)) is not None:
            found.steps, found.automated = row["whole"], row["automated"]

    written = (
        articles_written(since=since)
        .filter(department__in=department_ids)
        .annotate(month=TruncMonth("created_at"))
        .values("department", "month")
        .annotate(count=Count("pk"))
    )
    for pk, month, row in _by_month(written, "department"):
        if (found := cell(pk, month)) is not None:
            found.articles_written = row["count"]

    deflected = (
        deflections(since=since)
        .filter(article__department__in=department_ids)
        .annotate(month=TruncMonth("viewed_at"))
        .values("article__department", "month")
        .annotate(count=Count("pk"))
    )
    for pk, month, row in _by_month(deflected, "article__department"):
        if (found := cell(pk, month)) is not None:
            found.deflections = row["count"]

    answered = (
        Consult.objects.filter(
            to_department__in=department_ids,
            state=Consult.State.ANSWERED,
            answered_at__gte=since,
        )
        .annotate(month=TruncMonth("answered_at"))
        .values("to_department", "month")
        .annotate(count=Count("pk"))
    )
    for pk, month, row in _by_month(answered, "to_department"):
        if (found := cell(pk, month)) is not None:
            found.consults_answered = row["count"]

    published = CatalogItem.objects.filter(service=OuterRef("pk"), is_published=True)
    coverage = (
        Service.objects.filter(department__in=department_ids, status=Service.Status.LIVE)
        .values("department")
        .annotate(whole=Count("pk"), covered=Count("pk", filter=Q(Exists(published))))
    )
    for row in coverage:
        adoption[row["department"]].services = row["whole"]
        adoption[row["department"]].covered = row["covered"]

    staff_of = staff_department_ids(viewer)
    for pk, department in adoption.items():
        if pk in staff_of:
            continue
        for month in department.months:
            month.held_back = 0 < month.requests < SMALL_GROUP
    return adoption
