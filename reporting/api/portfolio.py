"""/api/v1/portfolio/: every service's portfolio entry with the log's figures over the
portfolio's window, one page of services at a time; /api/v1/portfolio/<slug>/ one service
with its staff hours by department. The same rule as the page
(`reporting.view_portfolio`), and the same small-group rule: a held-back figure is null
with its `*_held_back` flag set."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from esm.permissions import User, can
from reporting.portfolio import portfolio_services, portfolio_window, service_portfolio
from services.models import Service

TAGS = ["service portfolio"]
FORBIDDEN = OpenApiResponse(description="Not yours to read.")


class ClaimOutputSerializer(serializers.Serializer):
    factor = serializers.CharField()
    claim = serializers.CharField()


class HoursOutputSerializer(serializers.Serializer):
    department = serializers.CharField(source="department.slug")
    hours = serializers.FloatField()
    hourly_rate = serializers.DecimalField(
        source="rate", max_digits=8, decimal_places=2, allow_null=True
    )
    cost = serializers.FloatField(allow_null=True)


class PortfolioEntryOutputSerializer(serializers.Serializer):
    service = serializers.CharField(source="service.slug")
    name = serializers.CharField(source="service.name")
    outcome = serializers.CharField(source="service.outcome")
    department = serializers.CharField(source="service.department.slug")
    owner = serializers.CharField(source="service.owner.username", allow_null=True, default=None)
    lifecycle = serializers.CharField(source="service.status")
    activities_before = serializers.CharField(source="service.activities_before")
    activities_after = serializers.CharField(source="service.activities_after")
    decision_pending = serializers.CharField(
        source="service.decision_pending", help_text='"invest", "change", "retire" or "".'
    )
    decision_note = serializers.CharField(source="service.decision_note")
    value_streams = serializers.SerializerMethodField()
    value_claims = ClaimOutputSerializer(source="claims", many=True)
    window_start = serializers.DateTimeField(source="window.start")
    window_end = serializers.DateTimeField(source="window.end")
    as_of = serializers.DateTimeField(
        allow_null=True,
        help_text="When the daily rollup the figures come from was last refreshed (hourly); "
        "null: not yet computed.",
    )
    demand_per_month = serializers.FloatField(allow_null=True)
    demand_trend = serializers.FloatField(
        source="trend", allow_null=True, help_text="The last four weeks on the four before."
    )
    demand_held_back = serializers.BooleanField()
    fixed_yearly_cost = serializers.DecimalField(
        source="service.fixed_yearly_cost", max_digits=12, decimal_places=2
    )
    staff_hours = serializers.FloatField(allow_null=True)
    yearly_staff_cost = serializers.FloatField(allow_null=True)
    yearly_cost = serializers.FloatField(allow_null=True)
    cost_held_back = serializers.BooleanField()
    yearly_hours_saved = serializers.FloatField(allow_null=True)
    yearly_savings = serializers.FloatField(allow_null=True)
    attainment = serializers.FloatField(allow_null=True)
    attainment_held_back = serializers.BooleanField()
    rating = serializers.FloatField(allow_null=True)
    ratings = serializers.SerializerMethodField()
    rating_held_back = serializers.BooleanField()
    value_index = serializers.FloatField(allow_null=True)
    last_reviewed_on = serializers.DateField(
        source="last_review.reviewed_on", allow_null=True, default=None
    )
    next_review_on = serializers.DateField()
    review_overdue = serializers.BooleanField()

    def get_value_streams(self, entry: Any) -> list[str]:
        return [stream.slug for stream in entry.streams]

    def get_ratings(self, entry: Any) -> int | None:
        return None if entry.rating_held_back else entry.ratings


class PortfolioServiceOutputSerializer(PortfolioEntryOutputSerializer):
    hours = HoursOutputSerializer(many=True, allow_null=True, source="shown_hours")


def _require_reader(user: User) -> None:
    if not can(user, "reporting.view_portfolio"):
        raise PermissionDenied(
            "Department managers, executives and services' owners read the portfolio."
        )


@extend_schema(
    tags=TAGS, responses={200: PortfolioEntryOutputSerializer(many=True), 403: FORBIDDEN}
)
class PortfolioListApi(ListAPIView):
    """Every service, live first, then the pipeline, then the retired, each by name."""

    serializer_class = PortfolioEntryOutputSerializer
    filter_backends = []

    def get_queryset(self) -> QuerySet[Service]:
        return portfolio_services()

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        _require_reader(request.user)
        page = list(self.paginate_queryset(self.get_queryset()) or [])
        entries = service_portfolio(services=page, viewer=request.user, window=portfolio_window())
        return self.get_paginated_response(PortfolioEntryOutputSerializer(entries, many=True).data)


@extend_schema(tags=TAGS)
class PortfolioServiceApi(APIView):
    """One service's entry, with its staff hours and their cost by department."""

    @extend_schema(responses={200: PortfolioServiceOutputSerializer, 403: FORBIDDEN})
    def get(self, request: Request, slug: str) -> Response:
        _require_reader(request.user)
        # The service is read with its figures.
        entries = service_portfolio(
            services=portfolio_services().filter(slug=slug), viewer=request.user
        )
        if not entries:
            raise Http404
        [entry] = entries
        return Response(PortfolioServiceOutputSerializer(entry).data)
