"""Every URL pattern of the project and every operation of the API schema is either in the
permission matrix or on the list below with the reason it needs no row. A new route fails
here until someone says who may see it."""

import re

import pytest
from django.contrib import admin
from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.generators import SchemaGenerator

from services.admin import ConfidentialCaseAdmin
from tests.security.matrix import ROWS

# Routes with no row, by reason. Each reason says why the matrix needs no cell for them.
NOT_IN_MATRIX: dict[str, list[str]] = {
    "signing in and out, password reset and change: public or the person's own account, no "
    "case content (tests/esm/test_views.py, test_oidc.py)": [
        "login", "logout", "oidc_authentication_init", "oidc_authentication_callback",
        "password_reset", "password_reset_done", "password_reset_confirm",
        "password_reset_complete", "password_change", "password_change_done",
    ],
    "the API's schema and its documentation page: public description, no data": [
        "api-schema", "api-docs", "api:root",
    ],
    "SCIM beyond the user list: the token only (tests/esm/test_scim.py), people and groups, "
    "never a case": [
        "scim-user", "scim-groups", "scim-group", "scim-service-provider-config",
        "scim-resource-types", "?", "scim-schemas",
    ],
    "the catalog and knowledge sharing: what may be requested and departments' figures, "
    "entitlement tested in tests/services/test_permissions.py; no case content": [
        "api:catalog-services", "api:catalog-items", "api:catalog-item",
        "api:catalog-item-copies", "api:knowledge-sharing", "api:knowledge-sharing-people",
        "catalog_item", "catalog_item_suggestions", "plan_detail", "article_feedback",
        "knowledge_sharing", "knowledge_sharing_department",
    ],
    "editing value streams, journeys, reports, measures, audiences, objectives, rollout and "
    "reuse: configuration kept by owners, managers and admins (tests/*/test_editing.py); "
    "the aggregates they lead to are matrix rows": [
        "valuestream_new", "valuestream_refresh", "valuestream_edit", "valuestream_stages",
        "valuestream_stage_edit", "valuestream_stage_remove", "valuestream_handoffs",
        "valuestream_handoff_edit", "valuestream_handoff_remove", "journey_new",
        "journey_edit", "journey_to_be_start", "journey_stages", "journey_stage_edit",
        "journey_stage_remove", "journey_touchpoint_new", "journey_touchpoint_edit",
        "journey_touchpoint_remove", "journey_finding_new", "journey_finding_edit",
        "report_refresh", "report_feedback", "report_subscription", "measure_list",
        "measure_new", "measure_edit", "audience_list", "audience_new", "audience_edit",
        "report_new", "report_edit", "objective_list", "objective_new", "objective_edit",
        "cost_rates", "service_review_new", "rollout", "rollout_step_new", "rollout_step_edit",
        "rollout_step_move", "service_portfolio_edit", "reuse_home", "reuse_copy",
        "reuse_detail", "reuse_publish",
    ],
    "aggregates read per department or service, never per case (small groups held back, "
    "tests/reporting/): the HR canary test reads each of them": [
        "valuestreams-api:streams", "valuestreams-api:metrics",
        "valuestreams-api:variants", "journeys-api:journeys", "journeys-api:journey",
        "valuestream_copis", "journey_touchpoint", "report_print", "report_audit",
        "collaboration_edge", "portfolio", "portfolio_service", "service_reviews", "readiness",
        "readiness_department", "tribes", "department_overviews", "department_overview",
        "reporting-api:collaboration", "reporting-api:measures", "reporting-api:measure",
        "reporting-api:reports", "reporting-api:report", "reporting-api:report-dashboard",
        "reporting-api:portfolio", "reporting-api:portfolio-service", "reporting-api:readiness",
        "reporting-api:readiness-department", "reporting-api:adoption",
    ],
    "page forms that post to the same object rule as their API twin, whose rows are in the "
    "matrix (request_for_viewer / task_for_viewer answer 404 first)": [
        "request_comment", "request_cancel", "request_reopen", "request_rate",
        "queue_take_next", "queue_bulk", "task_draft_article", "task_operation",
        "approval_decision",
    ],
    "a one-time sign-in link: the token is the permission (directory views' tests)": [
        "one_time_link",
    ],
}  # fmt: skip

JUSTIFIED = {name for names in NOT_IN_MATRIX.values() for name in names}
IN_MATRIX = {row.route for row in ROWS}
ADMIN_ROUTE = re.compile(r"^admin:(?P<app>\w+?)_(?P<model>[a-z0-9]+)_(?P<view>\w+)$")


def _names(resolver: URLResolver, namespace: str = "") -> list[str]:
    names = []
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            inner = ":".join(filter(None, [namespace, pattern.namespace or ""]))
            names.extend(_names(pattern, inner))
        elif isinstance(pattern, URLPattern):
            names.append(":".join(filter(None, [namespace, pattern.name or "?"])))
    return names


def _admin_case_models() -> set[str]:
    """`app_model` of the admins that hold case content: those that apply the confidential
    case rule, and the event log."""
    return {
        f"{model._meta.app_label}_{model._meta.model_name}"
        for model, model_admin in admin.site._registry.items()
        if isinstance(model_admin, ConfidentialCaseAdmin)
    } | {"esm_event"}


def test_every_route_is_in_the_matrix_or_justified():
    case_models = _admin_case_models()
    missing = []
    for name in _names(get_resolver()):
        if name in IN_MATRIX or name in JUSTIFIED:
            continue
        match = ADMIN_ROUTE.match(name)
        if name.startswith("admin:") and not (
            match and f"{match['app']}_{match['model']}" in case_models
        ):
            # The admin's configuration models: staff with the model's permission only
            # (Django's own check), no case content; their delete pages are masked
            # (esm.admin_masking), as the queue and person rows of the matrix show.
            continue
        if (
            match
            and match["view"] in {"add", "change", "delete", "history"}
            and match["model"] != "servicerequest"
        ):
            # The other case admins share ConfidentialCaseAdmin's queryset with the request
            # admin, whose object pages are rows; their changelists are rows of their own.
            continue
        missing.append(name)

    assert missing == []


def test_every_admin_of_case_content_has_a_changelist_row():
    rows = {row.route for row in ROWS if row.surface == "admin"}

    missing = sorted(f"admin:{m}_changelist" for m in _admin_case_models())

    assert [name for name in missing if name not in rows] == []


@pytest.mark.django_db
def test_every_api_operation_is_in_the_matrix_or_justified():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    resolver = get_resolver()
    missing = []
    for path, operations in schema["paths"].items():
        concrete = re.sub(r"\{(\w*id|pk)\}", "1", path)
        concrete = re.sub(r"\{\w+\}", "x", concrete)
        match = resolver.resolve(concrete)
        name = ":".join(filter(None, [*match.namespaces, match.url_name]))
        for method in operations:
            covered_methods = {row.method for row in ROWS if row.route == name}
            # A reason above covers reading a route; every write of the API is a row, so
            # a new write on a justified route still has to say who may make it.
            if method in covered_methods or (name in JUSTIFIED and method == "get"):
                continue
            missing.append(f"{method.upper()} {path}")

    assert missing == []
