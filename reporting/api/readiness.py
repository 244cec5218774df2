"""/api/v1/readiness/ and /api/v1/adoption/: the nine signs per department with their
evidence, and adoption month by month. The same rules as the pages: department managers,
executives and admins read them (`reporting.view_readiness`); a month of fewer than five
requests is held back from who is not staff of the department."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from esm.models import Department
from esm.permissions import User, can
from reporting.adoption import department_adoption
from reporting.readiness import department_readiness, signs_yes

TAGS = ["readiness and adoption"]
FORBIDDEN = OpenApiResponse(description="Not yours to read.")


class SignOutputSerializer(serializers.Serializer):
    key = serializers.CharField(source="sign.key")
    question = serializers.CharField(source="sign.question")
    answer = serializers.CharField(source="answer.answer", help_text='"yes", "partly", "no" or "".')
    evidence = serializers.CharField(source="answer.evidence")
    from_data = serializers.BooleanField(source="answer.from_data")


class AdoptionMonthOutputSerializer(serializers.Serializer):
    month = serializers.DateField()
    held_back = serializers.BooleanField()
    requests = serializers.SerializerMethodField()
    portal_share = serializers.FloatField(allow_null=True)
    on_behalf_share = serializers.FloatField(allow_null=True)
    email_share = serializers.FloatField(allow_null=True)
    other_share = serializers.FloatField(allow_null=True)
    automation_rate = serializers.FloatField(allow_null=True)
    articles_written = serializers.IntegerField()
    deflections = serializers.IntegerField()
    consults_answered = serializers.IntegerField()

    def get_requests(self, month: Any) -> int | None:
        return None if month.held_back else month.requests


class AdoptionOutputSerializer(serializers.Serializer):
    department = serializers.SerializerMethodField()
    services = serializers.IntegerField()
    catalog_coverage = serializers.FloatField(allow_null=True)
    months = AdoptionMonthOutputSerializer(many=True)

    def get_department(self, adoption: Any) -> str:
        return self.context["slugs"][adoption.department_id]


class ReadinessOutputSerializer(serializers.Serializer):
    department = serializers.CharField(source="department.slug")
    name = serializers.CharField(source="department.name")
    signs_yes = serializers.IntegerField()
    signs = SignOutputSerializer(many=True)


def _require_reader(user: User) -> None:
    if not can(user, "reporting.view_readiness"):
        raise PermissionDenied("Department managers, executives and admins read readiness.")


def _readiness_rows(departments: list[Department]) -> list[dict[str, Any]]:
    readiness = department_readiness(departments)
    return [
        {
            "department": department,
            "signs_yes": signs_yes(readiness[department.pk]),
            "signs": readiness[department.pk],
        }
        for department in departments
    ]


class _Departments(ListAPIView):
    filter_backends = []

    def get_queryset(self) -> QuerySet[Department]:
        return Department.objects.order_by("name")


@extend_schema(tags=TAGS, responses={200: ReadinessOutputSerializer(many=True), 403: FORBIDDEN})
class ReadinessListApi(_Departments):
    """Every department with its nine signs: answer and evidence."""

    serializer_class = ReadinessOutputSerializer

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        _require_reader(request.user)
        page = list(self.paginate_queryset(self.get_queryset()) or [])
        return self.get_paginated_response(
            ReadinessOutputSerializer(_readiness_rows(page), many=True).data
        )


@extend_schema(tags=TAGS)
class ReadinessDetailApi(APIView):
    """One department: its nine signs and its adoption by month."""

    @extend_schema(responses={200: ReadinessOutputSerializer, 403: FORBIDDEN})
    def get(self, request: Request, slug: str) -> Response:
        _require_reader(request.user)
        department = get_object_or_404(Department, slug=slug)
        data = ReadinessOutputSerializer(_readiness_rows([department])[0]).data
        adoption = department_adoption(department_ids=[department.pk], viewer=request.user)
        data["adoption"] = AdoptionOutputSerializer(
            adoption[department.pk], context={"slugs": {department.pk: department.slug}}
        ).data
        return Response(data)


@extend_schema(tags=TAGS, responses={200: AdoptionOutputSerializer(many=True), 403: FORBIDDEN})
class AdoptionListApi(_Departments):
    """Every department's adoption over the last six months, oldest month first."""

    serializer_class = AdoptionOutputSerializer

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        _require_reader(request.user)
        page = list(self.paginate_queryset(self.get_queryset()) or [])
        adoption = department_adoption(department_ids=[d.pk for d in page], viewer=request.user)
        return self.get_paginated_response(
            AdoptionOutputSerializer(
                [adoption[d.pk] for d in page],
                many=True,
                context={"slugs": {d.pk: d.slug for d in page}},
            ).data
        )
