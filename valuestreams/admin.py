from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from services.models import PlanStep
from valuestreams.models import HandoffTarget, Stage, StageStep, ValueStream


class StageInline(admin.TabularInline):
    model = Stage
    extra = 0
    fields = ["name", "department", "parallel_group", "position", "expected_process_minutes"]


class HandoffTargetInline(admin.TabularInline):
    model = HandoffTarget
    fk_name = "stream"
    extra = 0
    fields = ["from_stage", "to_stage", "pickup_minutes"]

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        # Offer only this stream's stages.
        if db_field.name in ("from_stage", "to_stage"):
            stream_id = request.resolver_match.kwargs.get("object_id")
            kwargs["queryset"] = Stage.objects.filter(stream_id=stream_id).select_related("stream")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(ValueStream)
class ValueStreamAdmin(admin.ModelAdmin):
    list_display = ["name", "outcome", "owner", "status"]
    list_filter = ["status"]
    search_fields = ["name", "outcome", "customer"]
    prepopulated_fields = {"slug": ["name"]}
    filter_horizontal = ["items"]
    raw_id_fields = ["owner"]
    inlines = [StageInline, HandoffTargetInline]


class StageStepInline(admin.TabularInline):
    model = StageStep
    extra = 0

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        # Offer only steps of the plans of the stream's items.
        if db_field.name == "plan_step":
            stage_id = request.resolver_match.kwargs.get("object_id")
            kwargs["queryset"] = PlanStep.objects.filter(
                item__value_streams__stages=stage_id
            ).select_related("item")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Stage)
class StageAdmin(admin.ModelAdmin):
    list_display = ["name", "stream", "department", "parallel_group", "position"]
    list_filter = ["stream"]
    search_fields = ["name", "stream__name"]
    list_select_related = ["stream", "department"]
    inlines = [StageStepInline]
