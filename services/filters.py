"""django-filter sets over querysets that are already narrowed to what the viewer may see.

They only ever narrow: entitlement and visibility come from the queryset handed in
(`CatalogItem.objects.entitled_to`, `ServiceRequest.objects.visible_to` via the selectors),
never from a filter a client could leave out. Search reads like the portal's search box.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import django_filters
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet

from esm import kept_queries
from esm.form_renderer import LongSelect
from services.models import (
    END_TO_END_URGENCY,
    CatalogItem,
    ClockState,
    FulfilmentTask,
    Priority,
    Queue,
    ServiceRequest,
    pk_from_reference,
)
from services.models.tasks import FulfilmentTaskQuerySet

User = get_user_model()

# Enough for any real query; caps the number of LIKE clauses a client can make us run.
SEARCH_WORDS_MAX = 8
# As on the "My requests" page: `closed` means finished, the closed state among others.
OPEN, CLOSED = "open", "closed"
# Assignee choices of the queue page besides a person's id.
MINE, UNASSIGNED = "me", "none"


class CatalogItemFilter(django_filters.FilterSet):
    department = django_filters.CharFilter(
        field_name="department__slug", help_text="Slug of the fulfilling department."
    )
    category = django_filters.CharFilter(
        field_name="service__category__slug", help_text="Slug of the service's category."
    )
    search = django_filters.CharFilter(
        method="filter_search",
        help_text="Words that must all appear in the item's name, summary, description "
        "or service name.",
    )

    class Meta:
        model = CatalogItem
        fields = ["department", "category", "search"]

    def filter_search(
        self, queryset: QuerySet[CatalogItem], name: str, value: str
    ) -> QuerySet[CatalogItem]:
        for word in value.split()[:SEARCH_WORDS_MAX]:
            queryset = queryset.filter(
                Q(name__icontains=word)
                | Q(summary__icontains=word)
                | Q(description__icontains=word)
                | Q(service__name__icontains=word)
            )
        return queryset


class ServiceRequestFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(
        method="filter_state",
        choices=[
            (OPEN, "Open: not resolved yet"),
            (CLOSED, "Finished: resolved, closed, rejected or cancelled"),
            *[choice for choice in ServiceRequest.State.choices if choice[0] != CLOSED],
        ],
        help_text="`open`, `closed` (any finished state), or one exact state.",
    )
    search = django_filters.CharFilter(
        method="filter_search",
        help_text="A reference (REQ-000123), or text in the subject or the item's name.",
    )

    class Meta:
        model = ServiceRequest
        fields = ["state", "search"]

    def filter_state(
        self, queryset: QuerySet[ServiceRequest], name: str, value: str
    ) -> QuerySet[ServiceRequest]:
        if value == OPEN:
            return queryset.exclude(state__in=ServiceRequest.FINISHED_STATES)
        if value == CLOSED:
            return queryset.filter(state__in=ServiceRequest.FINISHED_STATES)
        return queryset.filter(state=value)

    def filter_search(
        self, queryset: QuerySet[ServiceRequest], name: str, value: str
    ) -> QuerySet[ServiceRequest]:
        value = value.strip()
        pk = pk_from_reference(value)
        if pk is not None:
            return queryset.filter(pk=pk)
        return queryset.filter(Q(subject__icontains=value) | Q(catalog_item__name__icontains=value))


# What a queue's rows can read: open tasks of open requests are never met or missed.
OPEN_CLOCK_STATES = [
    (state, label)
    for state, label in ClockState.choices
    if state not in (ClockState.MET, ClockState.MISSED)
]
# The queue's sort orders: by the task's department target, or by the request's
# end-to-end target (the employee's whole wait).
BY_DEPARTMENT_TARGET, BY_END_TO_END = "department_target", "end_to_end"


class ClockStateFilter(django_filters.ChoiceFilter):
    """Filters on a clock's state (`sla_state` or `end_to_end_state`, named by `field_name`,
    annotated by `FulfilmentTaskQuerySet.with_clock` when the filter is used)."""

    def filter(self, queryset: FulfilmentTaskQuerySet, value: str) -> FulfilmentTaskQuerySet:
        if not value:
            return queryset
        return queryset.with_clock(self.field_name).filter(**{self.field_name: value})


class UrgencyOrderFilter(django_filters.ChoiceFilter):
    """Most urgent first, by the clock chosen; the department target when none is."""

    def filter(self, queryset: FulfilmentTaskQuerySet, value: str) -> FulfilmentTaskQuerySet:
        if value == BY_END_TO_END:
            return queryset.with_clock("end_to_end_rank", "end_to_end_due").order_by(
                *END_TO_END_URGENCY
            )
        return queryset.by_urgency()


def queue_filtered(params: Mapping[str, Any]) -> bool:
    """Whether the query `params` narrow a queue's tasks (a page number aside): unfiltered,
    a page of them takes its count from the queue's open tasks, read with the queue."""
    return any(value for key, value in params.items() if key != "page")


