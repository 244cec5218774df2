"""The service portfolio: every enterprise service on one value-against-cost chart, the
decisions the portfolio waits for, each service's figures from the log beside what its
owner says of it, and when it is next reviewed (`reporting.portfolio`). For department
managers, executives and services' accountable owners (`reporting.view_portfolio`)."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from esm.permissions import User, can
from reporting.formatting import measure_value_text
from reporting.portfolio import (
    NO_DATA_FACTORS,
    PortfolioEntry,
    portfolio_as_of,
    portfolio_services,
    portfolio_window,
    service_portfolio,
)
from reporting.portfolio_chart import plotted, portfolio_chart
from services.models import Service, ServiceValueClaim, ValueFactor

SERVICES_PER_PAGE = 25


def _require_reader(user: User) -> None:
    if not can(user, "reporting.view_portfolio"):
        raise PermissionDenied(
            "The portfolio is for department managers, executives and services' owners."
        )


def money(amount: float | None) -> str:
    return measure_value_text(amount, settings.REPORTING_CURRENCY)


def _href(entry: PortfolioEntry) -> str:
    return reverse("portfolio_service", args=[entry.service.slug])


@login_required
@require_GET
def portfolio_page(request: HttpRequest) -> HttpResponse:
    _require_reader(request.user)
    window = portfolio_window()
    entries = service_portfolio(services=portfolio_services(), viewer=request.user, window=window)
    live = [entry for entry in entries if entry.service.status == Service.Status.LIVE]
    on_chart = {id(entry) for entry in plotted(entries)}
    return render(
        request,
        "reporting/portfolio.html",
        {
            "window": window,
            "window_last_day": window.end,
            "as_of": portfolio_as_of(entries),
            "chart": portfolio_chart(entries, href=_href, money=money),
            "off_chart": [entry for entry in live if id(entry) not in on_chart],
            "waiting": [entry for entry in entries if entry.service.decision_pending],
            "page": Paginator(live, SERVICES_PER_PAGE).get_page(request.GET.get("page")),
            "pipeline": [e for e in entries if e.service.status == Service.Status.PIPELINE],
            "retired": [e for e in entries if e.service.status == Service.Status.RETIRED],
            "currency": settings.REPORTING_CURRENCY,
            "shows_definitions": can(request.user, "reporting.audit_reports"),
        },
    )


@dataclass(frozen=True)
class ClaimLine:
    factor: str
    label: str
    claim: ServiceValueClaim | None
    evidence: str


def claim_lines(entry: PortfolioEntry) -> list[ClaimLine]:
    """Each of the five value factors: the owner's claim, and what the log says of it."""
    return [
        ClaimLine(factor, label, entry.claim_for(factor), _evidence(entry, ValueFactor(factor)))
        for factor, label in ValueFactor.choices
    ]


def _evidence(entry: PortfolioEntry, factor: ValueFactor) -> str:
    if factor in NO_DATA_FACTORS:
        return "The portal holds no figures for this: the claim rests on the owner's word."
    if factor == ValueFactor.COST:
        if entry.yearly_cost is None:
            return "Too few requests to show what its staff time costs."
        per_request = entry.cost_per_request
        return f"Costs {money(entry.yearly_cost)} a year" + (
            f", {money(per_request)} of staff time per request." if per_request else "."
        )
    if factor == ValueFactor.PRODUCTIVITY:
        if not entry.automated_steps:
            return "No step of it ran by automation alone in the window."
        return (
            f"Automation saves about {entry.yearly_hours_saved:,.0f} staff hours a year"
            f" ({money(entry.yearly_savings)})."
        )
    parts = []
    if entry.rating is not None:
        parts.append(f"rated {entry.rating:.1f} of 5 by {entry.ratings}")
    if entry.attainment is not None:
        parts.append(f"{entry.attainment:.0%} resolved within the promise made to the employee")
    if not parts:
        return "Too few resolved or rated requests in the window to say."
    return "; ".join(parts).capitalize() + "."


@login_required
@require_GET
def portfolio_service_page(request: HttpRequest, slug: str) -> HttpResponse:
    _require_reader(request.user)
    window = portfolio_window()
    # The service is read with its figures.
    entries = service_portfolio(
        services=portfolio_services().filter(slug=slug), viewer=request.user, window=window
    )
    if not entries:
        raise Http404
    [entry] = entries
    service = entry.service
    return render(
        request,
        "reporting/portfolio_service.html",
        {
            "entry": entry,
            "service": service,
            "window": window,
            "claims": claim_lines(entry),
            "items": service.items.filter(is_published=True).order_by("name"),
            "currency": settings.REPORTING_CURRENCY,
            "may_edit": can(request.user, "services.change_service_portfolio", service),
            "may_review": can(request.user, "reporting.review_service", service),
        },
    )
