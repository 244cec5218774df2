"""/api/v1/measures/ and /api/v1/reports/: measures with their values and history, reports
and their dashboards; /api/v1/collaboration/: the collaboration map; /api/v1/readiness/
and /api/v1/adoption/: departments' readiness and adoption; /api/v1/portfolio/: the service
portfolio."""

from django.urls import path

from reporting.api import portfolio, readiness, views
from reporting.api.collaboration import CollaborationApi

app_name = "reporting-api"

urlpatterns = [
    path("collaboration/", CollaborationApi.as_view(), name="collaboration"),
    path("measures/", views.MeasureListApi.as_view(), name="measures"),
    path("measures/<slug:key>/", views.MeasureDetailApi.as_view(), name="measure"),
    path("reports/", views.ReportListApi.as_view(), name="reports"),
    path("reports/<slug:slug>/", views.ReportDetailApi.as_view(), name="report"),
    path(
        "reports/<slug:slug>/dashboard/",
        views.ReportDashboardApi.as_view(),
        name="report-dashboard",
    ),
    path("portfolio/", portfolio.PortfolioListApi.as_view(), name="portfolio"),
    path(
        "portfolio/<slug:slug>/",
        portfolio.PortfolioServiceApi.as_view(),
        name="portfolio-service",
    ),
    path("readiness/", readiness.ReadinessListApi.as_view(), name="readiness"),
    path(
        "readiness/<slug:slug>/",
        readiness.ReadinessDetailApi.as_view(),
        name="readiness-department",
    ),
    path("adoption/", readiness.AdoptionListApi.as_view(), name="adoption"),
]
