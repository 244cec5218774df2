"""/api/v1/knowledge-sharing/ and /api/v1/knowledge-sharing/people/: each department's
knowledge sharing and its people's, over the last RECENT_DAYS days
(`services.knowledge_sharing`). The same rules as the pages: a department's staff and
managers, executives and admins (`services.view_knowledge_sharing`)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from esm.models import Department
from esm.permissions import can
from services import knowledge_sharing

TAGS = ["knowledge sharing"]
FORBIDDEN = OpenApiResponse(description="Not yours to read.")
DEPARTMENT = OpenApiParameter(
    "department",
    OpenApiTypes.STR,
    OpenApiParameter.QUERY,
    description="A department's slug: only that department (403 when not yours to read).",
)


class SharingOutputSerializer(serializers.Serializer):
    since = serializers.DateTimeField()
    until = serializers.DateTimeField()
    articles_written = serializers.IntegerField(
        source="sharing.articles_written", help_text="Published articles created in the period."
    )
    deflections = serializers.IntegerField(
        source="sharing.deflections",
        help_text="Suggested reads of those articles in the period not followed by a request.",
    )
    consults_answered = serializers.IntegerField(
        source="sharing.consults_answered",
        help_text="Questions from other departments answered in the period.",
    )
    colleagues_helped = serializers.IntegerField(
        source="sharing.colleagues_helped",
        help_text="Distinct people outside the department (for a person: sharing none of "
        "their departments) deflected by the articles or whose consults were answered.",
    )


class DepartmentSharingOutputSerializer(SharingOutputSerializer):
    department = serializers.CharField(source="department.slug")
    name = serializers.CharField(source="department.name")


class PersonSharingOutputSerializer(SharingOutputSerializer):
    username = serializers.CharField(source="person.username")
    name = serializers.SerializerMethodField()

    def get_name(self, row: dict[str, Any]) -> str:
        return row["person"].get_full_name() or row["person"].username


class _Sharing(ListAPIView):
    filter_backends = []

    def departments(self) -> QuerySet[Department]:
        """The departments asked for: those the person may read, or the one filtered on."""
        user = self.request.user
        if not can(user, "services.browse_knowledge_sharing"):
            raise PermissionDenied("Departments' staff, executives and admins read this.")
        slug = self.request.query_params.get("department")
        if not slug:
            return knowledge_sharing.knowledge_sharing_departments_visible_to(user)
        department = get_object_or_404(Department, slug=slug)
        if not can(user, "services.view_knowledge_sharing", department):
            raise PermissionDenied("Not a department whose knowledge sharing you read.")
        return Department.objects.filter(pk=department.pk)


@extend_schema(
    tags=TAGS,
    parameters=[DEPARTMENT],
    responses={200: DepartmentSharingOutputSerializer(many=True), 403: FORBIDDEN},
)
class KnowledgeSharingListApi(_Sharing):
    """Each department's knowledge sharing over the last 90 days, by name."""

    serializer_class = DepartmentSharingOutputSerializer

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = list(self.paginate_queryset(self.departments()) or [])
        since, until = knowledge_sharing.recent()
        sharing = knowledge_sharing.knowledge_sharing_by_department(
            department_ids=[department.pk for department in page], since=since, until=until
        )
        rows = [
            {"department": d, "sharing": sharing[d.pk], "since": since, "until": until}
            for d in page
        ]
        return self.get_paginated_response(DepartmentSharingOutputSerializer(rows, many=True).data)


@extend_schema(
    tags=TAGS,
    parameters=[DEPARTMENT],
    responses={200: PersonSharingOutputSerializer(many=True), 403: FORBIDDEN},
)
class KnowledgeSharingPeopleApi(_Sharing):
    """The staff of the departments with their knowledge sharing over the last 90 days,
    the biggest contribution first (colleagues helped in other departments, then
    deflections, articles written, consults answered)."""

    serializer_class = PersonSharingOutputSerializer

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        people = knowledge_sharing.knowledge_sharing_people(
            department_ids=self.departments().values("pk")
        )
        since, until = knowledge_sharing.recent()
        ranking = knowledge_sharing.knowledge_sharing_ranking(
            people=people, since=since, until=until
        )
        page = self.paginate_queryset(ranking) or []
        rows = [
            {"person": c.person, "sharing": c.sharing, "since": since, "until": until} for c in page
        ]
        return self.get_paginated_response(PersonSharingOutputSerializer(rows, many=True).data)
