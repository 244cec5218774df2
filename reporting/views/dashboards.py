"""The dashboards: the reports a person may read, one report's cards and its audience's
panel, the same as CSV and as a printable page, and the owner's "refresh now".

A report is read only by its audience, its owner and admins; for anyone else it does not
exist (404, as an unknown slug), since its name may say what it is about. A department audience's
report reads one department at a time, chosen by `?department=<id>` among those
`report_scopes` offers; any other id is a 404, as a department one may not read.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_POST

from esm import clock
from esm.permissions import can
from reporting import panels, selectors
from reporting.actions import report_view_record
from reporting.exports import cards_csv
from reporting.measures import Scope
from reporting.models import Audience, Report, Subscription
from reporting.rollups import WINDOW_DAYS
from reporting.tasks import (
    crossings_refresh_task,
    service_days_refresh_task,
    sharing_refresh_task,
    snapshots_refresh_task,
)

AUDIENCE_ORDER = [choice for choice, _ in Audience.Members.choices]


@login_required
@require_GET
def report_list(request: HttpRequest) -> HttpResponse:
    if not can(request.user, "reporting.browse_reports"):
        raise PermissionDenied
    reports = sorted(
        selectors.reports_for(request.user),
        key=lambda report: (
            AUDIENCE_ORDER.index(report.audience.members),
            report.audience.name,
            report.name,
        ),
    )
    return render(
        request,
        "reporting/dashboard_list.html",
        {
            "reports": reports,
            "may_add": can(request.user, "reporting.add_report"),
            "may_audit": can(request.user, "reporting.audit_reports"),
            "may_review": can(request.user, "reporting.view_service_reviews"),
        },
    )


def _scope(request: HttpRequest, report: Report) -> tuple[Scope, list[Scope]]:
    """The scope chosen by `?department=`, among those offered; the first by default."""
    offered = selectors.report_scopes(report=report, viewer=request.user)
    chosen = request.GET.get("department")
    if chosen is None:
        return offered[0], offered
    for scope in offered:
        if scope.department is not None and str(scope.department.pk) == chosen:
            return scope, offered
    raise Http404("This report does not read that department for you.")


def _scope_query(scope: Scope, offered: list[Scope]) -> str:
    """`?department=<id>` for a chosen department, so links keep the reader's choice."""
    if scope.department is None or len(offered) < 2:
        return ""
    return "?" + urlencode({"department": scope.department.pk})


def _report_context(request: HttpRequest, report: Report) -> dict[str, Any]:
    """What the dashboard and its printable page read: the cards in the report's order,
    each with its drill-down, and the audience's panel."""
    scope, offered = _scope(request, report)
    viewer = request.user
    cards = selectors.report_cards(report=report, scope=scope, viewer=viewer)
    links = panels.drill_downs(scope=scope, viewer=viewer)
    return {
        "report": report,
        "audience": report.audience,
        "scope": scope,
        "scope_label": selectors.scope_label(scope),
        "scopes": offered,
        "scope_query": _scope_query(scope, offered),
        "cards": [(card, links.for_measure(card.measure)) for card in cards],
        "panel": panels.panel_for(report=report, scope=scope, viewer=viewer),
        "may_change": can(viewer, "reporting.change_report", report),
        # A watermelon's name leads to its service's page in the portfolio, for who may read it.
        "may_read_portfolio": can(viewer, "reporting.view_portfolio"),
        "window_days": WINDOW_DAYS,
    }


@login_required
@require_GET
def report_dashboard(request: HttpRequest, slug: str) -> HttpResponse:
    # The reader's subscription comes with the report: one query fewer on every view.
    subscribed = Subscription.objects.filter(report=OuterRef("pk"), subscriber=request.user.pk)
    report = selectors.report_for_reader(
        user=request.user,
        slug=slug,
        reports=Report.objects.annotate(
            subscribed_frequency=Subquery(subscribed.values("frequency")[:1])
        ),
    )
    context = _report_context(request, report)
    context["subscription"] = (
        Subscription(report=report, subscriber=request.user, frequency=report.subscribed_frequency)
        if report.subscribed_frequency is not None
        else None
    )
    report_view_record(report=report, viewer=request.user)
    return render(request, "reporting/dashboard.html", context)


@login_required
@require_GET
def report_print(request: HttpRequest, slug: str) -> HttpResponse:
    report = selectors.report_for_reader(user=request.user, slug=slug)
    context = _report_context(request, report)
    context["printed_at"] = clock.now()
    return render(request, "reporting/print.html", context)


@login_required
@require_GET
def report_export(request: HttpRequest, slug: str) -> HttpResponse:
    report = selectors.report_for_reader(user=request.user, slug=slug)
    scope, _ = _scope(request, report)
    cards = selectors.report_cards(report=report, scope=scope, viewer=request.user)
    body = cards_csv(report=report, scope_label=selectors.scope_label(scope), cards=cards)
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    suffix = f"-{scope.department.slug}" if scope.department is not None else ""
    filename = f"{report.slug}{suffix}-{clock.now():%Y-%m-%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
@require_POST
def report_refresh(request: HttpRequest, slug: str) -> HttpResponse:
    """Recompute today's snapshots now: the refresh replaces the day's rows, so pressing it
    twice costs time, never figures."""
    report = selectors.report_for_reader(user=request.user, slug=slug)
    if not can(request.user, "reporting.change_report", report):
        raise PermissionDenied
    transaction.on_commit(snapshots_refresh_task.delay)
    # The dashboards' services link to their portfolio figures, read from the daily rollup,
    # and their handoffs and consults to the collaboration map, read from its own.
    transaction.on_commit(service_days_refresh_task.delay)
    transaction.on_commit(crossings_refresh_task.delay)
    transaction.on_commit(sharing_refresh_task.delay)
    messages.success(request, "Today's figures are being recomputed; reload in a minute.")
    back = reverse("report_dashboard", args=[report.slug])
    department = request.POST.get("department", "")
    if department.isdigit():
        back += "?" + urlencode({"department": department})
    return redirect(back)
