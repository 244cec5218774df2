"""Service reviews: the accountable customer of a service (its owner, who agreed its
targets) says whether it met the business's needs, what value it brought and what should
change. Requesters are users, not customers: their figures stand beside the review,
never in it."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from esm import clock
from esm.permissions import can
from reporting import panels, selectors
from reporting.actions import service_review_record
from reporting.forms import ServiceReviewForm
from reporting.models import ServiceReview
from reporting.portfolio import review_due_on
from services.models import Service

SERVICES_PER_PAGE = 25
HISTORY = 10
"""Earlier reviews shown beside the form."""


def _row(
    standing: panels.ServiceStanding, reviews: dict[int, ServiceReview], today: dt.date
) -> tuple[panels.ServiceStanding, ServiceReview | None, dt.date]:
    """A service's standing, its last review and when the next is due."""
    review = reviews.get(standing.service.last_review_id)
    last = review.reviewed_on if review else None
    return standing, review, review_due_on(standing.service, last, today=today)


@login_required
@require_GET
def service_reviews(request: HttpRequest) -> HttpResponse:
    """The services the viewer is accountable for, each with its last review and the
    requesters' figures beside it, and the latest reviews of every service for readers."""
    if not can(request.user, "reporting.view_service_reviews"):
        raise PermissionDenied("Service owners, department managers and executives read these.")
    page = Paginator(selectors.services_reviewable_by(request.user), SERVICES_PER_PAGE).get_page(
        request.GET.get("page")
    )
    reviews = ServiceReview.objects.select_related("reviewer").in_bulk(
        [service.last_review_id for service in page if service.last_review_id]
    )
    standings = panels.service_standings(services=page, viewer=request.user)
    today = timezone.localdate(clock.now())
    return render(
        request,
        "reporting/service_reviews.html",
        {
            "page": page,
            "rows": [_row(standing, reviews, today) for standing in standings],
            "today": today,
            "recent": ServiceReview.objects.select_related("service", "reviewer")[:HISTORY],
            "may_audit": can(request.user, "reporting.audit_reports"),
            "sees_all": can(request.user, "esm.use_admin"),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def service_review_new(request: HttpRequest, slug: str) -> HttpResponse:
    service = get_object_or_404(Service.objects.select_related("department", "owner"), slug=slug)
    if not can(request.user, "reporting.review_service", service):
        raise PermissionDenied("Only the service's accountable owner reviews it.")
    today = timezone.localdate(clock.now())
    form = ServiceReviewForm(request.POST or None, initial={"reviewed_on": today})
    if request.method == "POST" and form.is_valid():
        try:
            service_review_record(service=service, reviewer=request.user, **form.cleaned_data)
        except ValidationError as error:
            for field, problems in error.message_dict.items():
                for problem in problems:
                    form.add_error(field, problem)
        else:
            messages.success(request, f"Your review of {service.name} is recorded.")
            return redirect("service_reviews")
    return render(
        request,
        "reporting/service_review_form.html",
        {
            "service": service,
            "form": form,
            "earlier": service.reviews.select_related("reviewer")[:HISTORY],
        },
        status=400 if form.is_bound and form.errors else 200,
    )
