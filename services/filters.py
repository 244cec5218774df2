"""django-filter sets over querysets that are already narrowed to what the viewer may see.

They only ever narrow: entitlement and visibility come from the queryset handed in
(`CatalogItem.objects.entitled_to`, `ServiceRequest.objects.visible_to` via the selectors),
never from a filter a client could leave out. Search reads like the portal's search box.
"""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet

from services.models import CatalogItem, ServiceRequest, pk_from_reference

# Enough for any real query; caps the number of LIKE clauses a client can make us run.
SEARCH_WORDS_MAX = 8
# As on the "My requests" page: `closed` means finished, the closed state among others.
OPEN, CLOSED = "open", "closed"


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
