"""The collaboration map and its edges: how work crosses departments over a period
(`reporting.collaboration`). For departments' staff, managers and executives
(`reporting.view_collaboration`); an edge lists only the cases the viewer may open and
counts the rest."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from esm.models import Department
from esm.permissions import User, can
from reporting import collaboration
from reporting.collaboration_map import collaboration_drawing, edge_cells
from reporting.crossings import crossings_refreshed_through
from services.models.requests import reference_for
from valuestreams.views.flow import period_context

CASES_PAGE = 25


def _require_reader(user: User) -> None:
    if not can(user, "reporting.view_collaboration"):
        raise PermissionDenied("The collaboration map is for departments' staff and leaders.")


@login_required
@require_GET
def collaboration_map_page(request: HttpRequest) -> HttpResponse:
    _require_reader(request.user)
    context = period_context(request)
    found = collaboration.collaboration_map(period=context["period"], viewer=request.user)

    def edge_href(edge: collaboration.Edge) -> str:
        slugs = [edge.from_department.slug, edge.to_department.slug]
        return f"{reverse('collaboration_edge', args=slugs)}?{context['period_query']}"

    context.update(
        found=found,
        # The definitions' pages around the map are for who shapes reports.
        shows_definitions=can(request.user, "reporting.audit_reports"),
        drawing=collaboration_drawing(found, edge_href=edge_href),
        rows=[(edge, edge_cells(edge), edge_href(edge)) for edge in found.edges],
    )
    return render(request, "reporting/collaboration.html", context)


@login_required
@require_GET
def collaboration_edge_page(request: HttpRequest, from_slug: str, to_slug: str) -> HttpResponse:
    _require_reader(request.user)
    source = get_object_or_404(Department, slug=from_slug)
    target = get_object_or_404(Department, slug=to_slug)
    context = period_context(request)
    found = {"source": source, "target": target, "period": context["period"]}
    edge = collaboration.collaboration_edge(**found, viewer=request.user)
    cases = collaboration.collaboration_edge_cases(**found, viewer=request.user)
    page = Paginator(cases, CASES_PAGE).get_page(request.GET.get("page"))
    context.update(
        edge=edge,
        cells=edge_cells(edge),
        page=page,
        rows=[(crossing, reference_for(crossing.case_id)) for crossing in page],
        hidden=edge.handoffs.hidden + edge.consults.hidden,
        as_of=crossings_refreshed_through(),
    )
    return render(request, "reporting/collaboration_edge.html", context)
