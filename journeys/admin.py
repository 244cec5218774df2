from django import forms
from django.contrib import admin

from journeys.models import Finding, FrictionWeight, JourneyMap, JourneyStage, Touchpoint
from journeys.scores import DEFAULT_WEIGHTS


class JourneyStageInline(admin.TabularInline):
    model = JourneyStage
    extra = 0
    fields = ["name", "position"]


@admin.register(JourneyMap)
class JourneyMapAdmin(admin.ModelAdmin):
    list_display = ["name", "persona", "owner", "status", "version"]
    list_filter = ["status", "persona", "version"]
    search_fields = ["name", "goal"]
    prepopulated_fields = {"slug": ["name"]}
    raw_id_fields = ["owner", "as_is"]
    inlines = [JourneyStageInline]


@admin.register(Touchpoint)
class TouchpointAdmin(admin.ModelAdmin):
    list_display = ["name", "stage", "channel", "department", "position"]
    list_filter = ["channel", "stage__journey"]
    search_fields = ["name", "stage__name", "stage__journey__name"]
    list_select_related = ["stage__journey", "department"]
    filter_horizontal = ["items", "articles", "stream_stages"]


class FrictionWeightForm(forms.ModelForm):
    class Meta:
        model = FrictionWeight
        fields = ["score", "signal", "weight"]

    def clean(self) -> dict:
        # A weight for a signal its score does not read would silently do nothing.
        cleaned = super().clean()
        score, signal = cleaned.get("score"), cleaned.get("signal")
        known = DEFAULT_WEIGHTS.get(score, {})
        if score and signal and signal not in known:
            self.add_error("signal", f"The {score} score reads only: {', '.join(sorted(known))}.")
        return cleaned


@admin.register(FrictionWeight)
class FrictionWeightAdmin(admin.ModelAdmin):
    """The score weights admins tune; `journeys.scores` documents the defaults."""

    form = FrictionWeightForm

    list_display = ["signal", "score", "weight"]
    list_editable = ["weight"]
    list_filter = ["score"]
    search_fields = ["signal"]


@admin.register(Finding)
class FindingAdmin(admin.ModelAdmin):
    list_display = [
        "title",
        "touchpoint",
        "kind",
        "suggestion",
        "status",
        "owner",
        "value_before",
        "value_after",
    ]
    list_filter = ["status", "kind", "suggestion"]
    search_fields = ["title", "description", "touchpoint__name"]
    list_select_related = ["touchpoint__stage__journey", "owner"]
    raw_id_fields = ["touchpoint", "owner"]
    readonly_fields = ["created_at"]
