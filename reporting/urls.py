"""The pages of reporting: dashboards (one per report) under /dashboards/, the audit and
the editing of definitions under /reporting/ (included by esm.urls, by name)."""

from django.urls import path

from reporting.views import (
    audit,
    collaboration,
    dashboards,
    editing,
    engagement,
    portfolio,
    readiness,
    reviews,
)

urlpatterns = [
    path("dashboards/", dashboards.report_list, name="dashboards"),
    path("dashboards/<slug:slug>/", dashboards.report_dashboard, name="report_dashboard"),
    path("dashboards/<slug:slug>/export.csv", dashboards.report_export, name="report_export"),
    path("dashboards/<slug:slug>/print/", dashboards.report_print, name="report_print"),
    path("dashboards/<slug:slug>/refresh/", dashboards.report_refresh, name="report_refresh"),
    path("dashboards/<slug:slug>/feedback/", engagement.report_feedback, name="report_feedback"),
    path(
        "dashboards/<slug:slug>/subscription/",
        engagement.report_subscription,
        name="report_subscription",
    ),
    path("reporting/audit/", audit.report_audit, name="report_audit"),
    path(
        "reporting/collaboration/",
        collaboration.collaboration_map_page,
        name="collaboration_map",
    ),
    path(
        "reporting/collaboration/<slug:from_slug>/<slug:to_slug>/",
        collaboration.collaboration_edge_page,
        name="collaboration_edge",
    ),
    path("reporting/measures/", editing.measure_list, name="measure_list"),
    path("reporting/measures/new/", editing.measure_new, name="measure_new"),
    path("reporting/measures/<slug:key>/", editing.measure_edit, name="measure_edit"),
    path("reporting/audiences/", editing.audience_list, name="audience_list"),
    path("reporting/audiences/new/", editing.audience_new, name="audience_new"),
    path("reporting/audiences/<slug:slug>/", editing.audience_edit, name="audience_edit"),
    path("reporting/reports/new/", editing.report_new, name="report_new"),
    path("reporting/reports/<slug:slug>/", editing.report_edit, name="report_edit"),
    path("reporting/objectives/", editing.objective_list, name="objective_list"),
    path("reporting/objectives/new/", editing.objective_new, name="objective_new"),
    path("reporting/objectives/<int:pk>/", editing.objective_edit, name="objective_edit"),
    path("reporting/cost-rates/", editing.cost_rates, name="cost_rates"),
    path("reporting/portfolio/", portfolio.portfolio_page, name="portfolio"),
    path(
        "reporting/portfolio/<slug:slug>/",
        portfolio.portfolio_service_page,
        name="portfolio_service",
    ),
    path("reporting/reviews/", reviews.service_reviews, name="service_reviews"),
    path(
        "reporting/reviews/<slug:slug>/new/",
        reviews.service_review_new,
        name="service_review_new",
    ),
    path("reporting/readiness/", readiness.readiness_overview, name="readiness"),
    path(
        "reporting/readiness/<slug:slug>/",
        readiness.readiness_department,
        name="readiness_department",
    ),
    path("reporting/tribes/", readiness.tribes, name="tribes"),
    path("reporting/rollout/", readiness.rollout, name="rollout"),
    path("reporting/rollout/new/", readiness.rollout_step_edit, name="rollout_step_new"),
    path("reporting/rollout/<int:pk>/", readiness.rollout_step_edit, name="rollout_step_edit"),
    path(
        "reporting/rollout/<int:pk>/move/",
        readiness.rollout_step_reorder,
        name="rollout_step_move",
    ),
]
