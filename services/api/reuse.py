"""/api/v1/catalog/items/<slug>/copies/: who reuses an item, and what it changed since."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.generics import ListAPIView

from services import reuse
from services.models import CatalogItem


class ChangeOutputSerializer(serializers.Serializer):
    part = serializers.CharField(help_text="form field or plan step")
    key = serializers.CharField()
    label = serializers.CharField()
    change = serializers.CharField(help_text="added, removed or changed")
    detail = serializers.CharField()


class CatalogItemCopyOutputSerializer(serializers.ModelSerializer):
    department = serializers.CharField(source="department.name")
    open_parts = serializers.IntegerField(
        source="open_part_count", help_text="Department-specific parts still to resolve."
    )
    origin_changes = serializers.SerializerMethodField()

    class Meta:
        model = CatalogItem
        fields = [
            "slug",
            "name",
            "department",
            "is_published",
            "copied_at",
            "open_parts",
            "origin_changes",
        ]

    @extend_schema_field(ChangeOutputSerializer(many=True))
    def get_origin_changes(self, copy: CatalogItem) -> list[dict[str, Any]]:
        """What the origin changed since this copy was made."""
        changes = reuse.snapshot_changes(copy.copied_snapshot, self.context["origin_now"])
        return ChangeOutputSerializer(changes, many=True).data


@extend_schema(tags=["catalog"])
class CatalogItemCopyListApi(ListAPIView):
    serializer_class = CatalogItemCopyOutputSerializer

    def _origin(self) -> CatalogItem:
        if not hasattr(self, "origin"):
            visible = reuse.items_visible_for_reuse(self.request.user)
            self.origin = get_object_or_404(visible, slug=self.kwargs["slug"])
        return self.origin

    def get_queryset(self) -> QuerySet[CatalogItem]:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user to ask about
            return CatalogItem.objects.none()
        return reuse.copies_of(self._origin(), self.request.user).annotate(
            open_part_count=Count("open_parts")
        )

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()
        if not getattr(self, "swagger_fake_view", False):
            # The origin is read once for the page, whatever the number of copies.
            context["origin_now"] = reuse.item_snapshot(self._origin())
        return context

    @extend_schema(
        summary="The copies of a catalog item in other departments, with what it changed since",
        responses={
            200: CatalogItemCopyOutputSerializer(many=True),
            404: OpenApiResponse(description="No such item, or not for you to see."),
        },
    )
    def get(self, *args: Any, **kwargs: Any) -> Any:
        return super().get(*args, **kwargs)
