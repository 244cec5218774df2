"""/api/v1/measures/ and /api/v1/reports/: measures with their values and history, reports
and their dashboards."""

from django.urls import path

from reporting.api import views

app_name = "reporting-api"

urlpatterns = [
    path("measures/", views.MeasureListApi.as_view(), name="measures"),
    path("measures/<slug:key>/", views.MeasureDetailApi.as_view(), name="measure"),
    path("reports/", views.ReportListApi.as_view(), name="reports"),
    path("reports/<slug:slug>/", views.ReportDetailApi.as_view(), name="report"),
    path(
        "reports/<slug:slug>/dashboard/",
        views.ReportDashboardApi.as_view(),
        name="report-dashboard",
    ),
]
