"""/api/v1/streams/: value streams, their model, their measures and their event log."""

from django.urls import path

from valuestreams.api import views

app_name = "valuestreams-api"

urlpatterns = [
    path("streams/", views.ValueStreamListApi.as_view(), name="streams"),
    path("streams/<slug:slug>/", views.ValueStreamDetailApi.as_view(), name="stream"),
    path("streams/<slug:slug>/metrics/", views.ValueStreamMetricsApi.as_view(), name="metrics"),
    path("streams/<slug:slug>/variants/", views.ValueStreamVariantsApi.as_view(), name="variants"),
    path(
        "streams/<slug:slug>/export.csv",
        views.ValueStreamExportCsvApi.as_view(),
        name="stream-export-csv",
    ),
    path(
        "streams/<slug:slug>/export.xes",
        views.ValueStreamExportXesApi.as_view(),
        name="stream-export-xes",
    ),
]
