"""/api/v1/streams/: value streams, their model and their event log.

Metrics and variants of a stream belong here too, as `streams/<slug>/<what>/`.
"""

from django.urls import path

from valuestreams.api import views

app_name = "valuestreams-api"

urlpatterns = [
    path("streams/", views.ValueStreamListApi.as_view(), name="streams"),
    path("streams/<slug:slug>/", views.ValueStreamDetailApi.as_view(), name="stream"),
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
