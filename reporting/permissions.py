"""Who may read, shape and audit reports; pages, the API and e-mails all ask `can()`.

A report is read by its audience (`selectors.audience_includes`), its owner and admins;
for anyone else it does not exist (404, `selectors.report_for_reader`). Measures,
audiences, objectives and reports are shaped by their owners and admins, and added by the
people who decide with them: department managers and executives. The audit is for the
same people. A service's accountable customer (its owner) reviews it.
"""

from typing import Any

import rules

from esm.permissions import (
    User,
    can,
    is_active_person,
    is_admin,
    is_agent,
    is_department_manager,
    is_executive,
    is_manager_of_department,
)
from reporting.measures import Scope
from reporting.models import Report
from reporting.selectors import audience_includes
from services.models import Service
from services.permissions import is_accountable_for_service


@rules.predicate
def is_owner(user: User, obj: Any) -> bool:
    return obj is not None and user.is_authenticated and obj.owner_id == user.pk


@rules.predicate
def in_audience(user: User, report: Report | None) -> bool:
    return report is not None and audience_includes(report.audience, user)


@rules.predicate
def owns_a_report(user: User) -> bool:
    return user.is_authenticated and Report.objects.filter(owner=user).exists()


deciders = is_active_person & (is_admin | is_department_manager | is_executive)
shapes = is_active_person & (is_owner | is_admin)


@rules.predicate
def owns_a_service(user: User) -> bool:
    return user.is_authenticated and Service.objects.filter(owner=user).exists()


@rules.predicate
def may_read_scope(user: User, scope: Scope | None) -> bool:
    """Whose figures one may read beyond the whole enterprise's: a department's (or one of
    its services') for its staff, executives and admins; a value stream's for who may read
    that stream. The small-group rule still applies to what they read."""
    if scope is None:
        return False
    if scope.kind == "all" or can(user, "esm.use_admin") or is_executive(user):
        return True
    if scope.value_stream is not None:
        return can(user, "valuestreams.view_stream", scope.value_stream)
    department = scope.department or (scope.service.department if scope.service else None)
    return can(user, "esm.work_in_department", department)


rules.add_rule("reporting.browse_reports", is_active_person)
# Service reviews: the accountable customer (the service's owner) writes them; whoever
# audits reports reads them all, as does an owner their own services'.
rules.add_rule(
    "reporting.review_service", is_active_person & (is_accountable_for_service | is_admin)
)
rules.add_rule("reporting.view_service_reviews", deciders | (is_active_person & owns_a_service))
# The service portfolio: what every service costs and delivers, for who decides on services
# (department managers, executives) and who is accountable for one.
rules.add_rule("reporting.view_portfolio", deciders | (is_active_person & owns_a_service))
rules.add_rule("reporting.view_report", is_active_person & (is_owner | is_admin | in_audience))
rules.add_rule("reporting.audit_reports", deciders | (is_active_person & owns_a_report))
# The scopes whose figures one may read (the API's question; the pages offer only these).
rules.add_rule("reporting.read_scope", is_active_person & may_read_scope)
for thing in ("report", "measure", "audience", "objective"):
    rules.add_rule(f"reporting.add_{thing}", deciders)
    rules.add_rule(f"reporting.change_{thing}", shapes)
# The collaboration map: departments' staff, their managers and executives read how work
# crosses departments (the cases behind it stay under their own rules).
rules.add_rule(
    "reporting.view_collaboration",
    is_active_person & (is_admin | is_agent | is_department_manager | is_executive),
)

# Readiness and adoption are read by the people who decide the roll-out; a department's
# signs are assessed by its own managers, and the tribal audit and the roll-out plan are
# kept by the ESM lead (executives and admins).
esm_lead = is_active_person & (is_admin | is_executive)
rules.add_rule("reporting.view_readiness", deciders)
rules.add_rule(
    "reporting.assess_readiness", esm_lead | (is_active_person & is_manager_of_department)
)
rules.add_rule("reporting.record_tribes", esm_lead)
rules.add_rule("reporting.plan_rollout", esm_lead)