class QueueTaskFilter(django_filters.FilterSet):
    """The queue page's filters; `queue` narrows the assignee and item choices to its own."""

    state = django_filters.ChoiceFilter(
        choices=[
            (state, label)
            for state, label in FulfilmentTask.State.choices
            if state in FulfilmentTask.OPEN_STATES
        ],
        empty_label="Any state",
    )
    assignee = django_filters.ChoiceFilter(
        method="filter_assignee", label="Assignee", empty_label="Anyone", widget=LongSelect
    )
    # Choices by (id, name), set per queue: the page draws the select on every visit, and
    # reading the department's items as whole rows was most of it.
    catalog_item = django_filters.ChoiceFilter(
        field_name="service_request__catalog_item",
        label="Item",
        empty_label="Any item",
    )
    priority = django_filters.ChoiceFilter(choices=Priority.choices, empty_label="Any priority")
    sla = ClockStateFilter(
        field_name="sla_state",
        choices=OPEN_CLOCK_STATES,
        label="Department target",
        empty_label="Any",
    )
    end_to_end = ClockStateFilter(
        field_name="end_to_end_state",
        choices=OPEN_CLOCK_STATES,
        label="End-to-end target",
        empty_label="Any",
    )
    order = UrgencyOrderFilter(
        choices=[
            (BY_DEPARTMENT_TARGET, "Department target"),
            (BY_END_TO_END, "End-to-end target"),
        ],
        label="Most urgent by",
        empty_label=None,
    )
    search = django_filters.CharFilter(method="filter_search", label="Search")

    class Meta:
        model = FulfilmentTask
        fields = [
            "state",
            "assignee",
            "catalog_item",
            "priority",
            "sla",
            "end_to_end",
            "order",
            "search",
        ]

    def __init__(
        self,
        *args: Any,
        queue: Queue,
        viewer: Any,
        agents: Callable[[], Iterable[tuple[int, str]]],
        **kwargs: Any,
    ) -> None:
        """`agents()`: (id, name) of the queue department's people who may hold its tasks,
        asked only when the assignee filter is drawn or given a value (the queue page lists
        them beside the filters too, so it reads them once; the API reads them only to
        check a filter value)."""
        super().__init__(*args, **kwargs)
        self.viewer = viewer
        self.filters["catalog_item"].extra["choices"] = lambda: kept_queries.rows_at(
            CatalogItem,
            _item_names_sql(kept_queries.vendor_of(CatalogItem), queue.department_id),
        )
        self.filters["assignee"].extra["choices"] = lambda: [
            (MINE, "Me"),
            (UNASSIGNED, "Nobody (unclaimed)"),
            *[(str(pk), name) for pk, name in agents()],
        ]

    def filter_queryset(self, queryset: FulfilmentTaskQuerySet) -> FulfilmentTaskQuerySet:
        # An invalid order is ignored like any invalid filter: the tasks stay most urgent
        # first by their department target.
        if "order" not in self.form.cleaned_data:
            queryset = queryset.by_urgency()
        return super().filter_queryset(queryset)

    def filter_assignee(
        self, queryset: QuerySet[FulfilmentTask], name: str, value: str
    ) -> QuerySet[FulfilmentTask]:
        if value == MINE:
            return queryset.filter(assignee=self.viewer)
        if value == UNASSIGNED:
            return queryset.filter(assignee__isnull=True)
        return queryset.filter(assignee_id=value)

    def filter_search(
        self, queryset: QuerySet[FulfilmentTask], name: str, value: str
    ) -> QuerySet[FulfilmentTask]:
        value = value.strip()
        pk = pk_from_reference(value)
        if pk is not None:
            return queryset.filter(service_request_id=pk)
        for word in value.split()[:SEARCH_WORDS_MAX]:
            # A hidden case (`case_hidden`, a consult about a confidential case) is found by
            # its title only: a match on its subject or requester would tell what it is.
            queryset = queryset.filter(
                Q(title__icontains=word)
                | Q(case_hidden=False)
                & (
                    Q(service_request__subject__icontains=word)
                    | Q(service_request__requester__first_name__icontains=word)
                    | Q(service_request__requester__last_name__icontains=word)
                    | Q(service_request__requester__username__icontains=word)
                )
            )
        return queryset


@functools.lru_cache(maxsize=64)
def _item_names_sql(vendor: str, department_id: int) -> kept_queries.SqlWithParams:
    """The (id, name) of a department's catalog items, in their order, as the queue's item
    filter offers them: built once a process for a department, drawn on every queue page."""
    items = CatalogItem.objects.filter(department_id=department_id).values_list("pk", "name")
    return items.query.sql_with_params()
