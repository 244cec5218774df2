from django.contrib import admin

from reporting.models import Audience, Measure, Objective, Report, ReportMeasure, ServiceReview


class ReportMeasureInline(admin.TabularInline):
    model = ReportMeasure
    extra = 0
    autocomplete_fields = ["measure"]


@admin.register(Audience)
class AudienceAdmin(admin.ModelAdmin):
    list_display = ["name", "members", "cadence"]
    prepopulated_fields = {"slug": ["name"]}
    filter_horizontal = ["departments", "people"]


@admin.register(Objective)
class ObjectiveAdmin(admin.ModelAdmin):
    list_display = ["title", "level", "parent"]
    list_filter = ["level"]


@admin.register(Measure)
class MeasureAdmin(admin.ModelAdmin):
    list_display = ["name", "key", "kind", "unit", "target", "decision_maker", "source_controlled"]
    list_filter = ["kind", "source_controlled"]
    search_fields = ["name", "key"]


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    list_display = ["name", "audience", "cadence", "owner"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [ReportMeasureInline]


@admin.register(ServiceReview)
class ServiceReviewAdmin(admin.ModelAdmin):
    list_display = ["service", "reviewed_on", "reviewer", "needs_met"]
    list_filter = ["needs_met"]
