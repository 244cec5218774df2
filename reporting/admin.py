"""Reporting's configuration in the admin: the same definitions the portal's pages shape,
held to the same rules (the pages' forms), plus oversight of what readers did with them.

Report views are evidence for the audit (who read what, when): read here, never written.
"""

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.contrib.auth import get_user_model
from django.http import HttpRequest

from reporting.forms import AudienceForm, MeasureForm, ObjectiveForm
from reporting.models import (
    Audience,
    CostRate,
    Measure,
    Objective,
    ReadinessAssessment,
    Report,
    ReportFeedback,
    ReportMeasure,
    ReportView,
    RolloutStep,
    ServiceReview,
    Subscription,
    TribalGroup,
)
from reporting.selectors import measure_keys_used


class ReportMeasureInline(admin.TabularInline):
    model = ReportMeasure
    extra = 0
    autocomplete_fields = ["measure"]


class AudienceAdminForm(AudienceForm):
    """The portal's audience rules, with the admin's picker for people."""

    people = forms.ModelMultipleChoiceField(
        queryset=get_user_model().objects.filter(is_active=True).order_by("username"),
        required=False,
        widget=FilteredSelectMultiple("people", is_stacked=False),
        help_text="Only for an audience of chosen people.",
    )


@admin.register(Audience)
class AudienceAdmin(admin.ModelAdmin):
    form = AudienceAdminForm
    list_display = ["name", "members", "cadence", "owner"]
    list_select_related = ["owner"]
    prepopulated_fields = {"slug": ["name"]}
    fields = [
        "name",
        "slug",
        "members",
        "departments",
        "people",
        "wants_to_know",
        "why",
        "acts_by",
        "cadence",
        "owner",
    ]
    autocomplete_fields = ["owner"]


@admin.register(Objective)
class ObjectiveAdmin(admin.ModelAdmin):
    form = ObjectiveForm
    list_display = ["title", "level", "parent", "owner"]
    list_filter = ["level"]
    list_select_related = ["parent", "owner"]
    fields = ["level", "parent", "title", "description", "owner"]
    autocomplete_fields = ["owner"]


class MeasureAdminForm(MeasureForm):
    """The portal's measure rules; the functions other measures use are not offered."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, used_keys=measure_keys_used(), **kwargs)


@admin.register(Measure)
class MeasureAdmin(admin.ModelAdmin):
    form = MeasureAdminForm
    list_display = [
        "name",
        "key",
        "kind",
        "unit",
        "target",
        "act_at",
        "decision_maker",
        "source_controlled",
        "owner",
    ]
    list_filter = ["kind", "source_controlled"]
    list_select_related = ["owner"]
    search_fields = ["name", "key"]
    autocomplete_fields = ["owner"]
    fields = [*MeasureForm.field_order, "owner"]


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    list_display = ["name", "audience", "cadence", "owner"]
    list_select_related = ["audience", "owner"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["owner"]
    inlines = [ReportMeasureInline]


@admin.register(ServiceReview)
class ServiceReviewAdmin(admin.ModelAdmin):
    list_display = ["service", "reviewed_on", "reviewer", "needs_met"]
    list_filter = ["needs_met"]


@admin.register(ReportView)
class ReportViewAdmin(admin.ModelAdmin):
    """Who read which report: recorded by the dashboards, read here."""

    list_display = ["report", "viewer", "count", "first_viewed_at", "last_viewed_at"]
    list_filter = ["report"]
    list_select_related = ["report", "viewer"]
    search_fields = ["report__name", "viewer__username"]
    date_hierarchy = "last_viewed_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: ReportView | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: ReportView | None = None) -> bool:
        return False


@admin.register(ReportFeedback)
class ReportFeedbackAdmin(admin.ModelAdmin):
    list_display = ["report", "author", "helped", "created_at"]
    list_filter = ["helped", "report"]
    list_select_related = ["report", "author"]
    search_fields = ["decision", "missing"]
    autocomplete_fields = ["author"]


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ["report", "subscriber", "frequency", "last_sent_at"]
    list_filter = ["frequency", "report"]
    list_select_related = ["report", "subscriber"]
    autocomplete_fields = ["subscriber"]


@admin.register(CostRate)
class CostRateAdmin(admin.ModelAdmin):
    list_display = ["department", "hourly_rate"]
    list_select_related = ["department"]
    autocomplete_fields = ["department"]


@admin.register(ReadinessAssessment)
class ReadinessAssessmentAdmin(admin.ModelAdmin):
    list_display = ["department", "sign", "answer", "assessed_by", "assessed_on"]
    list_filter = ["answer", "sign", "department"]
    list_select_related = ["department", "assessed_by"]
    search_fields = ["evidence"]
    autocomplete_fields = ["department", "assessed_by"]


@admin.register(TribalGroup)
class TribalGroupAdmin(admin.ModelAdmin):
    list_display = ["name", "openness", "recorded_on", "recorded_by"]
    list_select_related = ["recorded_by"]
    search_fields = ["name", "preferred_tools", "preferred_channels"]
    autocomplete_fields = ["recorded_by"]


@admin.register(RolloutStep)
class RolloutStepAdmin(admin.ModelAdmin):
    list_display = ["position", "title", "value_stream", "status", "owner"]
    list_display_links = ["title"]
    list_filter = ["status"]
    list_select_related = ["value_stream", "owner"]
    autocomplete_fields = ["owner"]
